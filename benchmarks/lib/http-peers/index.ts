/** Registry of the in-process (Node) HTTP proxies under test, loaded lazily by name. */
import type { IPeerOptions, IRunningPeer } from './types.js';

export type NodePeerKind = 'smartproxy' | 'node-http-proxy' | 'http-proxy-3' | 'httpxy' | 'fastify' | 'undici';

export const NODE_PEER_KINDS: readonly NodePeerKind[] = ['smartproxy', 'node-http-proxy', 'http-proxy-3', 'httpxy', 'fastify', 'undici'];

export async function startPeer(kind: NodePeerKind, o: IPeerOptions): Promise<IRunningPeer> {
  switch (kind) {
    case 'smartproxy':
      return (await import('./smartproxy.js')).startSmartProxyHttp(o);
    case 'node-http-proxy':
      return (await import('./node-http-proxy.js')).startNodeHttpProxy(o);
    case 'http-proxy-3':
      return (await import('./node-http-proxy.js')).startHttpProxy3(o);
    case 'httpxy':
      return (await import('./node-http-proxy.js')).startHttpxy(o);
    case 'fastify':
      return (await import('./fastify.js')).startFastifyProxy(o);
    case 'undici':
      return (await import('./undici-proxy.js')).startUndiciProxy(o);
  }
}
