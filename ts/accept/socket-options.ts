import type * as net from 'node:net';
import type { AcceptedSocketOptions } from '../core/node-internals.js';

/** The per-socket way, for listeners whose sockets do not inherit the options. */
export function setOnSocket(socket: net.Socket, o: AcceptedSocketOptions): void {
  if (o.noDelay) socket.setNoDelay(true);
  if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay);
}
