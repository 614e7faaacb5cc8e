import type * as net from 'node:net';
import type { IRouteContext, IRouteConfig, ILogger } from '../types.js';

/**
 * Hand the client socket to user code. The sniffed bytes are put back first, so the handler
 * reads the stream from its start. A throwing or rejecting handler costs only this socket.
 */
export function runSocketHandler(
  socket: net.Socket,
  connectionId: string,
  route: Readonly<IRouteConfig>,
  ctx: IRouteContext,
  sniffed: Buffer | undefined,
  logger: ILogger,
  fail: (err: unknown) => void,
): void {
  const handler = route.action.socketHandler;
  if (!handler) {
    fail(new Error('route has no socketHandler'));
    return;
  }
  if (sniffed && sniffed.length > 0) socket.unshift(sniffed);
  try {
    const r = handler(socket, ctx);
    if (r && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(() => resumeIfListening(socket), (err: unknown) => {
        logger.warn({ conn: connectionId, err }, 'socket handler rejected');
        fail(err);
      });
    }
  } catch (err) {
    logger.warn({ conn: connectionId, err }, 'socket handler threw');
    fail(err);
    return;
  }
  resumeIfListening(socket);
}

/** Sockets arrive paused; a handler that listens for 'data' expects a flowing stream. */
function resumeIfListening(socket: net.Socket): void {
  if (!socket.destroyed && socket.isPaused() && socket.listenerCount('data') > 0) socket.resume();
}
