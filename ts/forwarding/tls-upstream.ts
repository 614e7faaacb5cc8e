import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { awaitReady, type ConnectFailure, type PendingConnect } from './upstream-connector.js';

export interface TlsConnectOptions {
  host: string;
  port: number;
  /** SNI sent to the backend: the client's SNI; default the target host when it is a name (never an IP). */
  servername?: string;
  /** Verify the backend's certificate chain and name. Default false (backends often use private certificates). */
  rejectUnauthorized?: boolean;
  /** Trusted CAs (PEM) when verifying; default the system store. */
  ca?: string | string[];
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
}

export type TlsConnectResult = { ok: true; socket: tls.TLSSocket } | ConnectFailure;

export const UPSTREAM_ALPN = ['http/1.1'];

/**
 * Open a TLS connection to a backend ('terminate-and-reencrypt'). Mirrors connectUpstream: an
 * error handler from birth, on failure the socket is destroyed and the reason returned
 * ('connect_refused' before TCP is up, 'protocol_error' for a failed handshake), never thrown;
 * the caller's connect deadline (connect plus handshake) calls `abort`.
 */
export function connectTlsUpstream(o: TlsConnectOptions, done: (r: TlsConnectResult) => void): PendingConnect {
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
  if (o.noDelay) socket.setNoDelay(true);
  if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay);
  return awaitReady(socket, 'secureConnect', done);
}
