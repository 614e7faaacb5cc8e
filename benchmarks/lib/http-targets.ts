/**
 * The targets of the HTTP benchmark: direct (the origin itself, plain or TLS),
 * each Node peer in its own child process, nginx and HAProxy as external
 * processes. A uniform IProxyUnderTest handle (port, cpuMs, close) for each.
 */
import { siblingScript } from './net-util.js';
import { direct, forkProxyChild, type IProxyUnderTest } from './proxy-process.js';
import { startNginx } from './nginx.js';
import { startHaproxyHttp } from './haproxy.js';
import { procCpuMs, procTreeCpuMs } from './cpu.js';
import type { NodePeerKind } from './http-peers/index.js';
import type { IHttpPeerChildConfig } from './http-peer-child.js';
import type { IPemPairLike } from './http-peers/types.js';

export type HttpTargetName = 'direct' | NodePeerKind | 'nginx' | 'haproxy';

export const HTTP_TARGETS: readonly HttpTargetName[] = [
  'direct',
  'smartproxy',
  'undici',
  'node-http-proxy',
  'http-proxy-3',
  'httpxy',
  'fastify',
  'nginx',
  'haproxy',
];

export const HTTP_TARGET_LABEL: Record<HttpTargetName, string> = {
  direct: 'direct (no proxy)',
  smartproxy: 'SmartProxy',
  undici: 'minimal undici proxy (Pool.dispatch)',
  'node-http-proxy': 'node-http-proxy + keep-alive agent',
  'http-proxy-3': 'http-proxy-3 + keep-alive agent',
  httpxy: 'httpxy + keep-alive agent',
  fastify: 'fastify + @fastify/http-proxy',
  nginx: 'nginx (1 worker)',
  haproxy: 'HAProxy mode http (nbthread 1)',
};

/** Node peers other than SmartProxy: the "fastest Node peer" is chosen among these. */
export const NODE_PEERS: readonly HttpTargetName[] = ['undici', 'node-http-proxy', 'http-proxy-3', 'httpxy', 'fastify'];

export function isHttpTarget(s: string): s is HttpTargetName {
  return (HTTP_TARGETS as readonly string[]).includes(s);
}

const PEER_CHILD = siblingScript(import.meta.dirname, 'http-peer-child');

export interface IHttpBackends {
  plainPort: number;
  tlsPort: number;
}

/**
 * Starts `t` for one measurement. Proxies always talk plain HTTP to the origin;
 * with `tls` they terminate TLS on their listening port (direct then means the TLS origin).
 * Resolves with { skipped } when an external tool is missing; rejects when a target fails to start.
 */
export async function startHttpTarget(
  t: HttpTargetName,
  backends: IHttpBackends,
  domain: string,
  tls: IPemPairLike | undefined,
): Promise<IProxyUnderTest | { skipped: string }> {
  const target = backends.plainPort;
  if (t === 'direct') return direct(tls ? backends.tlsPort : backends.plainPort);
  if (t === 'nginx') {
    const n = await startNginx(target, tls);
    if ('skipped' in n) return n;
    return { name: t, port: n.port, cpuMs: async () => procTreeCpuMs(n.pid), close: n.close };
  }
  if (t === 'haproxy') {
    const h = await startHaproxyHttp(target, tls);
    if ('skipped' in h) return h;
    return { name: t, port: h.port, cpuMs: async () => procCpuMs(h.pid), close: h.close };
  }
  const cfg: IHttpPeerChildConfig = { kind: t, targetPort: target, domain, ...(tls ? { tls } : {}) };
  return forkProxyChild(PEER_CHILD, cfg, t);
}
