import * as net from 'node:net';
import type { TerminationReason } from '../connection/connection-record.js';

export interface ConnectOptions {
  host: string;
  port: number;
  timeoutMs: number;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
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
  });
  let settled = false;
  const finish = (r: ConnectResult): void => {
    if (settled) return;
    settled = true;
    socket.removeListener('error', onError);
    socket.removeListener('timeout', onTimeout);
    socket.removeListener('connect', onConnect);
    socket.setTimeout(0);
    if (!r.ok) {
      socket.on('error', () => {});
      socket.destroy();
    }
    done(r);
  };
  const onError = (err: NodeJS.ErrnoException): void => {
    finish({ ok: false, reason: err.code === 'ETIMEDOUT' ? 'connect_timeout' : 'connect_refused', error: err });
  };
  const onTimeout = (): void => finish({ ok: false, reason: 'connect_timeout', error: new Error(`connect to ${o.host}:${o.port} timed out after ${o.timeoutMs} ms`) });
  const onConnect = (): void => finish({ ok: true, socket });
  socket.on('error', onError);
  socket.setTimeout(o.timeoutMs, onTimeout);
  socket.once('connect', onConnect);
  return socket;
}
