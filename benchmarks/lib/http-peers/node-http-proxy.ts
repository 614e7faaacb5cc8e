/**
 * The http-proxy family (node-http-proxy and its maintained successors
 * http-proxy-3 and httpxy), each configured the way a careful user would:
 * one keep-alive http.Agent towards the origin, errors answered with 502.
 */
import * as http from 'node:http';
import { createRequire } from 'node:module';
import { createFrontServer, listenFront } from './node-server.js';
import { UPSTREAM_SOCKETS, type IPeerOptions, type IRunningPeer } from './types.js';

/** The part of the http-proxy API (shared by http-proxy-3 and httpxy) used here. */
interface IHttpProxyLike {
  web(req: http.IncomingMessage, res: http.ServerResponse, opts?: object, cb?: (e: Error) => void): unknown;
  on(event: 'error', fn: (e: Error, req: http.IncomingMessage, res: unknown) => void): unknown;
  close?(): void;
}
type CreateProxy = (opts: { target: string; agent: http.Agent; xfwd?: boolean }) => IHttpProxyLike;

function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: UPSTREAM_SOCKETS, maxFreeSockets: UPSTREAM_SOCKETS });
}

function fail(res: unknown): void {
  if (!(res instanceof http.ServerResponse)) return;
  if (res.headersSent) res.destroy();
  else {
    res.writeHead(502, { 'content-length': 0 });
    res.end();
  }
}

async function startWith(create: CreateProxy, o: IPeerOptions, returnsPromise: boolean): Promise<IRunningPeer> {
  const agent = keepAliveAgent();
  const proxy = create({ target: `http://127.0.0.1:${o.targetPort}`, agent, xfwd: true });
  proxy.on('error', (_e, _req, res) => fail(res));
  const server = createFrontServer(
    returnsPromise
      ? (req, res) => {
          (proxy.web(req, res) as Promise<void>).catch(() => fail(res));
        }
      : (req, res) => {
          proxy.web(req, res);
        },
    o.tls,
  );
  return listenFront(server, () => {
    proxy.close?.();
    agent.destroy();
  });
}

const require = createRequire(import.meta.url);

/** http-proxy (node-http-proxy) 1.x, CommonJS. */
export function startNodeHttpProxy(o: IPeerOptions): Promise<IRunningPeer> {
  const mod = require('http-proxy') as { createProxyServer: CreateProxy };
  return startWith(mod.createProxyServer, o, false);
}

/** http-proxy-3, the TypeScript rewrite with the same API. */
export async function startHttpProxy3(o: IPeerOptions): Promise<IRunningPeer> {
  const mod = (await import('http-proxy-3')) as unknown as { createProxyServer: CreateProxy };
  return startWith(mod.createProxyServer, o, false);
}

/** httpxy (unjs), whose web() returns a promise. */
export async function startHttpxy(o: IPeerOptions): Promise<IRunningPeer> {
  const mod = (await import('httpxy')) as unknown as { createProxyServer: CreateProxy };
  return startWith(mod.createProxyServer, o, true);
}
