/**
 * Kind 6 — `createCompleteHttpsServer`, written as a 19.6 user writes it: one call, an HTTPS
 * terminating route plus its HTTP -> HTTPS redirect.
 *
 * Shapes and sources:
 * - `createCompleteHttpsServer(domains, target, options: { certificate?: 'auto' | { key, cert },
 *   httpPort?, httpsPort?, reencrypt?, name? }): IRouteConfig[]` = `[httpsTerminateRoute,
 *   createHttpToHttpsRedirect(domains, httpsPort, { match: { ports: httpPort } })]`: dossier §2e
 *   (name and result confirmed: unpkg 21.1.3 dist_ts/forwarding/config/index.d.ts re-exports it)
 *   [option names from memory of 19.x route-helpers.ts, unverified in a stored copy].
 * - Redirect Location `https://{domain}:${httpsPort}{path}`: see 05-redirects.ts.
 */
import { createCompleteHttpsServer, type IRouteConfig, type ISmartProxyOptions } from '../../../ts/index.js';

export interface CompleteHttpsEnv {
  httpPort: number;
  httpsPort: number;
  backendPort: number;
  cert: { key: string; cert: string };
}

export function completeHttpsRoutes(env: CompleteHttpsEnv): IRouteConfig[] {
  return createCompleteHttpsServer(
    ['shop.test', 'www.shop.test'],
    { host: '127.0.0.1', port: env.backendPort },
    {
      certificate: { key: env.cert.key, cert: env.cert.cert },
      httpPort: env.httpPort,
      httpsPort: env.httpsPort,
    },
  );
}

export function completeHttpsOptions(env: CompleteHttpsEnv): ISmartProxyOptions {
  return { routes: completeHttpsRoutes(env) };
}
