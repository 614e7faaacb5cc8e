/**
 * The index behind RouteTable.match: port -> bucket (a 64 Ki Int32Array), then inside a bucket
 * exact domains (hash map), `*.suffix` wildcards (map keyed by a hash of the suffix, walked label
 * by label from the right without allocating), other globs and domain-less routes. Each list is
 * sorted by the selection rule, so the first full match of a list is that list's best.
 */
import type { CompiledRoute } from './compile-route.js';
import { DOMAIN_SCORE_EXACT, DOMAIN_SCORE_NONE, DOMAIN_SCORE_WILDCARD } from './matchers/domain.js';
import type { Glob } from './matchers/glob.js';
import { hashSegment } from './matchers/path.js';
import { compareRoutes } from './selection.js';

export interface Entry {
  readonly route: CompiledRoute;
  readonly domainScore: number;
  /** For wildcard entries: the suffix after `*.`. */
  readonly suffix: string | undefined;
  /** For glob entries. */
  readonly glob: Glob | undefined;
  /** Position in the bucket's total order by the selection rule (higher wins): one compare, no route lookups. */
  rank: number;
  /** No criterion besides port and domain: nothing else to check. */
  readonly simple: boolean;
}

/**
 * A sorted candidate list. For request-phase lookups in long lists, `bySeg` splits the entries
 * whose path starts with a literal segment by a hash of that segment; `rest` holds the others
 * (no path, or a parameter/glob first). Connection-phase lookups ignore paths and use `all`.
 */
export interface EntryList {
  readonly all: readonly Entry[];
  readonly bySeg: ReadonlyMap<number, readonly Entry[]> | undefined;
  readonly rest: readonly Entry[];
}

export interface Bucket {
  readonly routes: readonly CompiledRoute[];
  readonly exact: ReadonlyMap<string, EntryList>;
  readonly wild: ReadonlyMap<number, EntryList>;
  readonly globs: EntryList;
  readonly plain: EntryList;
  /** Routes that match a connection without a name although they name domains (`'*'`). */
  readonly nameless: EntryList;
  readonly needsSniff: boolean;
  readonly hasHttp: boolean;
  /** Some route on the port terminates TLS. */
  readonly hasTerminating: boolean;
  /** Every route on the port is an L4 forward (plain, or TLS passthrough): no bytes are read in JS beyond the first. */
  readonly relaysOnly: boolean;
  /** Some route on the port matches on request headers. */
  readonly hasHeaders: boolean;
  /** Highest rank among wildcard / glob / domain-less entries: a better match found earlier skips them. */
  readonly wildMaxRank: number;
  readonly globMaxRank: number;
  readonly plainMaxRank: number;
  readonly namelessMaxRank: number;
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

function entry(route: CompiledRoute, domainScore: number, suffix: string | undefined, glob: Glob | undefined): Entry {
  // a terminating route is never simple: a plain request must not match it (checkRest, `secure`)
  const terminates = route.tlsMode === 'terminate' || route.tlsMode === 'terminate-and-reencrypt';
  const simple = route.path === undefined && route.headers === undefined && route.clientIp === undefined && route.tlsVersions === undefined && !terminates;
  return { route, domainScore, suffix, glob, rank: 0, simple };
}

/** Lists at least this long get the first-path-segment split. */
const SPLIT_AT = 6;

function toList(entries: Entry[]): EntryList {
  entries.sort(byRule);
  const keyed = entries.filter((e) => e.route.path?.firstSegment !== undefined);
  if (entries.length < SPLIT_AT || keyed.length === 0) return { all: entries, bySeg: undefined, rest: entries };
  const bySeg = new Map<number, Entry[]>();
  const rest: Entry[] = [];
  for (const e of entries) {
    const seg = e.route.path?.firstSegment;
    if (seg === undefined) rest.push(e);
    else push(bySeg, hashSegment(seg), e);
  }
  return { all: entries, bySeg, rest };
}

function mapLists<K>(m: Map<K, Entry[]>): Map<K, EntryList> {
  const out = new Map<K, EntryList>();
  for (const [k, v] of m) out.set(k, toList(v));
  return out;
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
  const nameless: Entry[] = [];
  for (const route of routes) {
    const d = route.domains;
    if (d === undefined) {
      plain.push(entry(route, DOMAIN_SCORE_NONE, undefined, undefined));
      continue;
    }
    if (d.anyName) nameless.push(entry(route, DOMAIN_SCORE_NONE, undefined, undefined));
    for (const name of new Set(d.exact)) push(exact, name, entry(route, DOMAIN_SCORE_EXACT + name.length, undefined, undefined));
    for (const suffix of new Set(d.suffixes)) {
      push(wild, hashSuffix(suffix), entry(route, DOMAIN_SCORE_WILDCARD + suffix.length + 1, suffix, undefined));
    }
    for (const glob of d.globs) globs.push(entry(route, DOMAIN_SCORE_WILDCARD + glob.literalLength, undefined, glob));
  }
  const everything = [...plain, ...nameless, ...globs];
  for (const l of exact.values()) everything.push(...l);
  for (const l of wild.values()) everything.push(...l);
  everything.sort(byRule);
  everything.forEach((e, i) => (e.rank = everything.length - i));
  let wildMaxRank = 0;
  for (const l of wild.values()) for (const e of l) wildMaxRank = Math.max(wildMaxRank, e.rank);
  const maxRank = (l: Entry[]): number => l.reduce((m, e) => Math.max(m, e.rank), 0);
  return {
    routes: Object.freeze(routes.slice()),
    exact: mapLists(exact),
    wild: mapLists(wild),
    globs: toList(globs),
    plain: toList(plain),
    nameless: toList(nameless),
    needsSniff: routes.some((r) => r.needsSniff),
    hasHttp: routes.some((r) => r.layer === 'http'),
    hasTerminating: routes.some((r) => r.tlsMode === 'terminate' || r.tlsMode === 'terminate-and-reencrypt'),
    relaysOnly: routes.every((r) => r.layer === 'l4' && r.config.action.type === 'forward'),
    hasHeaders: routes.some((r) => r.config.match.headers !== undefined),
    wildMaxRank,
    globMaxRank: maxRank(globs),
    plainMaxRank: maxRank(plain),
    namelessMaxRank: maxRank(nameless),
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

