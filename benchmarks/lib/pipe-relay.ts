/**
 * The baseline relay: what a few lines of Node do with `socket.pipe()`.
 * Half-close is propagated (allowHalfOpen), errors destroy both sides.
 */
import * as net from 'node:net';
import { listenTracked, type IClosable } from './net-util.js';

export function startPipeRelay(targetPort: number, listenPort = 0, socketOptions = false): Promise<IClosable> {
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    if (socketOptions) {
      // What the API contract asks of every proxied connection, and nothing else: TCP keep-alive
      // probes on both sockets, Nagle off, and the client's address read once.
      client.setKeepAlive(true, 10_000);
      upstream.setKeepAlive(true, 10_000);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      void client.remoteAddress;
    }
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return listenTracked(server, listenPort);
}
