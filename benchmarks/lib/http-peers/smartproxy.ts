/**
 * SmartProxy from the built package (dist_ts/index.js, or env BENCH_SMARTPROXY_MODULE)
 * with one HTTP-level route: it names `domains` on a non-TLS port (plain), or
 * terminates TLS with the given key pair. Per-IP limits lifted (one load client).
 */
import { freePort } from '../net-util.js';
import type { IPeerOptions, IRunningPeer } from './types.js';
import { loadSmartProxy, silentLogger } from '../smartproxy-module.js';

export async function startSmartProxyHttp(o: IPeerOptions): Promise<IRunningPeer> {
  const SmartProxy = await loadSmartProxy();
  const port = await freePort();
  const target = { host: '127.0.0.1', port: o.targetPort };
  const proxy = new SmartProxy({
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
    logger: silentLogger,
  });
  await proxy.start();
  return { port, close: () => proxy.stop() };
}
