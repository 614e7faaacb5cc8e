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
import type { ConnectionRecord } from '../connection/connection-record.js';
import type { CompiledRoute } from '../routing/route-table.js';
import type { CertStore } from '../tls/cert-store.js';
import type { ILogger } from '../types.js';

export interface TerminateTlsDeps {
  certStore: CertStore;
  logger: ILogger;
  handshakeTimeoutMs: number;
}

export const TERMINATE_ALPN = ['http/1.1'];

/**
 * Wraps record.client (paused) in a server TLSSocket and calls `done` exactly once: with the
 * TLSSocket after the handshake, or with an error (handshake failure, timeout, peer gone), after
 * which the TLSSocket is destroyed and the caller closes the connection. The TLSSocket keeps one
 * error listener for its whole life (logs at debug); the caller adds its own for its close path.
 */
export function terminateTls(
  record: ConnectionRecord,
  route: CompiledRoute,
  sniffed: Buffer | undefined,
  deps: TerminateTlsDeps,
  done: (err: Error | undefined, secure?: tls.TLSSocket) => void,
): void {
  const { certStore, logger } = deps;
  const raw = record.client;
  if (raw.destroyed) {
    done(new Error('client socket closed before the TLS handshake'));
    return;
  }
  if (sniffed !== undefined && sniffed.length > 0) raw.unshift(sniffed);

  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const secure = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: certStore.secureContextFor(record.facts?.sni, route),
    SNICallback: (servername, cb) => cb(null, certStore.secureContextFor(servername, route)),
    ALPNProtocols: TERMINATE_ALPN,
    requestCert: false,
    rejectUnauthorized: false,
  });

  const finish = (err: Error | undefined): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    secure.removeListener('secure', onSecure);
    secure.removeListener('close', onClose);
    if (err !== undefined) {
      done(err);
      secure.destroy();
      return;
    }
    done(undefined, secure);
  };
  const onError = (err: Error): void => {
    if (!settled) {
      finish(err);
      return;
    }
    logger.debug({ conn: record.idText, err: err.message }, 'tls socket error');
  };
  const onSecure = (): void => finish(undefined);
  const onClose = (): void => finish(new Error('client closed during the TLS handshake'));

  secure.on('error', onError); // from birth, for the socket's whole life
  secure.once('secure', onSecure);
  secure.once('close', onClose);
  if (deps.handshakeTimeoutMs > 0) {
    timer = setTimeout(() => finish(new Error(`TLS handshake not complete after ${deps.handshakeTimeoutMs} ms`)), deps.handshakeTimeoutMs);
    timer.unref();
  }
}
