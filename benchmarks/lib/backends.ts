/** Backends for benchmarks, on 127.0.0.1:0: tiny keep-alive HTTP, echo, and a bulk sink. */
import * as net from 'node:net';
import * as http from 'node:http';
import { listenTracked, type IClosable } from './net-util.js';

const BODY = Buffer.from('ok\n');

/** An HTTP/1.1 server answering every request with a 3-byte body, keep-alive. */
export function startKeepAliveHttpBackend(): Promise<IClosable> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.on('clientError', (_e, s) => s.destroy());
  return listenTracked(server);
}

/** A TCP echo server (for one-small-round-trip-per-connection tests). */
export function startEchoBackend(): Promise<IClosable> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  return listenTracked(server);
}

/** A TCP sink: discards everything; when the client half-closes it answers "done <bytes>\n" and closes. */
export function startBulkSink(): Promise<IClosable> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on('data', (d: Buffer) => {
      n += d.length;
    });
    s.on('end', () => s.end(`done ${n}\n`));
  });
  return listenTracked(server);
}
