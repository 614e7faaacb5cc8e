/**
 * One IRouteConfig -> one frozen CompiledRoute: defaults applied, shape checked, every matcher
 * compiled, specificity and handling layer precomputed.
 */
import type { IRouteConfig, IRouteSecurity, IRouteTarget, TlsMode } from '../types.js';
import { compileDomainMatcher, type DomainMatcher } from './matchers/domain.js';
import { compileHeaderMatcher, type HeaderMatcher } from './matchers/header.js';
import { compileIpMatcher, type IpMatcher, type ParsedIpMatcher } from './matchers/ip.js';
import { compilePathPattern, type PathPattern } from './matchers/path.js';
import { compilePorts, type PortRanges } from './matchers/port.js';
import type { SecureVersion } from 'node:tls';
import { compileTlsVersions, tlsVersionRange } from './matchers/tls-version.js';
import { checkRouteShape, type RouteCheckContext } from './validate-route.js';
import { normalizeLegacyRoute, type RouteNote } from './legacy-route.js';

export interface CompiledRoute {
  /** Position in the routes array given (disabled ones counted). */
  readonly index: number;
  /** Explicit name, or `route-<index>`. */
  readonly name: string;
  /** The user's route with defaults applied, deep-frozen (functions and RegExps kept as they are). */
  readonly config: Readonly<IRouteConfig>;
  readonly priority: number;
  readonly layer: 'l4' | 'http';
  readonly tlsMode: TlsMode | undefined;
  readonly needsDomain: boolean;
  readonly allowIp: IpMatcher | undefined;
  readonly blockIp: IpMatcher | undefined;
  /** security.maxConnections (defaults applied); 0 = unlimited. */
  readonly maxConnections: number;
  /** security.maxConnectionsPerIP: one client IP's open connections on this route; 0 = unlimited. */
  readonly maxConnectionsPerIP: number;
  /** Sorted, merged inclusive port ranges. */
  readonly ports: PortRanges;
  readonly domains: DomainMatcher | undefined;
  readonly path: PathPattern | undefined;
  readonly clientIp: ParsedIpMatcher | undefined;
  readonly tlsVersions: readonly string[] | undefined;
  /** action.tls.versions of a terminating route: what its handshakes may negotiate. */
  readonly tlsVersionRange: { readonly min: SecureVersion; readonly max: SecureVersion } | undefined;
  readonly headers: HeaderMatcher | undefined;
  /** Literal length of the path pattern, -1 without a path. */
  readonly pathLiteralLength: number;
  /** Number of criteria besides ports (each header counts once). */
  readonly criteriaCount: number;
  /** The route needs the first bytes of a connection (a domain other than `'*'`, TLS version, HTTP layer or a TLS mode). */
  readonly needsSniff: boolean;
}

export interface RouteDefaults {
  target?: IRouteTarget;
  security?: IRouteSecurity;
}

/** Deep copy and freeze plain data; functions and RegExps are kept by reference. */
export function deepFreezeCopy<T>(v: T): T {
  if (v === null || typeof v !== 'object' || v instanceof RegExp) return v;
  if (Array.isArray(v)) return Object.freeze(v.map((x: unknown) => deepFreezeCopy(x))) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = deepFreezeCopy(x);
  return Object.freeze(out) as T;
}

function layerOf(r: IRouteConfig): 'l4' | 'http' {
  const a = r.action;
  // the handler owns the raw socket; with protocol 'http' each request is routed first and a match hands the connection over
  if (a.type === 'socket-handler') return a.protocol === 'http' ? 'http' : 'l4';
  if (a.protocol === 'tcp') return 'l4';
  if (a.protocol === 'http') return 'http';
  const mode = a.tls?.mode;
  if (mode === 'passthrough') return 'l4';
  if (mode === 'terminate' || mode === 'terminate-and-reencrypt') return 'http';
  const m = r.match;
  const s = r.security;
  const httpy =
    m.domains !== undefined ||
    m.path !== undefined ||
    m.headers !== undefined ||
    a.headers !== undefined ||
    a.websocket !== undefined ||
    a.target?.path !== undefined ||
    s?.basicAuth !== undefined ||
    s?.rateLimit !== undefined ||
    s?.jwtAuth !== undefined;
  return httpy ? 'http' : 'l4';
}

export function compileRoute(
  input: unknown,
  index: number,
  name: string,
  ctx: RouteCheckContext,
  defaults: RouteDefaults | undefined,
  notes?: RouteNote[],
): CompiledRoute {
  const path = `routes[${index}]`;
  // 19.x fields are mapped (or dropped with a note) before the route is validated.
  const legacy = normalizeLegacyRoute(input, path);
  notes?.push(...legacy.notes);
  const raw = legacy.route;
  checkRouteShape(raw, path, ctx);
  const given = raw as IRouteConfig;
  const withDefaults: IRouteConfig = { ...given, action: { ...given.action } };
  if (withDefaults.action.type === 'forward' && withDefaults.action.target === undefined && defaults?.target) {
    withDefaults.action.target = defaults.target;
  }
  if (defaults?.security) withDefaults.security = { ...defaults.security, ...given.security };
  if ((withDefaults.action.sendProxyProtocol as unknown) === true) withDefaults.action.sendProxyProtocol = 'v1';
  const config = deepFreezeCopy(withDefaults);
  const m = config.match;

  const ports = compilePorts(m.ports, `${path}.match.ports`);
  const domains = m.domains !== undefined ? compileDomainMatcher(m.domains, `${path}.match.domains`) : undefined;
  const pathPattern = m.path !== undefined ? compilePathPattern(m.path, `${path}.match.path`) : undefined;
  const clientIp = m.clientIp !== undefined ? compileIpMatcher(m.clientIp, `${path}.match.clientIp`) : undefined;
  const tlsVersions = m.tlsVersion !== undefined ? compileTlsVersions(m.tlsVersion, `${path}.match.tlsVersion`) : undefined;
  const headers = m.headers !== undefined ? compileHeaderMatcher(m.headers, `${path}.match.headers`) : undefined;
  const sec = config.security;
  const allowIp = sec?.ipAllowList !== undefined ? compileIpMatcher(sec.ipAllowList, `${path}.security.ipAllowList`) : undefined;
  const blockIp = sec?.ipBlockList !== undefined ? compileIpMatcher(sec.ipBlockList, `${path}.security.ipBlockList`) : undefined;

  const layer = layerOf(config);
  const tlsMode = config.action.tls?.mode;
  const versions = config.action.tls?.versions;
  const terminates = tlsMode === 'terminate' || tlsMode === 'terminate-and-reencrypt';
  const range = versions !== undefined && terminates ? tlsVersionRange(compileTlsVersions(versions, `${path}.action.tls.versions`)) : undefined;
  const criteriaCount =
    (domains ? 1 : 0) + (pathPattern ? 1 : 0) + (clientIp ? 1 : 0) + (tlsVersions ? 1 : 0) + (headers ? headers.count : 0);
  return Object.freeze({
    index,
    name,
    config,
    priority: config.priority ?? 0,
    layer,
    tlsMode,
    needsDomain: domains !== undefined,
    allowIp,
    blockIp,
    maxConnections: sec?.maxConnections ?? 0,
    maxConnectionsPerIP: sec?.maxConnectionsPerIP ?? 0,
    ports,
    domains,
    path: pathPattern,
    clientIp,
    tlsVersions,
    tlsVersionRange: range === undefined ? undefined : Object.freeze(range),
    headers,
    pathLiteralLength: pathPattern ? pathPattern.literalLength : -1,
    criteriaCount,
    // `'*'` alone names no domain to wait for: an L4 route with it connects at once.
    needsSniff: (domains !== undefined && !domains.onlyAny) || tlsVersions !== undefined || layer === 'http' || tlsMode !== undefined,
  });
}
