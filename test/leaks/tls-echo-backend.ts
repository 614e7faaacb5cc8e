/**
 * A TLS echo backend for the leak tests: greets with `<name> sni=<servername>\n`, then
 * echoes. Unlike test/helpers startTlsServer it runs with allowHalfOpen: false, because a
 * Node TLS server with allowHalfOpen: true never closes a socket whose peer sends FIN in
 * the middle of the handshake (the connection, and any proxy record in front of it, would
 * stay open forever). An echo needs no half-open state: everything received before the
 * client's close_notify/FIN is written before the server's own end.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface ITlsEchoBackend {
  readonly port: number;
  /** Completed handshakes. */
  readonly handshakes: number;
  /** Raw TCP connections accepted so far (handshake completed or not). */
  readonly connections: number;
  /** Raw TCP connections open now. */
  readonly active: number;
  close(): Promise<void>;
}

export async function startTlsEchoBackend(opts: { key: string; cert: string; name: string }): Promise<ITlsEchoBackend> {
  const raws = new Set<net.Socket>();
  let handshakes = 0;
  let connections = 0;
  const server = tls.createServer({ key: opts.key, cert: opts.cert, allowHalfOpen: false }, (socket) => {
    handshakes++;
    socket.on('error', () => {});
    const sni = typeof socket.servername === 'string' ? socket.servername : '';
    socket.write(`${opts.name} sni=${sni}\n`);
    socket.pipe(socket);
  });
  server.on('connection', (raw: net.Socket) => {
    raw.on('error', () => {});
    connections++;
    raws.add(raw);
    raw.once('close', () => raws.delete(raw));
  });
  server.on('tlsClientError', () => {});
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get handshakes() {
      return handshakes;
    },
    get connections() {
      return connections;
    },
    get active() {
      return raws.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of raws) r.destroy();
        server.close(() => resolve());
      }),
  };
}
