/**
 * Percentiles over the most recent `capacity` observations (a ring buffer of
 * fixed size): memory stays constant however many connections close, and the
 * figures follow the current traffic instead of the whole process lifetime.
 * Each observation is a tuple of `width` numbers (e.g. duration, bytes in, bytes out).
 */
import type { IPercentiles } from '../types.js';

export const ZERO_PERCENTILES: Readonly<IPercentiles> = Object.freeze({ p50: 0, p95: 0, p99: 0 });

export class RecentSamples {
  private readonly columns: Float64Array[];
  private next = 0;
  private filled = 0;

  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    if (!(capacity >= 1) || !(width >= 1)) throw new RangeError('capacity and width must be >= 1');
    this.columns = [];
    for (let i = 0; i < width; i++) this.columns.push(new Float64Array(capacity));
  }

  /** Number of observations currently held (at most `capacity`). */
  get count(): number {
    return this.filled;
  }

  /** Record one observation; `values[i]` goes to column i. */
  push(...values: number[]): void {
    for (let i = 0; i < this.width; i++) this.columns[i]![this.next] = values[i] ?? 0;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
  }

  /** p50/p95/p99 (nearest rank) of one column; zeros when empty. */
  percentiles(column: number): IPercentiles {
    if (this.filled === 0) return { ...ZERO_PERCENTILES };
    const sorted = this.columns[column]!.slice(0, this.filled).sort();
    return { p50: nearestRank(sorted, 0.5), p95: nearestRank(sorted, 0.95), p99: nearestRank(sorted, 0.99) };
  }
}

/** Nearest-rank percentile of an ascending array (non-empty). */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
