/**
 * Counts by a string key with a bounded number of distinct keys: once
 * `maxKeys` keys exist, new keys are counted under `overflowKey`. Keeps
 * Prometheus label cardinality bounded whatever reasons callers pass.
 */
export class ReasonCounter {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly maxKeys = 64,
    private readonly overflowKey = 'other',
  ) {}

  inc(key: string, by = 1): void {
    const current = this.counts.get(key);
    if (current !== undefined) {
      this.counts.set(key, current + by);
      return;
    }
    const k = this.counts.size < this.maxKeys ? key : this.overflowKey;
    this.counts.set(k, (this.counts.get(k) ?? 0) + by);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.counts) out[k] = v;
    return out;
  }
}
