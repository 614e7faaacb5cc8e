/**
 * The selection rule, in one place, used by the indexed table and the reference linear scan:
 * every given criterion must match; then highest priority; then specificity (domain: exact over
 * wildcard over none, longer literal first; then longer literal path; then more criteria);
 * then declaration order.
 */
import type { CompiledRoute } from './compile-route.js';
import { DOMAIN_SCORE_NONE, normalizeDomain } from './matchers/domain.js';
import { IP_INVALID, parseIp } from '../core/ip.js';
import type { PathMatch } from './matchers/path.js';
import { portsMatch } from './matchers/port.js';

export interface MatchInput {
  port: number;
  /** Plain form or IPv4-mapped IPv6; both match alike. */
  clientIp: string;
  /** SNI or Host without port; any case, maybe a trailing dot. */
  domain?: string;
  /** 'TLSv1.2' | 'TLSv1.3' */
  tlsVersion?: string;
  /** Request path; a `?query` suffix is ignored. */
  path?: string;
  /** Lower-case names, as node gives them. */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * 'connection': the L4 decision before HTTP; path and header criteria are not evaluated (they
   * count as matching). 'request': everything applies.
   */
  phase: 'connection' | 'request';
  /**
   * Request phase: the request came over TLS this proxy terminated (true) or in plain text
   * (false). A plain request never matches a terminating route (its port's TLS would be
   * bypassed). Undefined: not checked.
   */
  secure?: boolean;
}

export interface MatchResult {
  route: CompiledRoute;
  params: Readonly<Record<string, string>> | undefined;
  remainder: string | undefined;
}

/** > 0 when route a (matched with domain score da) is preferred over b (db). */
export function compareRoutes(a: CompiledRoute, da: number, b: CompiledRoute, db: number): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? 1 : -1;
  if (da !== db) return da - db;
  if (a.pathLiteralLength !== b.pathLiteralLength) return a.pathLiteralLength - b.pathLiteralLength;
  if (a.criteriaCount !== b.criteriaCount) return a.criteriaCount - b.criteriaCount;
  return b.index - a.index;
}

const NOT_PARSED = -3;

/** Per-call state; one instance reused (matching is synchronous). */
export class MatchState {
  input!: MatchInput;
  domain: string | undefined;
  private v4 = NOT_PARSED;
  readonly v6 = new Uint16Array(8);

  reset(input: MatchInput): void {
    this.input = input;
    this.domain = input.domain === undefined ? undefined : normalizeDomain(input.domain);
    this.v4 = NOT_PARSED;
  }

  ip(): number {
    if (this.v4 === NOT_PARSED) this.v4 = parseIp(this.input.clientIp, this.v6);
    return this.v4;
  }
}

export const NO_PATH: PathMatch = Object.freeze({ params: undefined, remainder: '' });

/**
 * Checks the criteria other than port and domain. Returns the path match (NO_PATH when no path
 * was evaluated), or undefined when a criterion fails.
 */
export function checkRest(r: CompiledRoute, st: MatchState): PathMatch | undefined {
  const input = st.input;
  if (r.tlsVersions !== undefined && (input.tlsVersion === undefined || !r.tlsVersions.includes(input.tlsVersion))) return undefined;
  if (r.clientIp !== undefined) {
    const v4 = st.ip();
    if (v4 === IP_INVALID || !r.clientIp.matchesParsed(v4, st.v6)) return undefined;
  }
  if (input.phase !== 'request') return NO_PATH;
  if (input.secure === false && (r.tlsMode === 'terminate' || r.tlsMode === 'terminate-and-reencrypt')) return undefined;
  if (r.headers !== undefined && !r.headers.matches(input.headers)) return undefined;
  if (r.path === undefined) return NO_PATH;
  if (input.path === undefined) return undefined;
  return r.path.match(input.path);
}

export function toResult(route: CompiledRoute, pm: PathMatch): MatchResult {
  if (pm === NO_PATH || route.path === undefined) return { route, params: undefined, remainder: undefined };
  return { route, params: pm.params, remainder: pm.remainder };
}

const linearState = new MatchState();

/** Reference implementation: evaluates every route. Used by tests and the benchmark baseline. */
export function linearMatch(routes: readonly CompiledRoute[], input: MatchInput): MatchResult | undefined {
  const st = linearState;
  st.reset(input);
  let best: CompiledRoute | undefined;
  let bestScore = 0;
  let bestPm: PathMatch = NO_PATH;
  for (const r of routes) {
    if (!portsMatch(r.ports, input.port)) continue;
    let score = DOMAIN_SCORE_NONE;
    if (r.domains !== undefined) {
      if (st.domain === undefined) {
        // `'*'` matches a connection without a name too (at no domain specificity).
        if (!r.domains.anyName) continue;
      } else {
        score = r.domains.score(st.domain);
        if (score < 0) continue;
      }
    }
    if (best !== undefined && compareRoutes(r, score, best, bestScore) <= 0) continue;
    const pm = checkRest(r, st);
    if (pm === undefined) continue;
    best = r;
    bestScore = score;
    bestPm = pm;
  }
  return best === undefined ? undefined : toResult(best, bestPm);
}
