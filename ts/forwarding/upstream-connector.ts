import * as net from 'node:net';
import type { CloseReason } from '../connection/close-reason.js';

export interface ConnectOptions {
  host: string;
  port: number;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  /** Deliver reads through this callback instead of the Readable stream (see core/node-internals.ts). */
  onread?: net.OnReadOpts;
}

export type ConnectFailure = { ok: false; reason: CloseReason; error: Error };
export type ConnectResult = { ok: true; socket: net.Socket } | ConnectFailure;

/** A connection attempt in progress; `abort` settles it as failed (the caller's deadline fired, or its client left). */
export interface PendingConnect {
  abort(reason: CloseReason, message: string): void;
}

/**
 * Open a backend TCP connection. The socket has an error handler from birth; on failure it is
 * destroyed and the reason returned, never thrown. There is no timer here: the connection
 * record's connect deadline (connectionTimeout) calls `abort`.
 */
export function connectUpstream(o: ConnectOptions, done: (r: ConnectResult) => void): PendingConnect {
  const socket = net.connect({
    host: o.host,
    port: o.port,
    allowHalfOpen: true,
    noDelay: o.noDelay,
    keepAlive: o.keepAlive,
    keepAliveInitialDelay: o.keepAliveInitialDelay,
    onread: o.onread,
  });
  return awaitReady(socket, 'connect', done);
}

/**
 * Settle a backend socket's connection attempt exactly once: `readyEvent` ('connect', or
 * 'secureConnect' for TLS), a socket error (refused before TCP is up, protocol_error after:
 * a failed TLS handshake), or `abort()`. Every listener it adds is removed; a failed socket is
 * destroyed with an error handler left in place.
 */
export function awaitReady<S extends net.Socket>(
  socket: S,
  readyEvent: 'connect' | 'secureConnect',
  done: (r: { ok: true; socket: S } | ConnectFailure) => void,
): PendingConnect {
  let settled = false;
  let tcpUp = false;
  const finish = (r: { ok: true; socket: S } | ConnectFailure): void => {
    if (settled) return;
    settled = true;
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    socket.removeListener('connect', onConnect);
    socket.removeListener(readyEvent, onReady);
    if (!r.ok) {
      socket.on('error', noop);
      socket.destroy();
    }
    done(r);
  };
  const onError = (err: NodeJS.ErrnoException): void => {
    const reason: CloseReason = err.code === 'ETIMEDOUT' ? 'connect_timeout' : tcpUp ? 'protocol_error' : 'connect_refused';
    finish({ ok: false, reason, error: err });
  };
  const onClose = (): void => finish({ ok: false, reason: tcpUp ? 'protocol_error' : 'connect_refused', error: new Error('closed while connecting') });
  const onConnect = (): void => {
    tcpUp = true;
  };
  const onReady = (): void => finish({ ok: true, socket });
  socket.on('error', onError);
  socket.once('close', onClose);
  if (readyEvent !== 'connect') socket.once('connect', onConnect);
  socket.once(readyEvent, onReady);
  return { abort: (reason, message) => finish({ ok: false, reason, error: new Error(message) }) };
}

function noop(): void {}
