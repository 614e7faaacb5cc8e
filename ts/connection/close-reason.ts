/**
 * Why a connection closed: one set of reasons, recorded by every engine (L4 relay, HTTP,
 * WebSocket, socket handlers) through ConnectionRecord.close(side, reason, error), reported in
 * the `connection:close` event and counted in `smartproxy_connections_closed_total{reason}`.
 */
export type CloseReason =
  /** Ended normally: FIN or close by a peer, an exchange complete. */
  | 'closed'
  /** A peer reset the connection (ECONNRESET, EPIPE). */
  | 'reset'
  /** Another socket error. */
  | 'error'
  | 'route_miss'
  /** Refused by a limit or an IP rule (the refusal's own reason is in `smartproxy_connections_refused_total`). */
  | 'blocked'
  | 'rate_limited'
  | 'auth_failed'
  /** Bytes that are not what the port speaks: a bad ClientHello, PROXY header or HTTP request. */
  | 'protocol_error'
  | 'tls_error'
  | 'initial_data_timeout'
  | 'tls_handshake_timeout'
  | 'headers_timeout'
  | 'connect_refused'
  | 'connect_timeout'
  | 'response_timeout'
  /** The backend closed or reset before its response was complete (502, or a truncated body). */
  | 'backend_closed'
  /** The backend's response was not valid HTTP (502). */
  | 'backend_invalid'
  | 'socket_timeout'
  | 'inactivity'
  | 'lifetime'
  | 'half_close_timeout'
  | 'ws_ping_timeout'
  | 'zombie'
  | 'handler_error'
  | 'shutdown';

/** Who ended the connection: a peer, or the proxy itself (timeouts, refusals, shutdown). */
export type CloseSide = 'client' | 'backend' | 'proxy';

export const CLOSE_REASONS: readonly CloseReason[] = Object.freeze([
  'closed', 'reset', 'error', 'route_miss', 'blocked', 'rate_limited', 'auth_failed', 'protocol_error', 'tls_error',
  'initial_data_timeout', 'tls_handshake_timeout', 'headers_timeout', 'connect_refused', 'connect_timeout',
  'response_timeout', 'backend_closed', 'backend_invalid', 'socket_timeout', 'inactivity', 'lifetime',
  'half_close_timeout', 'ws_ping_timeout', 'zombie', 'handler_error', 'shutdown',
]);

/** The reason a socket error stands for. */
export function reasonForError(err: NodeJS.ErrnoException | undefined): CloseReason {
  const code = err?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' ? 'reset' : 'error';
}
