import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { TerminationReason } from '../connection/connection-record.js';

export interface TlsConnectOptions {
  host: string;
  port: number;
  /** SNI sent to the backend: the client's SNI; default the target host when it is a name (never an IP). */
  servername?: string;
  /** Verify the backend's certificate chain and name. Default false (backends often use private certificates). */
  rejectUnauthorized?: boolean;
  /** Trusted CAs (PEM) when verifying; default the system store. */
  ca?: string | string[];
  /** Bound on TCP connect plus TLS handshake. */
  timeoutMs: number;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
}

export type TlsConnectResult =
  | { ok: true; socket: tls.TLSSocket }
  | { ok: false; reason: TerminationReason; error: Error };

export const UPSTREAM_ALPN = ['http/1.1'];

/**
 * Open a TLS connection to a backend ('terminate-and-reencrypt'), bounded by `timeoutMs` for
 * connect and handshake together. Mirrors connectUpstream: an error handler from birth, on
 * failure the socket is destroyed and the reason returned ('connect_refused' / 'connect_timeout'
 * before TCP is up, 'protocol_error' for a failed handshake), never thrown.
 */
export function connectTlsUpstream(o: TlsConnectOptions, done: (r: TlsConnectResult) => void): tls.TLSSocket {
  const servername = o.servername ?? (isIP(o.host) === 0 ? o.host : undefined);
  const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
    host: o.host,
    port: o.port,
    ALPNProtocols: UPSTREAM_ALPN,
    rejectUnauthorized: o.rejectUnauthorized ?? false,
    // honoured by tls.connect (passed to the TLSSocket) though @types/node does not list it
    allowHalfOpen: true,
  };
  if (servername !== undefined) options.servername = servername;
  if (o.ca !== undefined) options.ca = o.ca;
  const socket = tls.connect(options);
  socket.setNoDelay(true);
  if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay);
  let settled = false;
  let tcpUp = false;
  const finish = (r: TlsConnectResult): void => {
    if (settled) return;
    settled = true;
    socket.removeListener('error', onError);
    socket.removeListener('timeout', onTimeout);
    socket.removeListener('connect', onConnect);
    socket.removeListener('secureConnect', onSecure);
    socket.setTimeout(0);
    if (!r.ok) {
      socket.on('error', () => {});
      socket.destroy();
    }
    done(r);
  };
  const onError = (err: NodeJS.ErrnoException): void => {
    const reason: TerminationReason = err.code === 'ETIMEDOUT' ? 'connect_timeout' : tcpUp ? 'protocol_error' : 'connect_refused';
    finish({ ok: false, reason, error: err });
  };
  const onTimeout = (): void =>
    finish({ ok: false, reason: 'connect_timeout', error: new Error(`TLS connect to ${o.host}:${o.port} not complete after ${o.timeoutMs} ms`) });
  const onConnect = (): void => {
    tcpUp = true;
  };
  const onSecure = (): void => finish({ ok: true, socket });
  socket.on('error', onError);
  socket.setTimeout(o.timeoutMs, onTimeout);
  socket.once('connect', onConnect);
  socket.once('secureConnect', onSecure);
  return socket;
}
