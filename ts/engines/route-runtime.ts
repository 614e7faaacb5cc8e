/**
 * Per-route runtime state built once per compiled route and shared by the L4 and HTTP paths:
 * the target selector (load balancing state), compiled header rules, auth and rate limiter.
 * Keyed weakly by the compiled route, so a replaced route table takes its state with it.
 */
import type { CompiledRoute } from '../routing/index.js';
import { TargetSelector } from '../forwarding/target-selector.js';
import { compileHeaderRules, type HeaderRules } from './http/headers.js';
import { BasicAuth, RateLimiter } from './http/request-guards.js';
import { JwtAuth } from './http/jwt-auth.js';
import { compilePathPattern, type PathPattern } from '../routing/index.js';
import { compilePathRewrite, type PathRewrite } from './http/path-rewrite.js';

export interface RouteRuntime {
  readonly selector: TargetSelector;
  readonly requestHeaders: HeaderRules | undefined;
  readonly responseHeaders: HeaderRules | undefined;
  readonly basicAuth: BasicAuth | undefined;
  /** basicAuth.excludePaths: paths that need no credentials. */
  readonly basicAuthExempt: readonly PathPattern[];
  readonly jwtAuth: JwtAuth | undefined;
  /** jwtAuth.excludePaths: paths that need no token. */
  readonly jwtAuthExempt: readonly PathPattern[];
  readonly rateLimiter: RateLimiter | undefined;
  readonly pathRewrite: PathRewrite | undefined;
}

const cache = new WeakMap<CompiledRoute, RouteRuntime>();

/**
 * Housekeeping of the live table's runtime state (on the shared ticker): expired rate-limit
 * windows go, so idle keys never pile up between requests.
 */
export function pruneRouteRuntimes(routes: readonly CompiledRoute[], now: number): void {
  for (const route of routes) cache.get(route)?.rateLimiter?.prune(now);
}

export function routeRuntime(route: CompiledRoute): RouteRuntime {
  let rt = cache.get(route);
  if (!rt) {
    const { action, security } = route.config;
    rt = {
      selector: new TargetSelector(action),
      requestHeaders: compileHeaderRules(action.headers?.request),
      responseHeaders: compileHeaderRules(action.headers?.response),
      basicAuth: security?.basicAuth ? new BasicAuth(security.basicAuth) : undefined,
      basicAuthExempt: (security?.basicAuth?.excludePaths ?? []).map((p) => compilePathPattern(p)),
      jwtAuth: security?.jwtAuth ? new JwtAuth(security.jwtAuth) : undefined,
      jwtAuthExempt: (security?.jwtAuth?.excludePaths ?? []).map((p) => compilePathPattern(p)),
      rateLimiter: security?.rateLimit ? new RateLimiter(security.rateLimit) : undefined,
      pathRewrite: action.target?.path !== undefined ? compilePathRewrite(action.target.path) : undefined,
    };
    cache.set(route, rt);
  }
  return rt;
}
