/**
 * Per-second byte counts in a ring buffer (`retentionSeconds` long).
 *
 * Seconds are epoch seconds (`Math.floor(ms / 1000)`). A second is "complete"
 * once the clock has moved past it; rates and history read only complete
 * seconds: a window of N seconds at `nowSecond` covers
 * `nowSecond - N .. nowSecond - 1`. So `rate(now, 1)` is the last complete
 * second, and bytes sampled during the current second show up one second later.
 * Seconds with no samples read as 0; seconds older than the retention read as 0.
 */
export interface SecondBucket {
  timestamp: number;
  in: number;
  out: number;
}

export class ThroughputTracker {
  readonly retentionSeconds: number;
  /** One slot more than the retention, so a full window never overlaps the current second. */
  private readonly size: number;
  private readonly stamps: Float64Array;
  private readonly bytesIn: Float64Array;
  private readonly bytesOut: Float64Array;
  private lastNonZeroSecond = -Infinity;

  constructor(retentionSeconds: number) {
    if (!Number.isFinite(retentionSeconds) || retentionSeconds < 1) {
      throw new RangeError(`retentionSeconds must be >= 1, got ${retentionSeconds}`);
    }
    this.retentionSeconds = Math.floor(retentionSeconds);
    this.size = this.retentionSeconds + 1;
    this.stamps = new Float64Array(this.size).fill(-1);
    this.bytesIn = new Float64Array(this.size);
    this.bytesOut = new Float64Array(this.size);
  }

  /** Add bytes that moved during `second`. Seconds already overwritten by newer ones are ignored. */
  add(second: number, bytesIn: number, bytesOut: number): void {
    if (!(bytesIn > 0) && !(bytesOut > 0)) return;
    const idx = second % this.size;
    const stamp = this.stamps[idx]!;
    if (stamp > second) return; // older than the retention: its slot holds a newer second
    if (stamp < second) {
      this.stamps[idx] = second;
      this.bytesIn[idx] = 0;
      this.bytesOut[idx] = 0;
    }
    if (bytesIn > 0) this.bytesIn[idx]! += bytesIn;
    if (bytesOut > 0) this.bytesOut[idx]! += bytesOut;
    if (second > this.lastNonZeroSecond) this.lastNonZeroSecond = second;
  }

  /** Total bytes over seconds `from..to` inclusive (clamped to what the ring can hold). */
  sum(fromSecond: number, toSecond: number): { in: number; out: number } {
    let sumIn = 0;
    let sumOut = 0;
    const lo = Math.max(fromSecond, toSecond - this.size + 1);
    for (let s = lo; s <= toSecond; s++) {
      const idx = s % this.size;
      if (this.stamps[idx] === s) {
        sumIn += this.bytesIn[idx]!;
        sumOut += this.bytesOut[idx]!;
      }
    }
    return { in: sumIn, out: sumOut };
  }

  /** Bytes per second over the `windowSeconds` complete seconds before `nowSecond` (window clamped to 1..retention). */
  rate(nowSecond: number, windowSeconds: number): { in: number; out: number } {
    const w = this.clampWindow(windowSeconds);
    if (this.lastNonZeroSecond < nowSecond - w) return { in: 0, out: 0 };
    const total = this.sum(nowSecond - w, nowSecond - 1);
    return { in: total.in / w, out: total.out / w };
  }

  /** The `seconds` complete seconds before `nowSecond`, oldest first; `timestamp` = start of the second in ms. */
  history(nowSecond: number, seconds: number): SecondBucket[] {
    const n = seconds > 0 ? Math.min(Math.floor(seconds), this.retentionSeconds) : 0; // NaN, 0, negatives: empty
    const out: SecondBucket[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const s = nowSecond - n + i;
      const idx = s % this.size;
      const hit = this.stamps[idx] === s;
      out[i] = { timestamp: s * 1000, in: hit ? this.bytesIn[idx]! : 0, out: hit ? this.bytesOut[idx]! : 0 };
    }
    return out;
  }

  /** True when no byte was added for any second in `nowSecond - windowSeconds .. nowSecond`. */
  isIdle(nowSecond: number, windowSeconds: number): boolean {
    return this.lastNonZeroSecond < nowSecond - windowSeconds;
  }

  private clampWindow(windowSeconds: number): number {
    if (!(windowSeconds >= 1)) return 1; // NaN, 0, negatives
    return Math.min(Math.floor(windowSeconds), this.retentionSeconds);
  }
}
