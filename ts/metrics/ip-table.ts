/**
 * Per-client-IP connection counts and throughput series, bounded in memory:
 * at most `maxTrackedIPs` IPs are tracked one by one; connections from further
 * IPs are aggregated under the key `other` (for the life of the connection).
 * An IP with no open connection and no activity for `keepSeconds` is dropped
 * by `prune()`, freeing its slot.
 */
import type { IThroughput } from '../types.js';
import { ThroughputTracker } from './throughput-tracker.js';

export const OTHER_IP_KEY = 'other';

export interface IpEntry {
  readonly key: string;
  active: number;
  tracker: ThroughputTracker | undefined;
  lastActiveSecond: number;
}

/** `::ffff:1.2.3.4` -> `1.2.3.4`; everything else unchanged. */
export function plainIp(ip: string): string {
  return ip.length > 7 && ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export class IpTable {
  private readonly tracked = new Map<string, IpEntry>();
  private readonly other: IpEntry = { key: OTHER_IP_KEY, active: 0, tracker: undefined, lastActiveSecond: -Infinity };

  constructor(
    private readonly maxTrackedIPs: number,
    /** Retention of each per-IP series (seconds). */
    readonly seriesRetention: number,
  ) {}

  /** Number of IPs tracked individually (excluding `other`). */
  get size(): number {
    return this.tracked.size;
  }

  /** A connection from `ip` opened: returns the entry it is counted under for its whole life. */
  open(ip: string, nowSecond: number): IpEntry {
    const key = plainIp(ip);
    let entry = this.tracked.get(key);
    if (!entry) {
      if (this.tracked.size < this.maxTrackedIPs) {
        entry = { key, active: 0, tracker: undefined, lastActiveSecond: nowSecond };
        this.tracked.set(key, entry);
      } else {
        entry = this.other;
      }
    }
    entry.active++;
    entry.lastActiveSecond = nowSecond;
    return entry;
  }

  close(entry: IpEntry, nowSecond: number): void {
    if (entry.active > 0) entry.active--;
    entry.lastActiveSecond = nowSecond;
  }

  addBytes(entry: IpEntry, second: number, bytesIn: number, bytesOut: number): void {
    if (!entry.tracker) entry.tracker = new ThroughputTracker(this.seriesRetention);
    entry.tracker.add(second, bytesIn, bytesOut);
    if (second > entry.lastActiveSecond) entry.lastActiveSecond = second;
  }

  /** Drop IPs idle for more than `keepSeconds`; release `other`'s series when idle. Returns how many were dropped. */
  prune(nowSecond: number, keepSeconds: number): number {
    let dropped = 0;
    const cutoff = nowSecond - keepSeconds;
    for (const [key, entry] of this.tracked) {
      if (entry.active === 0 && entry.lastActiveSecond < cutoff) {
        this.tracked.delete(key);
        dropped++;
      }
    }
    const o = this.other;
    if (o.tracker && o.active === 0 && o.lastActiveSecond < nowSecond - this.seriesRetention) o.tracker = undefined;
    return dropped;
  }

  /** Open connections per IP (only IPs with at least one; `other` when non-zero). */
  activeCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const entry of this.tracked.values()) if (entry.active > 0) out.set(entry.key, entry.active);
    if (this.other.active > 0) out.set(OTHER_IP_KEY, this.other.active);
    return out;
  }

  /** The `limit` IPs with the most open connections, most first (never `other`). */
  top(limit: number): Array<{ ip: string; count: number }> {
    const n = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 10;
    const rows: Array<{ ip: string; count: number }> = [];
    for (const entry of this.tracked.values()) if (entry.active > 0) rows.push({ ip: entry.key, count: entry.active });
    rows.sort((a, b) => b.count - a.count || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    return rows.slice(0, n);
  }

  /** Rate per tracked IP over `windowSeconds` (IPs with an open connection or a series; `other` when it has either). */
  rates(nowSecond: number, windowSeconds: number): Map<string, IThroughput> {
    const out = new Map<string, IThroughput>();
    for (const entry of this.tracked.values()) addRate(out, entry, nowSecond, windowSeconds);
    addRate(out, this.other, nowSecond, windowSeconds);
    return out;
  }
}

function addRate(out: Map<string, IThroughput>, entry: IpEntry, nowSecond: number, windowSeconds: number): void {
  if (entry.tracker) out.set(entry.key, entry.tracker.rate(nowSecond, windowSeconds));
  else if (entry.active > 0) out.set(entry.key, { in: 0, out: 0 });
}
