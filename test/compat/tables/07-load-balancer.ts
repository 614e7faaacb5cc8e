/**
 * Kind 7 — `createLoadBalancerRoute(domains, hosts, port, { tls, healthCheck })` and the same
 * thing written by hand with `action.loadBalancing`, as a 19.6 user writes them.
 *
 * Shapes and sources:
 * - `createLoadBalancerRoute(domains: string | string[], hosts: string[], port: number, options: {
 *   tls?: { mode, certificate? }; [key: string]: any })`: listens on `options.match.ports`, else 443
 *   with `tls`, else 80; target `{ host: hosts, port }`; `action.tls` from `options.tls` [from
 *   memory of 19.x route-helpers.ts; the name and the (domains, hosts[], port, options) form are in
 *   the dossier §2e; the 21.x route-patterns variant has another arity]. `healthCheck` passed the
 *   way the issue reports users pass it (`{ tls, healthCheck }`).
 * - `action.loadBalancing: { algorithm: 'round-robin' | 'least-connections' | 'ip-hash';
 *   healthCheck?: { path, interval, timeout, unhealthyThreshold, healthyThreshold } }` (ms):
 *   dossier §2c [field list unverified]; `target.host: string[]`: dossier §2c (confirmed).
 */
import { createLoadBalancerRoute, type IRouteConfig, type ISmartProxyOptions } from '../../../ts/index.js';

export interface LoadBalancerEnv {
  /** The helper route's port (443 in production). */
  lbPort: number;
  /** The hand-written route's port. */
  manualPort: number;
  /** Both backends listen on this port, one on 127.0.0.1 and one on 127.0.0.2. */
  backendPort: number;
  cert: { key: string; cert: string };
}

const healthCheck = {
  path: '/health',
  interval: 1000,
  timeout: 500,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
};

export function loadBalancerRoutes(env: LoadBalancerEnv): IRouteConfig[] {
  return [
    createLoadBalancerRoute(['lb.test'], ['127.0.0.1', '127.0.0.2'], env.backendPort, {
      name: 'lb-helper',
      match: { ports: env.lbPort, domains: ['lb.test'] },
      tls: { mode: 'terminate', certificate: { key: env.cert.key, cert: env.cert.cert } },
      healthCheck,
    }),
    {
      name: 'lb-manual',
      match: { ports: env.manualPort, domains: ['lb.test'] },
      action: {
        type: 'forward',
        target: { host: ['127.0.0.1', '127.0.0.2'], port: env.backendPort },
        tls: { mode: 'terminate', certificate: { key: env.cert.key, cert: env.cert.cert } },
        loadBalancing: { algorithm: 'round-robin', healthCheck },
      },
    },
  ];
}

export function loadBalancerOptions(env: LoadBalancerEnv): ISmartProxyOptions {
  return { routes: loadBalancerRoutes(env) };
}

/** The 19.6 default port, never started: with `tls` the helper listens on 443 and terminates. */
export const lbDefaultPort = createLoadBalancerRoute('lb.test', ['10.0.0.1', '10.0.0.2'], 8080, {
  tls: { mode: 'terminate', certificate: 'auto' },
});
