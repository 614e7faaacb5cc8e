/**
 * The internal route that answers HTTP-01 challenges on `acme.port`. It is appended after the
 * user's routes (so their `route-<index>` names do not move), carries a reserved name, the
 * highest priority and a path, and is handled at the HTTP level: on a port shared with user
 * routes each request is routed on its own, challenge paths reach this route first and every
 * other request goes to the user's routes as before (or gets 404 when none matches).
 */
import { configError } from '../core/errors.js';
import type { IRouteConfig } from '../types.js';
import { CHALLENGE_PATH_PREFIX, type ChallengeStore } from './challenge-store.js';

export const ACME_CHALLENGE_ROUTE_NAME = 'smartproxy:acme-challenge';

/** Above any priority a user route can sensibly carry (a tie still goes to a user route naming a domain). */
const CHALLENGE_PRIORITY = Number.MAX_VALUE;

export function createChallengeRoute(port: number, store: ChallengeStore): IRouteConfig {
  return {
    name: ACME_CHALLENGE_ROUTE_NAME,
    priority: CHALLENGE_PRIORITY,
    match: { ports: port, path: `${CHALLENGE_PATH_PREFIX}*` },
    action: { type: 'socket-handler', protocol: 'http', socketHandler: store.handler },
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An enabled route terminating TLS with `certificate: 'auto'` (or none given, which means the same). */
export function usesAutoCertificate(route: unknown): boolean {
  if (!isObj(route) || route.enabled === false || !isObj(route.action)) return false;
  const tls = route.action.tls;
  if (!isObj(tls) || (tls.mode !== 'terminate' && tls.mode !== 'terminate-and-reencrypt')) return false;
  return tls.certificate === undefined || tls.certificate === 'auto';
}

/**
 * The user's routes plus the challenge route when any of them needs an ACME certificate.
 * Throws SmartProxyConfigError when a user route takes the reserved name.
 */
export function withChallengeRoute(routes: IRouteConfig[], challengeRoute: IRouteConfig | undefined): IRouteConfig[] {
  if (challengeRoute === undefined || !Array.isArray(routes)) return routes;
  routes.forEach((r: unknown, i) => {
    if (isObj(r) && r.name === ACME_CHALLENGE_ROUTE_NAME) throw configError(`routes[${i}].name`, `'${ACME_CHALLENGE_ROUTE_NAME}' is reserved for the ACME challenge route`);
  });
  return routes.some(usesAutoCertificate) ? [...routes, challengeRoute] : routes;
}
