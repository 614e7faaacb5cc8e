/**
 * A deliberately cheap HTTP/1.1 origin for the HTTP benchmark, written on raw
 * sockets so the backend is never the bottleneck (node:http would cost more per
 * request than some of the proxies under test). Keep-alive and pipelining,
 * Content-Length and chunked request bodies. Answers by path:
 *   /64k   -> 65 536-byte body
 *   other  -> 13-byte body ("Hello, world\n"), also after reading any request body
 * Plain TCP, or TLS when given a key pair (for the "direct over TLS" baseline).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { listenTracked, type IClosable } from './net-util.js';

export const SMALL_BODY_BYTES = 13;
export const LARGE_BODY_BYTES = 64 * 1024;

function response(body: Buffer): Buffer {
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const SMALL = response(Buffer.from('Hello, world\n'));
const LARGE = response(Buffer.alloc(LARGE_BODY_BYTES, 'x'));
const BAD = Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const MAX_HEAD = 64 * 1024;

type BodyState = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked'; left: number; trailer: boolean };

/** Serves one connection; the parser state lives in this closure. */
function serve(sock: net.Socket): void {
  let buf: Buffer = Buffer.alloc(0);
  let body: BodyState = { kind: 'none' };
  let pending: Buffer | undefined; // response to send once the current request's body is read
  let closeAfter = false;
  sock.setNoDelay(true);

  const fail = (): void => {
    sock.end(BAD);
    buf = Buffer.alloc(0);
  };

  /** Consumes body bytes from buf; returns true when the body is complete. */
  const eatBody = (): boolean => {
    for (;;) {
      if (body.kind === 'none') return true;
      if (body.kind === 'length') {
        const n = Math.min(body.left, buf.length);
        body.left -= n;
        buf = buf.subarray(n);
        if (body.left > 0) return false;
        body = { kind: 'none' };
        return true;
      }
      if (body.left > 0) {
        const n = Math.min(body.left, buf.length);
        body.left -= n;
        buf = buf.subarray(n);
        if (body.left > 0) return false;
        continue;
      }
      const eol = buf.indexOf(CRLF);
      if (eol < 0) return false;
      const line = buf.subarray(0, eol).toString('latin1');
      buf = buf.subarray(eol + 2);
      if (body.trailer) {
        if (line === '') body = { kind: 'none' };
        continue;
      }
      if (line === '') continue; // CRLF after a chunk's data
      const size = Number.parseInt(line, 16);
      if (!Number.isFinite(size) || size < 0) {
        fail();
        return false;
      }
      if (size === 0) body.trailer = true;
      else body.left = size;
    }
  };

  sock.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    const out: Buffer[] = [];
    for (;;) {
      if (pending) {
        if (!eatBody()) break;
        out.push(pending);
        pending = undefined;
        if (closeAfter) break;
      }
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        if (buf.length > MAX_HEAD) fail();
        break;
      }
      const head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      const sp = head.indexOf(' ');
      const path = head.slice(sp + 1, head.indexOf(' ', sp + 1));
      const lower = head.toLowerCase();
      const cl = /\r\ncontent-length:[ \t]*(\d+)/.exec(lower);
      if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) body = { kind: 'chunked', left: 0, trailer: false };
      else if (cl) body = { kind: 'length', left: Number(cl[1]) };
      else body = { kind: 'none' };
      closeAfter = /\r\nconnection:[ \t]*close/.test(lower) || head.endsWith('HTTP/1.0') || / HTTP\/1\.0\r\n/.test(head);
      pending = path.startsWith('/64k') ? LARGE : SMALL;
    }
    if (out.length === 1) sock.write(out[0]!);
    else if (out.length > 1) sock.write(Buffer.concat(out));
    if (closeAfter && !pending) sock.end();
  });
  sock.on('error', () => sock.destroy());
}

/** Starts the origin on 127.0.0.1:0; with `tlsPair` it speaks TLS. */
export function startHttpBackend(tlsPair?: { key: string; cert: string }): Promise<IClosable> {
  const server = tlsPair
    ? tls.createServer({ key: tlsPair.key, cert: tlsPair.cert }, serve)
    : net.createServer(serve);
  if (tlsPair) server.on('tlsClientError', () => {});
  // listenTracked tracks 'connection' sockets; for TLS those are the raw TCP sockets, which is what close() must destroy.
  return listenTracked(server);
}
