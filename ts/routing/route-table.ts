/**
 * compileRoutes(): IRouteConfig[] -> a frozen, indexed RouteTable. match() is O(1) in the number
 * of routes: port bucket, then the exact-domain list, the wildcard lists of the name's suffixes,
 * globs and domain-less routes, each sorted so the first full match is that list's best.
 */
import { ConfigErrorCollector, SmartProxyConfigError, configError } from '../core/errors.js';
import type { RouteNote } from './legacy-route.js';
import type { ILogger, IRouteConfig, ISmartProxyOptions } from '../types.js';
import { compileRoute, type CompiledRoute } from './compile-route.js';
import { globMatch } from './matchers/glob.js';
import { firstSegmentHash, type PathMatch } from './matchers/path.js';
import { buildPortIndex, type Bucket, type Entry, type EntryList, type PortIndex } from './route-index.js';
import { MatchState, NO_PATH, checkRest, toResult, type MatchInput, type MatchResult } from './selection.js';
import { checkSecurity, checkTarget } from './validate-route.js';
import { isObj } from './validate-util.js';

export type { CompiledRoute } from './compile-route.js';
export type { MatchInput, MatchResult } from './selection.js';

export interface CompileOptions {
  defaults?: ISmartProxyOptions['defaults'];
  /** false when neither acme nor certProvisionFunction is configured: terminate routes then need a certificate. */
  hasCertificateProvider?: boolean;
  logger?: ILogger;
}

const EMPTY_ROUTES: readonly CompiledRoute[] = Object.freeze([]);
const state = new MatchState();

// best-so-far of one match() call (match is synchronous and not re-entrant)
let bestRoute: CompiledRoute | undefined;
let bestRank = 0;
let bestPm: PathMatch | undefined;

function scan(list: readonly Entry[] | undefined, st: MatchState, kind: 0 | 1 | 2): void {
  if (list === undefined) return;
  const domain = st.domain!;
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    if (e.rank <= bestRank) return;
    if (kind === 1) {
      // wildcard list shares a hash: confirm the suffix and the label boundary
      const s = e.suffix!;
      const dl = domain.length;
      if (dl < s.length + 2 || domain.charCodeAt(dl - s.length - 1) !== 46 || !domain.endsWith(s)) continue;
    } else if (kind === 2 && !globMatch(e.glob!, domain, 0, domain.length)) {
      continue;
    }
    const pm = e.simple ? NO_PATH : checkRest(e.route, st);
    if (pm === undefined) continue;
    bestRoute = e.route;
    bestRank = e.rank;
    bestPm = pm;
    return;
  }
}

function scanList(list: EntryList | undefined, st: MatchState, kind: 0 | 1 | 2): void {
  if (list === undefined) return;
  const path = st.input.path;
  if (list.bySeg !== undefined && st.input.phase === 'request' && path !== undefined) {
    scan(list.bySeg.get(firstSegmentHash(path)), st, kind);
    scan(list.rest, st, kind);
  } else {
    scan(list.all, st, kind);
  }
}

export class RouteTable {
  /** Enabled routes only, in declaration order. */
  readonly routes: readonly CompiledRoute[];
  /** Every port named by an enabled route, sorted, ranges expanded. */
  readonly ports: readonly number[];
  readonly #index: PortIndex;

  constructor(routes: readonly CompiledRoute[]) {
    this.routes = Object.freeze(routes.slice());
    this.#index = buildPortIndex(this.routes);
    this.ports = this.#index.ports;
    Object.freeze(this);
  }

  #bucket(port: number): Bucket | undefined {
    if (!(port >= 1 && port <= 65535)) return undefined;
    const b = this.#index.byPort[port | 0]!;
    return b < 0 ? undefined : this.#index.buckets[b];
  }

  match(input: MatchInput): MatchResult | undefined {
    const bucket = this.#bucket(input.port);
    if (bucket === undefined) return undefined;
    const st = state;
    st.reset(input);
    bestRoute = undefined;
    bestRank = 0;
    bestPm = undefined;
    const domain = st.domain;
    if (domain !== undefined) {
      scanList(bucket.exact.get(domain), st, 0);
      if (bucket.wildMaxRank > bestRank) {
        // walk the labels right to left; at each '.', h is the hash of what follows it
        let h = 0;
        for (let i = domain.length - 1; i > 0; i--) {
          const c = domain.charCodeAt(i);
          if (c === 46) scanList(bucket.wild.get(h), st, 1);
          h = (Math.imul(h, 31) + c) | 0;
        }
      }
      if (bucket.globMaxRank > bestRank) scanList(bucket.globs, st, 2);
    } else if (bucket.namelessMaxRank > bestRank) {
      scanList(bucket.nameless, st, 0);
    }
    if (bucket.plainMaxRank > bestRank) scanList(bucket.plain, st, 0);
    const route = bestRoute;
    if (route === undefined) return undefined;
    const result = toResult(route, bestPm!);
    bestRoute = undefined;
    bestPm = undefined;
    return result;
  }

  routesOnPort(port: number): readonly CompiledRoute[] {
    return this.#bucket(port)?.routes ?? EMPTY_ROUTES;
  }

  /** Some route on the port needs the first bytes: names domains or tlsVersion, is HTTP layer, or has a TLS mode. */
  portNeedsSniff(port: number): boolean {
    return this.#bucket(port)?.needsSniff ?? false;
  }

  portHasHttpRoutes(port: number): boolean {
    return this.#bucket(port)?.hasHttp ?? false;
  }

  /** Some route on this port terminates TLS (a default certificate can then serve unnamed clients). */
  portTerminatesTls(port: number): boolean {
    return this.#bucket(port)?.hasTerminating ?? false;
  }

  /** Every route on the port is an L4 forward (false for a port no route names). */
  portRelaysOnly(port: number): boolean {
    return this.#bucket(port)?.relaysOnly ?? false;
  }

  /** Some route on this port matches on request headers (callers may skip building them otherwise). */
  portHasHeaderRoutes(port: number): boolean {
    return this.#bucket(port)?.hasHeaders ?? false;
  }
}

function matchKey(r: CompiledRoute): string {
  const m = r.config.match;
  const d = r.domains;
  return JSON.stringify([
    r.priority,
    r.ports,
    d ? [[...d.exact].sort(), [...d.suffixes].sort(), d.globs.map((g) => g.parts.join('*')).sort()] : null,
    m.path ?? null,
    m.clientIp ? [...m.clientIp].sort() : null,
    m.tlsVersion ? [...m.tlsVersion].sort() : null,
    m.headers ? Object.entries(m.headers).map(([k, v]) => [k.toLowerCase(), String(v), typeof v]).sort() : null,
  ]);
}

/** Validates and compiles routes; throws SmartProxyConfigError naming the route and field. */
/**
 * Routes that can never match what their port carries: a byte-stream route (plain TCP forward or
 * socket handler, no TLS mode) that names domains other than '*' only matches clients whose
 * first bytes carry a name (TLS SNI or an HTTP Host); plain TCP clients never do.
 */
function neverMatchingWarnings(routes: readonly CompiledRoute[]): Array<{ route: string; message: string }> {
  const out: Array<{ route: string; message: string }> = [];
  for (const r of routes) {
    if (r.layer !== 'l4' || r.tlsMode !== undefined || r.domains === undefined || r.domains.onlyAny) continue;
    out.push({
      route: r.name,
      message: `routes[${r.index}] ('${r.name}') is a byte-stream route that names domains: only TLS (SNI) or HTTP (Host) clients carry a name, plain TCP clients never match it; use domains: '*' or drop domains to serve every client`,
    });
  }
  return out;
}

export function compileRoutes(routes: IRouteConfig[], options: CompileOptions = {}): RouteTable {
  if (!Array.isArray(routes)) throw configError('routes', 'must be an array of routes');
  const defaults = options.defaults;
  if (defaults !== undefined) {
    if (!isObj(defaults)) throw configError('defaults', 'must be an object');
    if (defaults.target !== undefined) checkTarget(defaults.target, 'defaults.target');
    if (defaults.security !== undefined) checkSecurity(defaults.security, 'defaults.security');
  }
  const ctx = { hasDefaultTarget: defaults?.target !== undefined, hasCertificateProvider: options.hasCertificateProvider };

  const explicit = new Map<string, number>();
  const duplicates = new ConfigErrorCollector();
  routes.forEach((r: unknown, i) => {
    const name = isObj(r) && typeof r.name === 'string' ? r.name : undefined;
    if (name === undefined) return;
    const first = explicit.get(name);
    duplicates.run(() => {
      if (first !== undefined) throw new SmartProxyConfigError('SPX_ERR_ROUTE_DUPLICATE_NAME', `routes[${i}].name`, `'${name}' is already the name of routes[${first}]`);
    });
    if (first === undefined) explicit.set(name, i);
  });
  duplicates.throwIfAny();

  const compiled: CompiledRoute[] = [];
  const seen = new Map<string, CompiledRoute>();
  const notes: RouteNote[] = [];
  // Every route's problems are reported in one throw (error.errors), not one per run.
  const problems = new ConfigErrorCollector();
  routes.forEach((raw: unknown, i) => {
    let name = isObj(raw) && typeof raw.name === 'string' ? raw.name : `route-${i}`;
    if (!(isObj(raw) && typeof raw.name === 'string')) for (let n = 2; explicit.has(name); n++) name = `route-${i}-${n}`;
    problems.run(() => {
      const route = compileRoute(raw, i, name, ctx, defaults, notes);
      if (route.config.enabled === false) return;
      const key = matchKey(route);
      const twin = seen.get(key);
      if (twin !== undefined) {
        options.logger?.warn(
          { route: route.name, other: twin.name },
          `routes[${i}] ('${route.name}') has the same match and priority as routes[${twin.index}] ('${twin.name}'); it is only chosen when that one is not`,
        );
      } else {
        seen.set(key, route);
      }
      compiled.push(route);
    });
  });
  problems.throwIfAny();
  for (const n of notes) options.logger?.warn({ field: n.path }, `${n.path}: ${n.message}`);
  for (const w of neverMatchingWarnings(compiled)) options.logger?.warn({ route: w.route }, w.message);
  return new RouteTable(compiled);
}
