/**
 * A socket to an exchange's backend (the HTTP session's upstream step): a pooled keep-alive
 * socket when the request may use one, else a fresh connection under the record's connect
 * deadline (connectionTimeout). A failed connect moves on to the route's next host; after the
 * last one the answer is 502, or 504 for a connect timeout. The route's selector hears of every
 * acquisition, success and failure.
 */
import { Timer, type CloseReason, type ConnectionRecord } from '../../connection/connection-record.js';
import type { PendingConnect } from '../../forwarding/upstream-connector.js';
import type { Services } from '../services.js';
import type { Exchange } from './exchange.js';
import { upstreamKey, type PooledSocket, type UpstreamOwner } from './upstream-pool.js';

export type Acquired = { ok: true; up: PooledSocket } | { ok: false; status: 502 | 504; reason: CloseReason };

export interface UpstreamRequest {
  /** False once the exchange is over (answered, dropped): a socket that arrives then is discarded. */
  wanted(): boolean;
  done(r: Acquired): void;
}

/**
 * Returns the pending connect (what the connect deadline aborts; it follows the failover to
 * the next host), or undefined when `done` has already run with a pooled socket.
 */
export function acquireUpstream(svc: Services, record: ConnectionRecord, ex: Exchange, owner: UpstreamOwner, req: UpstreamRequest): PendingConnect | undefined {
  const host = ex.hosts[ex.hostIndex]!;
  const tls = ex.upstreamTls(host, record.facts?.sni);
  const pooled = ex.isUpgrade || ex.retried ? undefined : svc.pool.take(upstreamKey(host, ex.port, tls), owner);
  if (pooled) {
    ex.rt.selector.acquired(host);
    req.done({ ok: true, up: pooled });
    return undefined;
  }
  record.startTimer(Timer.Connect, svc.options.connectionTimeout, svc.clock.now());
  let current: PendingConnect | undefined;
  current = svc.pool.connect(host, ex.port, tls, owner, (r, p) => {
    current = undefined;
    record.clearTimer(Timer.Connect);
    if (!req.wanted() || record.closed) {
      if (p) svc.pool.discard(p);
      return;
    }
    if (!r.ok || !p) {
      ex.rt.selector.failed(host, svc.clock.now());
      if (ex.hostIndex + 1 < ex.hosts.length) {
        ex.hostIndex++;
        current = acquireUpstream(svc, record, ex, owner, req);
        return;
      }
      svc.logger.warn({ conn: record.idText, host, port: ex.port, err: r.ok ? undefined : r.error.message }, 'backend connect failed');
      const timedOut = !r.ok && r.reason === 'connect_timeout';
      req.done({ ok: false, status: timedOut ? 504 : 502, reason: timedOut ? 'connect_timeout' : r.ok ? 'connect_refused' : r.reason });
      return;
    }
    ex.rt.selector.succeeded(host);
    ex.rt.selector.acquired(host);
    req.done({ ok: true, up: p });
  });
  return { abort: (reason, message) => current?.abort(reason, message) };
}
