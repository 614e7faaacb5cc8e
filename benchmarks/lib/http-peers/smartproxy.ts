/**
 * SmartProxy from the built package (dist_ts/index.js, or env BENCH_SMARTPROXY_MODULE)
 * with one HTTP-level route: it names `domains` on a non-TLS port (plain), or
 * terminates TLS with the given key pair. Per-IP limits lifted (one load client).
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { ILogger, ISmartProxyOptions } from '../../../ts/types.js';
import { freePort } from '../net-util.js';
import type { IPeerOptions, IRunningPeer } from './types.js';

interface ISmartProxyLike {
  start(): Promise<void>;
  stop(): Promise<void>;
}
type SmartProxyCtor = new (options: ISmartProxyOptions) => ISmartProxyLike;

const silent: ILogger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

export async function startSmartProxyHttp(o: IPeerOptions): Promise<IRunningPeer> {
  const file = process.env.BENCH_SMARTPROXY_MODULE ?? resolve(import.meta.dirname, '../../../dist_ts/index.js');
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { SmartProxy?: SmartProxyCtor };
  if (typeof mod.SmartProxy !== 'function') throw new Error(`${file} does not export SmartProxy`);
  const port = await freePort();
  const target = { host: '127.0.0.1', port: o.targetPort };
  const proxy = new mod.SmartProxy({
    routes: [
      {
        name: 'bench',
        match: { ports: port, domains: o.domain },
        action: o.tls
          ? { type: 'forward', target, tls: { mode: 'terminate', certificate: { key: o.tls.key, cert: o.tls.cert } } }
          : { type: 'forward', target },
      },
    ],
    metrics: { enabled: true },
    maxConnectionsPerIP: 0,
    connectionRateLimitPerMinute: 0,
    listenAddress: '127.0.0.1',
    logger: silent,
  });
  await proxy.start();
  return { port, close: () => proxy.stop() };
}
