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
/** Longest a connection lingers after a local answer, whatever the client still sends. */
export const LINGER_MS = 30_000;

export function answerAndClose(record: ConnectionRecord, status: number, reason: CloseReason, now: number, headers?: Record<string, string>, body?: string): void {
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
  s.end(localResponse(status, headers, body), () => {
    flushed = true;
    done();
  });
  lingerAfterFin(record, reason, now);
  if (!record.closed) s.resume();
}

/**
 * The proxy has sent its FIN and reads on until the client ends its side: bounded by
 * halfCloseTimeout while silent, and by LINGER_MS (or halfCloseTimeout when shorter) in any case.
 */
export function lingerAfterFin(record: ConnectionRecord, reason: CloseReason, now: number): void {
  record.markHalfClosed(now);
  const hc = record.halfCloseTimeout;
  record.startEngineTimer(hc > 0 ? Math.min(hc, LINGER_MS) : LINGER_MS, now, () => record.close('proxy', reason));
}

function noop(): void {}
