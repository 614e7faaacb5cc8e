/** fastify + @fastify/http-proxy (reply-from over an undici Pool), logging off. */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import httpProxy from '@fastify/http-proxy';
import { UPSTREAM_SOCKETS, type IPeerOptions, type IRunningPeer } from './types.js';

export async function startFastifyProxy(o: IPeerOptions): Promise<IRunningPeer> {
  const app = Fastify({
    logger: false,
    keepAliveTimeout: 60_000,
    requestTimeout: 0,
    ...(o.tls ? { https: { key: o.tls.key, cert: o.tls.cert } } : {}),
  });
  await app.register(httpProxy, {
    upstream: `http://127.0.0.1:${o.targetPort}`,
    undici: { connections: UPSTREAM_SOCKETS, pipelining: 1, keepAliveTimeout: 60_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { port, close: () => app.close() };
}
