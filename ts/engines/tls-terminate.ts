/**
 * Server-side TLS on an accepted client socket whose ClientHello was already read by the sniffer.
 *
 * The sniffed bytes are put back with unshift() before wrapping: node's TLSSocket feeds data
 * already buffered in the wrapped socket to the TLS engine on its first read (lib/_tls_wrap.js
 * initRead: `while ((buf = socket.read()) !== null) handle.receive(buf)`), then reads the TCP
 * handle directly. Byte counts stay on the raw socket: net.Socket.bytesRead / bytesWritten read
 * the TCP handle's own counters, which see every TLS record (test/tls/byte-count.test.ts).
 */
import * as tls from 'node:tls';
import { Timer, type ConnectionRecord } from '../connection/connection-record.js';
import type { CompiledRoute } from '../routing/route-table.js';
import type { CertStore } from '../tls/cert-store.js';

/** Offered to clients, in the server's order: HTTP/1.0-only clients are served too (no alert 120). */
export const TERMINATE_ALPN = ['http/1.1', 'http/1.0'];

/**
 * Wraps record.client (paused) in a server TLSSocket that the record owns from birth, under the
 * record's TLS-handshake deadline (`handshakeTimeoutMs`), and calls `secured` with it after the
 * handshake. A failed handshake, the client leaving during it, or the deadline close the record
 * ('tls_error' / 'tls_handshake_timeout'); `failed` is told first (to count a protocol error).
 */
export function terminateTls(
  record: ConnectionRecord,
  /** The route matched by SNI; undefined: the default certificate serves a client no route names. */
  route: CompiledRoute | undefined,
  sniffed: Buffer | undefined,
  certStore: CertStore,
  handshakeTimeoutMs: number,
  now: number,
  secured: (secure: tls.TLSSocket) => void,
  failed: (why: 'tls_error' | 'tls_handshake_timeout') => void,
): void {
  const raw = record.client;
  if (sniffed !== undefined && sniffed.length > 0) raw.unshift(sniffed);
  const secure = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: certStore.secureContextFor(record.facts?.sni, route),
    SNICallback: (servername, cb) => cb(null, certStore.secureContextFor(servername, route)),
    ALPNProtocols: TERMINATE_ALPN,
    requestCert: false,
    rejectUnauthorized: false,
  });
  record.engine = {
    onSocketClose: () => {
      failed('tls_error');
      record.close('client', 'tls_error');
    },
    onTimeout: (reason) => {
      if (reason !== 'tls_handshake_timeout') return false;
      failed('tls_handshake_timeout');
      record.close('proxy', 'tls_handshake_timeout');
      return true;
    },
    errorReason: () => {
      failed('tls_error');
      return 'tls_error';
    },
  };
  record.attachStream(secure);
  if (record.closed) return;
  if (handshakeTimeoutMs > 0) record.startTimer(Timer.TlsHandshake, handshakeTimeoutMs, now);
  // A client that ends its side during the handshake (a TLS 1.3 client may leave right after
  // its Finished): the TLS socket sees the FIN but neither completes nor closes by itself.
  const onEnd = (): void => {
    if (record.closed) return;
    failed('tls_error');
    record.close('client', 'tls_error');
  };
  secure.once('end', onEnd);
  secure.once('secure', () => {
    secure.removeListener('end', onEnd);
    record.clearTimer(Timer.TlsHandshake);
    if (record.closed) return;
    record.engine = undefined;
    secured(secure);
  });
}
