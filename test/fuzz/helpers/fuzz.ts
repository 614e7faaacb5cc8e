/**
 * Shared machinery for the property/fuzz tests in test/fuzz.
 *
 * - One seed per run: FUZZ_SEED when set, else a fresh one. Every property in a file runs with
 *   it, and a failure message starts with `FUZZ_SEED=<seed>` followed by fast-check's own report
 *   (seed, path, counterexample), so a failing run can be replayed exactly.
 * - FUZZ_SCALE multiplies every numRuns (e.g. FUZZ_SCALE=10 for a longer soak; default 1).
 * - Every property is bounded in time: fast-check's interruptAfterTimeLimit stops it (runs and
 *   shrinking) after FUZZ_TIME_LIMIT_MS (default 60 s) and reports that as a failure, since
 *   node:test's own timeout cannot interrupt a synchronous loop.
 * - Mutation helpers: byte-level edits (bit flips, overwrites, insertions, deletions,
 *   truncations, duplications) as a fast-check arbitrary, so mutated inputs shrink.
 */
import fc from 'fast-check';

function readSeed(): number {
  const env = process.env['FUZZ_SEED'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isFinite(n)) throw new Error(`FUZZ_SEED must be a number, got ${JSON.stringify(env)}`);
    return n | 0;
  }
  return (Math.random() * 0x1_0000_0000) | 0;
}

/** The seed of this run (same for every property of the process). */
export const FUZZ_SEED = readSeed();
const SCALE = Math.max(0.01, Number(process.env['FUZZ_SCALE'] ?? '1') || 1);
const TIME_LIMIT_MS = Number(process.env['FUZZ_TIME_LIMIT_MS'] ?? '60000') || 60000;

export function runs(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

function decorate(err: unknown, name: string, numRuns: number): never {
  const msg = err instanceof Error ? err.message : String(err);
  const e = new Error(
    `${name}: property failed; replay the whole run with FUZZ_SEED=${FUZZ_SEED} (numRuns ${numRuns}).\n` +
      `fast-check report (seed and path identify the counterexample):\n${msg}`,
  );
  if (err instanceof Error && err.stack) e.stack = `${e.message}\n--- original ---\n${err.stack}`;
  throw e;
}

function params<Ts>(numRuns: number): fc.Parameters<Ts> {
  return {
    numRuns,
    seed: FUZZ_SEED,
    includeErrorInReport: true,
    // The (deprecated) parameter form, not the plugin: the plugin arms a process-wide timer that
    // is never cleared when a generator throws, keeping the process alive for the whole limit.
    interruptAfterTimeLimit: TIME_LIMIT_MS,
    markInterruptAsFailure: true,
  };
}

/** fc.assert with the run's seed, a time bound, and a failure message that names the seed. Returns the run count. */
export function check<Ts>(name: string, prop: fc.IProperty<Ts>, numRuns: number): number {
  const n = runs(numRuns);
  const started = performance.now();
  try {
    fc.assert(prop, params<Ts>(n));
  } catch (err) {
    decorate(err, name, n);
  }
  console.log(`fuzz ${name}: ${n} cases in ${(performance.now() - started).toFixed(0)} ms (FUZZ_SEED=${FUZZ_SEED})`);
  return n;
}

export async function checkAsync<Ts>(name: string, prop: fc.IAsyncProperty<Ts>, numRuns: number): Promise<number> {
  const n = runs(numRuns);
  const started = performance.now();
  try {
    await fc.assert(prop, params<Ts>(n));
  } catch (err) {
    decorate(err, name, n);
  }
  console.log(`fuzz ${name}: ${n} cases in ${(performance.now() - started).toFixed(0)} ms (FUZZ_SEED=${FUZZ_SEED})`);
  return n;
}

/** Throws (so fast-check records a failure with the message) unless cond holds. */
export function ensure(cond: unknown, msg: string | (() => string)): asserts cond {
  if (!cond) throw new Error(typeof msg === 'string' ? msg : msg());
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Bytes that matter to text protocols and length fields; mutations draw from these half of the time. */
export const INTERESTING_BYTES = [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x2c, 0x2e, 0x30, 0x31, 0x3a, 0x3b, 0x7e, 0x7f, 0x80, 0xfe, 0xff];

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; n: number }
  | { op: 'truncate'; at: number }
  | { op: 'dup'; at: number; n: number };

/** One byte: half uniform, half from `interesting`. */
export function byteArb(interesting: readonly number[] = INTERESTING_BYTES): fc.Arbitrary<number> {
  return fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...interesting));
}

/** A mutation; positions are taken modulo the buffer length when applied. */
export function mutationArb(interesting: readonly number[] = INTERESTING_BYTES): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const b = byteArb(interesting);
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at, value: b }),
    fc.record({ op: fc.constant('insert' as const), at, bytes: fc.array(b, { minLength: 1, maxLength: 8 }) }),
    fc.record({ op: fc.constant('delete' as const), at, n: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ op: fc.constant('truncate' as const), at }),
    fc.record({ op: fc.constant('dup' as const), at, n: fc.integer({ min: 1, max: 16 }) }),
  );
}

export function mutationsArb(max = 4, interesting?: readonly number[]): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb(interesting), { minLength: 1, maxLength: max });
}

/** Applies mutations in order to a copy of `input`. */
export function applyMutations(input: Uint8Array, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of muts) {
    const len = b.length;
    switch (m.op) {
      case 'flip':
        if (len > 0) b[m.at % len] = b[m.at % len]! ^ (1 << m.bit);
        break;
      case 'set':
        if (len > 0) b[m.at % len] = m.value;
        break;
      case 'insert': {
        const at = m.at % (len + 1);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      }
      case 'delete': {
        if (len === 0) break;
        const at = m.at % len;
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, m.at % (len + 1));
        break;
      case 'dup': {
        if (len === 0) break;
        const at = m.at % len;
        b = Buffer.concat([b.subarray(0, at + m.n), b.subarray(at)]);
        break;
      }
    }
  }
  return b;
}

/** Cut points for splitting a stream into chunks (taken modulo length + 1 when applied). */
export const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

/** Split `buf` at the given cut points (modulo buf.length + 1); chunks may be empty only if buf is. */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)).filter((c) => c > 0 && c < buf.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** A few prefix lengths in [0, n) to probe (all of them when n is small). */
export function prefixLengths(n: number, picks: readonly number[]): number[] {
  if (n <= 12) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>([0, 1, n - 1]);
  for (const p of picks) out.add(p % n);
  return [...out];
}

/** mulberry32: a tiny PRNG to expand a fast-check seed into many bytes or characters. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Random bytes, minLength..maxLength long: a fast-check length and seed expanded by a PRNG
 * (generating element by element through fast-check costs ~10x more, and fuzz volume matters
 * more here than byte-wise shrinking; the length and the seed still shrink). One byte in eight
 * comes from INTERESTING_BYTES.
 */
export function bytesArb(maxLength: number, minLength = 0): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer()).map(([len, seed]) => {
    const next = prng(seed);
    const b = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) {
      const r = next();
      b[i] = (r & 7) === 0 ? INTERESTING_BYTES[(r >>> 3) % INTERESTING_BYTES.length]! : r >>> 24;
    }
    return b;
  });
}

/** A string of minLength..maxLength characters drawn from `alphabet`, generated like bytesArb. */
export function fastString(alphabet: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer()).map(([len, seed]) => {
    const next = prng(seed);
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[next() % alphabet.length];
    return s;
  });
}
