/**
 * The index behind RouteTable.match: port -> bucket (a 64 Ki Int32Array), then inside a bucket
 * exact domains (hash map), `*.suffix` wildcards (map keyed by a hash of the suffix, walked label
 * by label from the right without allocating), other globs and domain-less routes. Each list is
 * sorted by the selection rule, so the first full match of a list is that list's best.
 */
import type { CompiledRoute } from './compile-route.js';
import { DOMAIN_SCORE_EXACT, DOMAIN_SCORE_NONE, DOMAIN_SCORE_WILDCARD } from './matchers/domain.js';
import type { Glob } from './matchers/glob.js';
import { compareRoutes } from './selection.js';

export interface Entry {
  readonly route: CompiledRoute;
  readonly domainScore: number;
  /** For wildcard entries: the suffix after `*.`. */
  readonly suffix: string | undefined;
  /** For glob entries. */
  readonly glob: Glob | undefined;
}

export interface Bucket {
  readonly routes: readonly CompiledRoute[];
  readonly exact: ReadonlyMap<string, readonly Entry[]>;
  readonly wild: ReadonlyMap<number, readonly Entry[]>;
  readonly globs: readonly Entry[];
  readonly plain: readonly Entry[];
  readonly needsSniff: boolean;
  readonly hasHttp: boolean;
}

/** Hash of s read from its end, as the matcher computes it while walking a name right to left. */
export function hashSuffix(s: string): number {
  let h = 0;
  for (let i = s.length - 1; i >= 0; i--) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

function byRule(a: Entry, b: Entry): number {
  return compareRoutes(b.route, b.domainScore, a.route, a.domainScore);
}

function push<K>(map: Map<K, Entry[]>, key: K, e: Entry): void {
  const list = map.get(key);
  if (list) list.push(e);
  else map.set(key, [e]);
}

function buildBucket(routes: CompiledRoute[]): Bucket {
  const exact = new Map<string, Entry[]>();
  const wild = new Map<number, Entry[]>();
  const globs: Entry[] = [];
  const plain: Entry[] = [];
  for (const route of routes) {
    const d = route.domains;
    if (d === undefined) {
      plain.push({ route, domainScore: DOMAIN_SCORE_NONE, suffix: undefined, glob: undefined });
      continue;
    }
    for (const name of new Set(d.exact)) push(exact, name, { route, domainScore: DOMAIN_SCORE_EXACT + name.length, suffix: undefined, glob: undefined });
    for (const suffix of new Set(d.suffixes)) {
      push(wild, hashSuffix(suffix), { route, domainScore: DOMAIN_SCORE_WILDCARD + suffix.length + 1, suffix, glob: undefined });
    }
    for (const glob of d.globs) globs.push({ route, domainScore: DOMAIN_SCORE_WILDCARD + glob.literalLength, suffix: undefined, glob });
  }
  for (const list of exact.values()) list.sort(byRule);
  for (const list of wild.values()) list.sort(byRule);
  globs.sort(byRule);
  plain.sort(byRule);
  return {
    routes: Object.freeze(routes.slice()),
    exact,
    wild,
    globs,
    plain,
    needsSniff: routes.some((r) => r.needsSniff),
    hasHttp: routes.some((r) => r.layer === 'http'),
  };
}

export interface PortIndex {
  /** port -> bucket number, -1 when no route names the port. */
  readonly byPort: Int32Array;
  readonly buckets: readonly Bucket[];
  readonly ports: readonly number[];
}

/** Sweeps the port ranges: ports covered by the same set of routes share one bucket. */
export function buildPortIndex(routes: readonly CompiledRoute[]): PortIndex {
  const byPort = new Int32Array(65536).fill(-1);
  const starts = new Map<number, CompiledRoute[]>();
  const ends = new Map<number, CompiledRoute[]>();
  const boundaries = new Set<number>();
  for (const r of routes) {
    for (const [from, to] of r.ports) {
      (starts.get(from) ?? starts.set(from, []).get(from)!).push(r);
      (ends.get(to + 1) ?? ends.set(to + 1, []).get(to + 1)!).push(r);
      boundaries.add(from);
      boundaries.add(to + 1);
    }
  }
  const points = [...boundaries].sort((a, b) => a - b);
  const active = new Set<CompiledRoute>(); // a route's own ranges are merged, so they never overlap
  const buckets: Bucket[] = [];
  const ports: number[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    for (const r of ends.get(p) ?? []) active.delete(r);
    for (const r of starts.get(p) ?? []) active.add(r);
    if (active.size === 0 || i + 1 >= points.length) continue;
    const next = points[i + 1]!;
    const members = [...active].sort((a, b) => a.index - b.index);
    const bucketNo = buckets.length;
    buckets.push(buildBucket(members));
    byPort.fill(bucketNo, p, next);
    for (let port = p; port < next; port++) ports.push(port);
  }
  return { byPort, buckets, ports: Object.freeze(ports) };
}

