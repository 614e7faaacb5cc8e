/**
 * Kind 5 — redirects, written as a 19.6 user writes them: `createHttpToHttpsRedirect(domains,
 * httpsPort, options)` (positional, 19.6), the object form of this package
 * (`createHttpToHttpsRedirect(domains, { port, httpsPort })`, api-contract.md), and a
 * `SocketHandlers.httpRedirect(template, status)` route.
 *
 * Shapes and sources:
 * - `createHttpToHttpsRedirect(domains: string | string[], httpsPort = 443, options:
 *   Partial<IRouteConfig> = {})`: a port-80 (`options.match.ports`, default 80) socket-handler route
 *   answering 301 with `Location: https://{domain}:${httpsPort}{path}` through
 *   `SocketHandlers.httpRedirect` [from memory of 19.5/19.6 route-helpers.ts; the name and its
 *   re-export are confirmed by unpkg 21.1.3 dist_ts/forwarding/config/index.d.ts; the stored
 *   route-patterns.d.ts is cut off right at "Create an HTTP to HTTPS redirect route"]. `domains` is
 *   repeated in `options.match` so the route is the same whichever way the helper merges options.
 * - `createHttpsTerminateRoute(domains, target, { certificate, httpsPort, name })` (19.x options
 *   `certificate`, `httpPort`, `httpsPort`, `reencrypt`, `name`) [from memory of 19.x
 *   route-helpers.ts; unpkg 21.1.3 route-patterns.d.ts confirms `certificate` and `reencrypt`].
 * - `SocketHandlers.httpRedirect(locationTemplate, statusCode = 301)`, template variables
 *   `{domain}`, `{port}`, `{path}` (the request target, query included), `{clientIp}` [from memory
 *   of 19.5/19.6 route-helpers.ts]; 'redirect' as an action type was removed in 19.5 (readme.plan2.md
 *   at tag v19.5.4), so a redirect is always a socket-handler route.
 */
import {
  SocketHandlers,
  createHttpToHttpsRedirect,
  createHttpsTerminateRoute,
  type IRouteConfig,
  type ISmartProxyOptions,
} from '../../../ts/index.js';

export interface RedirectEnv {
  /** Where the positional-form redirect listens (80 in production). */
  httpPort: number;
  /** Where the object-form redirect listens. */
  objectPort: number;
  /** The SocketHandlers.httpRedirect route. */
  handlerPort: number;
  /** The HTTPS port the redirects point at (443 in production). */
  httpsPort: number;
  backendPort: number;
  cert: { key: string; cert: string };
}

export function redirectRoutes(env: RedirectEnv): IRouteConfig[] {
  return [
    createHttpToHttpsRedirect(['app.redirect.test'], env.httpsPort, {
      name: 'redirect-positional',
      match: { ports: env.httpPort, domains: ['app.redirect.test'] },
    }),
    createHttpToHttpsRedirect('obj.redirect.test', { port: env.objectPort, httpsPort: env.httpsPort }),
    {
      name: 'redirect-handler',
      match: { ports: env.handlerPort },
      action: { type: 'socket-handler', socketHandler: SocketHandlers.httpRedirect('https://{domain}{path}', 302) },
    },
    createHttpsTerminateRoute(
      ['app.redirect.test', 'obj.redirect.test'],
      { host: '127.0.0.1', port: env.backendPort },
      {
        name: 'redirect-target',
        certificate: { key: env.cert.key, cert: env.cert.cert },
        httpsPort: env.httpsPort,
      },
    ),
  ];
}

export function redirectOptions(env: RedirectEnv): ISmartProxyOptions {
  return { routes: redirectRoutes(env) };
}

/** The 19.6 defaults, never started: a redirect to 8443 still listens on port 80. */
export const redirectTo8443 = createHttpToHttpsRedirect('app.redirect.test', 8443);
