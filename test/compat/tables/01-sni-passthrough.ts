/**
 * Kind 1 — SNI passthrough, written as a @push.rocks/smartproxy 19.6 user writes it.
 *
 * Shapes and sources:
 * - Route model `{ name, match: { ports, domains }, action: { type: 'forward', target: { host, port },
 *   tls: { mode: 'passthrough' } } }`: 19.6.2 readme.websocket-keepalive-config.md (in the published
 *   19.6.2 -> 19.6.7 diff, ../shared/reference/000_9e1d941f8d13e201.txt) and route-types.ts head
 *   (unpkg @push.rocks/smartproxy@21.1.3 ts/proxies/smart-proxy/models/route-types.ts: TTlsMode,
 *   TPortRange, IRouteMatch.domains).
 * - `createHttpsPassthroughRoute(domains, target, options?: Partial<IRouteConfig>)`: unpkg 21.1.3
 *   dist_ts/proxies/smart-proxy/utils/route-patterns.d.ts (same name and signature as the 19.x
 *   route-helpers export). 19.x takes the listening port from `options.match.ports` (default 443)
 *   and spreads the rest of `options` over the route [helper body from memory of 19.5/19.6
 *   route-helpers.ts, unverified]; `match.domains` is repeated in `options.match` so the route is the
 *   same whichever way the helper merges.
 * - Route fields `id`, `description`, `tags`, `priority`: dossier §2a (`priority` confirmed; `id`
 *   [unverified in 19.6], present as `routeId` in IRouteContext).
 */
import { createHttpsPassthroughRoute, type IRouteConfig, type ISmartProxyOptions } from '../../../ts/index.js';

export interface SniPassthroughEnv {
  /** The port the proxy listens on (443 in production). */
  port: number;
  /** TLS backend for a.sni.test (its own certificate; the proxy never decrypts). */
  backendA: number;
  /** TLS backend for *.wild.test. */
  backendB: number;
}

export function sniPassthroughRoutes(env: SniPassthroughEnv): IRouteConfig[] {
  return [
    createHttpsPassthroughRoute(
      'a.sni.test',
      { host: '127.0.0.1', port: env.backendA },
      {
        name: 'sni-a',
        id: 'sni-a-id',
        description: 'a.sni.test straight to its TLS backend',
        tags: ['passthrough', 'sni'],
        priority: 10,
        match: { ports: env.port, domains: 'a.sni.test' },
      },
    ),
    {
      name: 'sni-wildcard',
      description: 'every subdomain of wild.test',
      tags: ['passthrough'],
      match: { ports: env.port, domains: ['*.wild.test'] },
      action: {
        type: 'forward',
        target: { host: '127.0.0.1', port: env.backendB },
        tls: { mode: 'passthrough' },
      },
    },
  ];
}

export function sniPassthroughOptions(env: SniPassthroughEnv): ISmartProxyOptions {
  return {
    routes: sniPassthroughRoutes(env),
    // 19.6 defaults written out, as many 19.x configs do
    initialDataTimeout: 60_000,
    allowSessionTicket: true,
  };
}
