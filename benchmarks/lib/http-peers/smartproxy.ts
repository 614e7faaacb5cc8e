/**
 * SmartProxy with one HTTP-level route: it names `domains` on a non-TLS port (plain), or
 * terminates TLS with the given key pair.
 */
import type { IPeerOptions, IRunningPeer } from './types.js';
import { startBenchSmartProxy } from '../smartproxy-module.js';

export function startSmartProxyHttp(o: IPeerOptions): Promise<IRunningPeer> {
  const target = { host: '127.0.0.1', port: o.targetPort };
  return startBenchSmartProxy((port) => ({
    name: 'bench',
    match: { ports: port, domains: o.domain },
    action: o.tls ? { type: 'forward', target, tls: { mode: 'terminate', certificate: { key: o.tls.key, cert: o.tls.cert } } } : { type: 'forward', target },
  }));
}
