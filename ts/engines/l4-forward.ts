import type * as net from 'node:net';
import { Timer, type ConnectionRecord } from '../connection/connection-record.js';
import { RelayReader } from '../core/node-internals.js';
import type { IRouteContext, ProxyProtocolVersion, ILogger } from '../types.js';
import { connectUpstream, type ConnectFailure, type PendingConnect } from '../forwarding/upstream-connector.js';
import type { TargetSelector } from '../forwarding/target-selector.js';
import { relay, type FirstBytesVerdict } from '../forwarding/relay.js';
import { buildProxyHeader } from '../protocol/proxy-protocol.js';
import type { Services } from './services.js';

export interface ConnectPlan {
  hosts: readonly string[];
  port: number;
  /** Backend reads straight to the client (core/node-internals.ts RelayReader). */
  onread?: net.OnReadOpts;
  failed?(host: string, failure: ConnectFailure): void;
  /** The backend is up and attached to the record. */
  connected(host: string, backend: net.Socket): void;
}

/**
 * Connect the record's backend: each host in turn under the record's connect deadline
 * (connectionTimeout per attempt), the next host when one refuses or times out. The record
 * owns the attempt: the client leaving, or the record closing for any reason, gives it up;
 * the last failure closes the record with its reason. Nothing is thrown.
 */
export function connectFirst(record: ConnectionRecord, plan: ConnectPlan): void {
  const defaults = record.connectDefaults;
  let pending: PendingConnect | undefined;
  record.engine = {
    // The client left while connecting: the record closes, and its close gives the attempt up.
    onSocketClose: (side) => record.close(side, 'closed'),
    onTimeout: (reason) => {
      if (reason !== 'connect_timeout' || !pending) return false;
      pending.abort('connect_timeout', `connect not complete after ${defaults.timeoutMs} ms`);
      return true;
    },
    onClosed: () => pending?.abort('closed', 'connection closed while connecting'),
  };
  const attempt = (i: number): void => {
    const host = plan.hosts[i]!;
    record.startTimer(Timer.Connect, defaults.timeoutMs, record.now());
    pending = connectUpstream({ host, port: plan.port, noDelay: defaults.noDelay, keepAlive: defaults.keepAlive, keepAliveInitialDelay: defaults.keepAliveInitialDelay, onread: plan.onread }, (r) => {
      pending = undefined;
      record.clearTimer(Timer.Connect);
      if (record.closed) {
        if (r.ok) r.socket.destroy();
        return;
      }
      if (!r.ok) {
        plan.failed?.(host, r);
        if (i + 1 < plan.hosts.length) return attempt(i + 1);
        record.close('backend', r.reason, r.error);
        return;
      }
      record.attachBackend(r.socket);
      record.backendHost = host;
      record.backendPort = plan.port;
      record.engine = undefined;
      plan.connected(host, r.socket);
    });
  };
  attempt(0);
}

export interface ForwardPlan {
  selector: TargetSelector;
  ctx: () => IRouteContext;
  sendProxy: ProxyProtocolVersion;
  /** Bytes read while sniffing, replayed to the backend once. */
  sniffed: Buffer | undefined;
  /** Judge the client's first bytes before any is forwarded (an untrusted client's PROXY header). */
  firstBytes?: (buf: Buffer) => FirstBytesVerdict;
}

/**
 * L4 forward (and TLS passthrough): connect to the route's target (connectFirst), optionally
 * send a PROXY header, then relay both ways (forwarding/relay.ts), the sniffed bytes first.
 */
export function forwardConnection(svc: Services, record: ConnectionRecord, plan: ForwardPlan): void {
  const { clock, logger } = svc;
  const { selector } = plan;
  const target = resolveTarget(record, plan, logger, clock.now());
  if (!target) return;
  // One reader serves every attempt (a failed attempt never reads).
  const onread = svc.options.nodeInternals.directRead ? new RelayReader(record.stream) : undefined;
  let sniffed = plan.sniffed;
  connectFirst(record, {
    hosts: target.hosts,
    port: target.port,
    onread,
    failed: (host, r) => {
      selector.failed(host, clock.now());
      logger.warn({ conn: record.idText, host, port: target.port, err: r.error.message }, 'backend connect failed');
    },
    connected: (host, backend) => {
      selector.succeeded(host);
      selector.acquired(host);
      if (plan.sendProxy) {
        backend.write(buildProxyHeader(plan.sendProxy, { ip: record.clientIp, port: record.clientPort }, { ip: record.destIp, port: record.destPort }));
      }
      // Hand the sniffed bytes over once and drop this closure's reference, so a long-lived
      // connection does not keep its ClientHello alive.
      const initial = sniffed;
      sniffed = undefined;
      relay(record, backend, {
        toBackend: initial,
        backendDirect: onread !== undefined,
        firstBytes: plan.firstBytes,
        onClosed: () => selector.released(host),
        now: () => clock.now(),
      });
    },
  });
}

function resolveTarget(record: ConnectionRecord, plan: ForwardPlan, logger: ILogger, now: number): { hosts: string[]; port: number } | undefined {
  let hosts: string[];
  let port: number;
  try {
    hosts = plan.selector.hosts(plan.ctx, record.clientIp, now);
    port = plan.selector.port(plan.ctx, record.localPort);
  } catch (err) {
    logger.warn({ conn: record.idText, err }, 'target function threw');
    record.close('proxy', 'handler_error', err instanceof Error ? err : undefined);
    return undefined;
  }
  if (hosts.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    logger.warn({ conn: record.idText, hosts, port }, 'route resolved to no usable target');
    record.close('proxy', 'handler_error');
    return undefined;
  }
  return { hosts, port };
}
