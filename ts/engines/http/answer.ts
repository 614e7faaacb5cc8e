import type { CloseReason, ConnectionRecord } from '../../connection/connection-record.js';
import { localResponse } from './responses.js';

/**
 * The proxy's own short answer (400/403/404/408/429/431/502/503/504...), then the connection
 * closes: the response goes out with `Connection: close` and a FIN after it. Whatever the
 * client still sends is read and dropped (never parsed as a request: lingering close, as nginx
 * and HAProxy do), so an unread request body cannot turn the close into a reset that loses the
 * answer. The record closes with `reason` once the answer is flushed and the client has ended
 * its side, or closed; a client that does neither is bounded by halfCloseTimeout.
 */
export function answerAndClose(record: ConnectionRecord, status: number, reason: CloseReason, now: number, headers?: Record<string, string>): void {
  if (record.closed) return;
  const s = record.stream;
  let flushed = false;
  let ended = s.readableEnded;
  const done = (): void => {
    if (flushed && ended) record.close('proxy', reason);
  };
  record.engine = { onSocketClose: () => record.close('proxy', reason) };
  s.removeAllListeners('data');
  s.on('data', noop);
  if (!ended) s.once('end', () => {
    ended = true;
    done();
  });
  s.end(localResponse(status, headers), () => {
    flushed = true;
    done();
  });
  record.markHalfClosed(now);
  if (!record.closed) s.resume();
}

function noop(): void {}
