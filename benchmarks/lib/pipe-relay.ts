/**
 * The baseline relay: what a few lines of Node do with `socket.pipe()`.
 * Half-close is propagated (allowHalfOpen), errors destroy both sides.
 */
import * as net from 'node:net';
import { listenTracked, type IClosable } from './net-util.js';
import { setOnSocket } from '../../ts/accept/socket-options.js';
import { setOnListener } from '../../ts/core/node-internals.js';

const CONTRACT_SOCKET_OPTIONS = { noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 };

/**
 * `socketOptions`: also do what the API contract asks of every proxied connection, and
 * nothing else, the way SmartProxy does it: TCP keep-alive probes on both sockets and Nagle
 * off (inherited from the listening socket on Linux, per socket for the backend), and the
 * client's address read once. The difference between this relay and SmartProxy is then
 * routing and bookkeeping alone.
 */
export async function startPipeRelay(targetPort: number, listenPort = 0, socketOptions = false): Promise<IClosable> {
  let inherited = false;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({
      port: targetPort,
      host: '127.0.0.1',
      allowHalfOpen: true,
      ...(socketOptions ? { noDelay: true, keepAlive: true, keepAliveInitialDelay: CONTRACT_SOCKET_OPTIONS.keepAliveInitialDelay } : {}),
    });
    if (socketOptions) {
      if (!inherited) setOnSocket(client, CONTRACT_SOCKET_OPTIONS);
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
  const relay = await listenTracked(server, listenPort);
  if (socketOptions) inherited = setOnListener(server, CONTRACT_SOCKET_OPTIONS);
  return relay;
}
