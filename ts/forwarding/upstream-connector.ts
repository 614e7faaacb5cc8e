import * as net from 'node:net';
import type { TerminationReason } from '../connection/connection-record.js';

export interface ConnectOptions {
  host: string;
  port: number;
  timeoutMs: number;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  /** Deliver reads through this callback instead of the Readable stream (see direct-read.ts). */
  onread?: net.OnReadOpts;
}

export type ConnectResult = { ok: true; socket: net.Socket } | { ok: false; reason: TerminationReason; error: Error };

/**
 * Open a backend TCP connection, bounded by `timeoutMs`. The socket has an error handler
 * from birth; on failure it is destroyed and the reason returned, never thrown.
 */
export function connectUpstream(o: ConnectOptions, done: (r: ConnectResult) => void): net.Socket {
  const socket = net.connect({
    host: o.host,
    port: o.port,
    allowHalfOpen: true,
    noDelay: true,
    keepAlive: o.keepAlive,
    keepAliveInitialDelay: o.keepAliveInitialDelay,
    onread: o.onread,
  });
  awaitReady(socket, 'connect', `connect to ${o.host}:${o.port}`, o.timeoutMs, done);
  return socket;
}

/**
 * Settle a backend socket's connection attempt exactly once: `readyEvent` ('connect', or
 * 'secureConnect' for TLS) within `timeoutMs`, or a failure reason (refused / timed out before
 * TCP is up, protocol_error after). Every listener it adds is removed; a failed socket is
 * destroyed with an error handler left in place.
 */
export function awaitReady<S extends net.Socket>(
  socket: S,
  readyEvent: 'connect' | 'secureConnect',
  what: string,
  timeoutMs: number,
  done: (r: { ok: true; socket: S } | { ok: false; reason: TerminationReason; error: Error }) => void,
): void {
  let settled = false;
  let tcpUp = false;
  const finish = (r: { ok: true; socket: S } | { ok: false; reason: TerminationReason; error: Error }): void => {
    if (settled) return;
    settled = true;
    socket.removeListener('error', onError);
    socket.removeListener('timeout', onTimeout);
    socket.removeListener('connect', onConnect);
    socket.removeListener(readyEvent, onReady);
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
  const onTimeout = (): void => finish({ ok: false, reason: 'connect_timeout', error: new Error(`${what} not complete after ${timeoutMs} ms`) });
  const onConnect = (): void => {
    tcpUp = true;
  };
  const onReady = (): void => finish({ ok: true, socket });
  socket.on('error', onError);
  socket.setTimeout(timeoutMs, onTimeout);
  if (readyEvent !== 'connect') socket.once('connect', onConnect);
  socket.once(readyEvent, onReady);
}
