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

/** A TCP echo server (connections held open: the client decides when to close). */
export function startEchoBackend(): Promise<IClosable> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  return listenTracked(server);
}

/**
 * Echoes the first bytes of each connection and closes it (for the new-connection rate).
 * The server closes first, so TIME_WAIT lands on the accepting sides of each hop. When the
 * connecting side closes first, every connection leaves a TIME_WAIT socket on the load
 * generator's and the proxy's connecting sockets, tens of thousands per target, and the
 * kernel's search for a free ephemeral port in connect() gets slower for every target
 * measured after it (measured: SmartProxy's gap to the pipe relay was ~25 µs of CPU per
 * connection larger when it ran last in each round than when it ran first; with the server
 * closing first, the order no longer mattered).
 */
export function startEchoOnceBackend(): Promise<IClosable> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.once('data', (d: Buffer) => s.end(d));
    s.on('end', () => s.end());
  });
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
