/** Small seeded PRNG (mulberry32) so fuzz failures are reproducible from the printed seed. */
export interface Rng {
  seed: number;
  next(): number; // [0, 1)
  int(maxExclusive: number): number;
  range(min: number, maxInclusive: number): number;
  bytes(n: number): Buffer;
  pick<T>(items: readonly T[]): T;
}

export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (m: number): number => Math.floor(next() * m);
  return {
    seed,
    next,
    int,
    range: (min, max) => min + int(max - min + 1),
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
    pick: (items) => items[int(items.length)]!,
  };
}

/** Seed from FUZZ_SEED if set, else fresh per run (printed by the tests). */
export function fuzzSeed(): number {
  const env = process.env['FUZZ_SEED'];
  return env !== undefined && env !== '' ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}
