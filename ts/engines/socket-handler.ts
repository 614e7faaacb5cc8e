import type { ConnectionRecord } from '../connection/connection-record.js';
import type { IRouteContext, IRouteConfig, ILogger } from '../types.js';

/**
 * Hand the client stream to user code. The sniffed bytes are put back first, so the handler
 * reads the stream from its start. The record keeps owning the socket: when it closes, the
 * connection closes (and a handler that proxies attaches its backend to the record, see
 * SocketHandlers.proxy). A throwing or rejecting handler costs only this connection.
 */
export function runSocketHandler(
  record: ConnectionRecord,
  route: Readonly<IRouteConfig>,
  ctx: IRouteContext,
  sniffed: Buffer | undefined,
  logger: ILogger,
): void {
  const socket = record.stream;
  record.engine = undefined;
  const handler = route.action.socketHandler;
  if (!handler) {
    record.close('proxy', 'handler_error', new Error('route has no socketHandler'));
    return;
  }
  if (sniffed && sniffed.length > 0) socket.unshift(sniffed);
  const fail = (err: unknown): void => {
    logger.warn({ conn: record.idText, err }, 'socket handler failed');
    record.close('proxy', 'handler_error', err instanceof Error ? err : undefined);
  };
  try {
    const r = handler(socket, ctx);
    if (r && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(() => resumeIfListening(record), fail);
    }
  } catch (err) {
    fail(err);
    return;
  }
  resumeIfListening(record);
}

/** Sockets arrive paused; a handler that listens for 'data' expects a flowing stream. */
function resumeIfListening(record: ConnectionRecord): void {
  const socket = record.stream;
  if (!record.closed && !socket.destroyed && socket.isPaused() && socket.listenerCount('data') > 0) socket.resume();
}
