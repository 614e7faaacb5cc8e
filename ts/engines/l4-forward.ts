import type { ConnectionRecord } from '../connection/connection-record.js';
import type { ConnectionManager } from '../connection/connection-manager.js';
import type { ResolvedOptions } from '../core/options.js';
import type { Clock } from '../core/clock.js';
import type { IRouteContext, ILogger, ProxyProtocolVersion } from '../types.js';
import { connectUpstream } from '../forwarding/upstream-connector.js';
import type { TargetSelector } from '../forwarding/target-selector.js';
import { pump } from '../forwarding/pump.js';
import { RelayReader } from '../core/node-internals.js';
import { buildProxyHeader } from '../protocol/proxy-protocol.js';

export interface ForwardDeps {
  options: ResolvedOptions;
  cm: ConnectionManager;
  clock: Clock;
  logger: ILogger;
  /** Called once the backend is connected and bytes flow. */
  onConnected?(record: ConnectionRecord): void;
}

/**
 * L4 forward (and TLS passthrough): connect to the route's target, trying the next host of
 * a host list when one refuses, optionally send a PROXY header, replay the sniffed bytes
 * once and pump both ways. A failed connect closes the client; nothing is thrown.
 */
export function forwardConnection(
  deps: ForwardDeps,
  record: ConnectionRecord,
  selector: TargetSelector,
  ctx: () => IRouteContext,
  sendProxy: ProxyProtocolVersion,
  sniffed: Buffer | undefined,
): void {
  const { options, cm, clock, logger } = deps;
  let hosts: string[];
  let port: number;
  try {
    hosts = selector.hosts(ctx, record.clientIp, clock.now());
    port = selector.port(ctx, record.localPort);
  } catch (err) {
    logger.warn({ conn: record.idText, err }, 'target function threw');
    cm.close(record, 'handler_error', undefined);
    return;
  }
  if (hosts.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    logger.warn({ conn: record.idText, hosts, port }, 'route resolved to no usable target');
    cm.close(record, 'handler_error', undefined);
    return;
  }
  // The backend's bytes go straight to the client (see pump.ts); one reader serves every
  // attempt (a failed attempt never reads).
  const onread = new RelayReader(record.client);
  const attempt = (i: number): void => {
    const host = hosts[i]!;
    const socket = connectUpstream(
      { host, port, timeoutMs: options.connectionTimeout, keepAlive: options.keepAlive, keepAliveInitialDelay: options.keepAliveInitialDelay, onread },
      (r) => {
        if (record.closed || record.client.destroyed) {
          if (r.ok) r.socket.destroy();
          if (!record.closed) cm.close(record, 'closed', undefined);
          return;
        }
        if (!r.ok) {
          selector.failed(host, clock.now());
          logger.warn({ conn: record.idText, host, port, err: r.error.message }, 'backend connect failed');
          if (i + 1 < hosts.length) return attempt(i + 1);
          cm.close(record, r.reason, undefined);
          return;
        }
        selector.succeeded(host);
        selector.acquired(host);
        const backend = r.socket;
        record.backend = backend;
        record.backendHost = host;
        record.backendPort = port;
        // The OS-level idle limit lives on the client socket alone: every byte relayed either
        // way is read from or written to it, so one timer covers the pair.
        if (sendProxy) {
          backend.write(
            buildProxyHeader(sendProxy, { ip: record.clientIp, port: record.clientPort }, { ip: record.destIp, port: record.destPort }),
          );
        }
        // Hand the sniffed bytes over once and drop this closure's reference, so a long-lived
        // connection does not keep its ClientHello alive.
        const initial = sniffed;
        sniffed = undefined;
        pump(record, backend, initial, () => {
          selector.released(host);
          cm.finalize(record);
        });
        deps.onConnected?.(record);
      },
    );
    socket.on('error', () => {});
  };
  attempt(0);
}
