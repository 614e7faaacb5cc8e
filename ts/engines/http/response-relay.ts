/**
 * The backend's side of one HTTP exchange, as the session reads it: response heads parsed
 * (interim ones passed on, except to HTTP/1.0 clients; a 101 hands over to the WebSocket
 * relay), the final head's framing taken, a complete small response written at once, and the
 * body relayed in its framing (de-chunked for HTTP/1.0 clients), with client backpressure
 * pausing the backend. A bad head is a 502; bad body framing closes the connection.
 */
import type * as net from 'node:net';
import { Timer, type CloseReason, type ConnectionRecord } from '../../connection/connection-record.js';
import type { ILogger } from '../../types.js';
import { BodyTracker } from '../../protocol/http-framing.js';
import { readResponseHead, type ResponseHead } from './response-head.js';
import type { Exchange } from './exchange.js';

/** A complete response up to this size is copied behind its head and written once. */
const SMALL_RESPONSE_BYTES = 16 * 1024;

/** What the response side needs of its session (one per connection). */
export interface ResponseReader {
  readonly client: net.Socket;
  readonly record: ConnectionRecord;
  readonly logger: ILogger;
  /** `ex` is still the exchange being served. */
  serving(ex: Exchange): boolean;
  /** Answer locally and close (the response cannot be relayed). */
  refuse(status: number, reason: CloseReason): void;
  /** The backend switched protocols (101 after a client Upgrade). */
  upgrade(ex: Exchange, backendRest: Buffer): void;
  /** The response is complete. */
  done(ex: Exchange): void;
}

/** Bytes from the exchange's backend. */
export function responseData(o: ResponseReader, ex: Exchange, chunk: Buffer): void {
  ex.resStarted = true;
  if (ex.resBody === undefined) {
    ex.resBuf = ex.resBuf ? Buffer.concat([ex.resBuf, chunk]) : chunk;
    parseResponse(o, ex);
    return;
  }
  relayResponseBody(o, ex, chunk, 0);
}

function parseResponse(o: ResponseReader, ex: Exchange): void {
  for (;;) {
    const buf = ex.resBuf!;
    const h = readResponseHead(buf, ex);
    switch (h.kind) {
      case 'need-more':
        return;
      case 'bad':
        o.logger.warn({ conn: o.record.idText, reason: h.why }, 'malformed response from backend');
        o.refuse(502, 'backend_invalid');
        return;
      case 'switch':
        o.record.clearTimer(Timer.Response);
        o.client.write(h.head, 'latin1');
        o.upgrade(ex, h.rest);
        return;
      case 'interim':
        ex.interim++;
        // An HTTP/1.0 client never gets a 1xx (RFC 9110 15.2): it waits for the final answer.
        if (!ex.clientHttp10) o.client.write(h.head, 'latin1');
        ex.resBuf = h.rest;
        if (h.rest.length === 0) return;
        continue;
      case 'final':
        o.record.clearTimer(Timer.Response);
        finalResponse(o, ex, buf, h);
        return;
    }
  }
}

function finalResponse(o: ResponseReader, ex: Exchange, buf: Buffer, h: Extract<ResponseHead, { kind: 'final' }>): void {
  const { framing, rest } = h;
  const client = o.client;
  ex.upstreamReusable = h.reusable;
  ex.clientClose = h.closeClient;
  ex.resFraming = framing;
  // De-chunking: the tracker hands over each run of payload; only those bytes reach the client.
  ex.resBody = h.dechunk ? new BodyTracker(framing, (b, from, to) => client.write(b.subarray(from, to))) : new BodyTracker(framing);
  ex.dechunked = h.dechunk;
  ex.resBuf = undefined;
  const complete = framing.kind === 'length' && rest.length === framing.length;
  if (complete && (h.verbatim || rest.length <= SMALL_RESPONSE_BYTES)) {
    // The whole response is here: one write (the buffer it came in, or head and body copied together).
    ex.resBody.advance(rest, 0);
    if (h.verbatim) {
      client.write(buf);
    } else {
      const out = Buffer.allocUnsafe(h.head.length + rest.length);
      out.write(h.head, 0, 'latin1');
      rest.copy(out, h.head.length);
      client.write(out);
    }
    o.done(ex);
    return;
  }
  client.cork();
  client.write(h.head, 'latin1');
  if (rest.length > 0) relayResponseBody(o, ex, rest, 0);
  else if (ex.resBody.done) o.done(ex);
  client.uncork();
}

function relayResponseBody(o: ResponseReader, ex: Exchange, chunk: Buffer, start: number): void {
  const body = ex.resBody!;
  const client = o.client;
  const end = body.advance(chunk, start);
  if (body.error) {
    o.logger.warn({ conn: o.record.idText, reason: body.error }, 'malformed response body framing from backend');
    o.record.close('backend', 'backend_invalid');
    return;
  }
  if (end > start) {
    // De-chunked, the tracker has written the payload already; otherwise the bytes go as they came.
    const flowing = ex.dechunked ? !client.writableNeedDrain : client.write(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
    if (!flowing) {
      // Client backpressure: stop reading the backend until the client drains, unless the
      // socket has moved on by then (the session resumes it before pooling).
      const up = ex.upstream!;
      up.socket.pause();
      client.once('drain', () => {
        if (o.serving(ex) && ex.upstream === up) up.socket.resume();
      });
    }
  }
  if (body.done) {
    if (end < chunk.length) ex.upstreamReusable = false; // bytes beyond the response: not a clean socket
    o.done(ex);
  }
}
