/**
 * The proxy's public events: their payloads (typed), and the sink that turns what the
 * connection layer and the engines report into them. Listeners never throw into the proxy;
 * a payload is built only when someone listens.
 */
import type { EventEmitter } from 'node:events';
import type { Clock } from '../core/clock.js';
import type { CloseReason, CloseSide, ConnectionRecord } from '../connection/connection-record.js';
import type { ProxyEvents } from '../engines/services.js';
import type { ICertificateEventInfo } from '../tls/cert-store.js';
import type { ILogger } from '../types.js';

/** `connection:open`: a connection was accepted and admitted (docs/events.md). */
export interface IConnectionOpenEvent {
  connectionId: string;
  /** Plain form; after a PROXY header, the address it names. */
  clientIp: string;
  clientPort: number;
  /** The port the client connected to. */
  port: number;
  /** The route, when it is already chosen. */
  route: string | undefined;
  /** The ClientHello's server name, for TLS connections. */
  sni: string | undefined;
}

/** `connection:close`: exactly once per connection, whatever ended it. */
export interface IConnectionCloseEvent {
  connectionId: string;
  clientIp: string;
  port: number;
  /** The last route the connection was served by. */
  route: string | undefined;
  /** Bytes received from the client. */
  bytesIn: number;
  /** Bytes sent to the client. */
  bytesOut: number;
  durationMs: number;
  /** Why it closed (the one set of reasons, also `smartproxy_connections_closed_total{reason}`). */
  reason: CloseReason;
  /** Who ended it: a peer, or the proxy (timeouts, refusals, shutdown). */
  side: CloseSide;
  /** The socket error behind `reason`, if any. */
  error?: string;
}

/** `connection:error`: the bytes were not what the port speaks; that connection is closed and counted. */
export interface IConnectionErrorEvent {
  connectionId: string;
  clientIp: string;
  port: number;
  /** What was wrong with the bytes: 'client_hello', 'proxy_header', 'http_request', 'tls_handshake', ... */
  reason: string;
}

/** `route:miss`: no route matched (closed at L4, 404 at HTTP). */
export interface IRouteMissEvent {
  connectionId: string;
  clientIp: string;
  port: number;
  /** The SNI or Host looked up (undefined: the client gave none). */
  domain: string | undefined;
}

/** `security:blocked`: a limit or a rule refused a connection or request. */
export interface ISecurityBlockedEvent {
  /** `max_connections`, `max_connections_per_ip`, `rate_limit`, `route_max_connections`, `route_max_connections_per_ip`, `ip_blocked`, `ip_not_allowed`, `shutting_down`, `auth_failed`, `request_rate_limit`. */
  reason: string;
  clientIp: string;
  port: number;
  route?: string;
}

/** Event name -> payload, for `proxy.on(name, (payload) => ...)`. */
export interface ISmartProxyEvents {
  'connection:open': IConnectionOpenEvent;
  'connection:close': IConnectionCloseEvent;
  'connection:error': IConnectionErrorEvent;
  'route:miss': IRouteMissEvent;
  'security:blocked': ISecurityBlockedEvent;
  'certificate:issued': ICertificateEventInfo;
  'certificate:renewed': ICertificateEventInfo;
  'certificate:failed': ICertificateEventInfo;
}

export interface EventSink {
  readonly proxy: ProxyEvents;
  blocked(info: ISecurityBlockedEvent): void;
  closed(record: ConnectionRecord): void;
  emit<K extends keyof ISmartProxyEvents>(event: K, payload: ISmartProxyEvents[K] | (() => ISmartProxyEvents[K])): void;
}

export interface EventSinkDeps {
  emitter: EventEmitter;
  clock: Clock;
  logger: ILogger;
  /** Bookkeeping that goes with each report (metrics). */
  refused(what: string): void;
  requestServed(route: string, clientIp: string): void;
}

export function createEventSink(d: EventSinkDeps): EventSink {
  const { emitter, clock, logger } = d;
  const emit = <K extends keyof ISmartProxyEvents>(event: K, payload: ISmartProxyEvents[K] | (() => ISmartProxyEvents[K])): void => {
    if (emitter.listenerCount(event) === 0) return;
    try {
      emitter.emit(event, typeof payload === 'function' ? (payload as () => ISmartProxyEvents[K])() : payload);
    } catch (err) {
      logger.error({ err, event }, 'event listener threw');
    }
  };
  return {
    emit,
    blocked: (info) => emit('security:blocked', info),
    closed: (r) =>
      emit('connection:close', () => ({
        connectionId: r.idText,
        clientIp: r.clientIp,
        port: r.localPort,
        route: r.routeName,
        bytesIn: r.bytesIn(),
        bytesOut: r.bytesOut(),
        durationMs: clock.now() - r.startTime,
        reason: r.closeReason ?? 'closed',
        side: r.closeSide ?? 'proxy',
        ...(r.closeError ? { error: r.closeError.message } : {}),
      })),
    proxy: {
      routeMiss: (r, domain) => emit('route:miss', { clientIp: r.clientIp, port: r.localPort, domain, connectionId: r.idText }),
      opened: (r) =>
        emit('connection:open', () => ({
          connectionId: r.idText,
          clientIp: r.clientIp,
          clientPort: r.clientPort,
          port: r.localPort,
          route: r.routeName,
          sni: r.facts?.sni,
        })),
      protocolError: (r, what) => {
        d.refused(what);
        logger.debug({ conn: r.idText, clientIp: r.clientIp, what }, 'connection closed: protocol error');
        emit('connection:error', { connectionId: r.idText, clientIp: r.clientIp, port: r.localPort, reason: what });
      },
      requestServed: d.requestServed,
    },
  };
}
