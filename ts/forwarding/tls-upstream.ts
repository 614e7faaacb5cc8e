import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { TerminationReason } from '../connection/connection-record.js';
import { awaitReady } from './upstream-connector.js';

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
  awaitReady(socket, 'secureConnect', `TLS connect to ${o.host}:${o.port}`, o.timeoutMs, done);
  return socket;
}
