/**
 * The SmartProxy under test, for every benchmark child: the built package (dist_ts/index.js)
 * or the module named by BENCH_SMARTPROXY_MODULE, and a silent logger.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ILogger, IMetrics, IRouteConfig, ISmartProxyOptions } from '../../ts/types.js';
import type { IChildProxy } from './child-ipc.js';
import { freePort, REPO_ROOT } from './net-util.js';

interface ISmartProxyLike {
  start(): Promise<void>;
  stop(): Promise<void>;
  getStats(): IMetrics;
}
type SmartProxyCtor = new (options: ISmartProxyOptions) => ISmartProxyLike;

const silentLogger: ILogger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

async function loadSmartProxy(): Promise<SmartProxyCtor> {
  const file = process.env.BENCH_SMARTPROXY_MODULE ?? resolve(REPO_ROOT, 'dist_ts/index.js');
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { SmartProxy?: SmartProxyCtor };
  if (typeof mod.SmartProxy !== 'function') throw new Error(`${file} does not export SmartProxy`);
  return mod.SmartProxy;
}

/** JSON-serialisable options a benchmark may set over the defaults of startBenchSmartProxy. */
export type BenchProxyOptions = Omit<ISmartProxyOptions, 'routes' | 'logger' | 'certProvisionFunction'>;

/**
 * SmartProxy on a free port with the one route `route(port)` builds, metrics on, listening on
 * 127.0.0.1, silent. The load generator is one client IP opening thousands of connections per
 * second, so the per-IP defaults (100 concurrent, 300/min) are lifted; `options` go on top.
 */
export async function startBenchSmartProxy(route: (port: number) => IRouteConfig, options: BenchProxyOptions = {}): Promise<IChildProxy> {
  const SmartProxy = await loadSmartProxy();
  const port = await freePort();
  const proxy = new SmartProxy({
    metrics: { enabled: true },
    maxConnectionsPerIP: 0,
    connectionRateLimitPerMinute: 0,
    ...options,
    routes: [route(port)],
    listenAddress: '127.0.0.1',
    logger: silentLogger,
  });
  await proxy.start();
  return {
    port,
    close: () => proxy.stop(),
    stats: () => {
      const s = proxy.getStats();
      return { bytesIn: s.totals.bytesIn(), bytesOut: s.totals.bytesOut(), connections: s.connections.total(), requests: s.requests.total() };
    },
  };
}
