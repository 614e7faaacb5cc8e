/**
 * Per-route counters and throughput series. Route names are bounded by the
 * route table; the cumulative counters of a name are kept for the life of the
 * collector (a few numbers each), while its per-second series is released
 * after `seriesRetention` seconds without an open connection or traffic.
 */
import type { IThroughput } from '../types.js';
import { ThroughputTracker } from './throughput-tracker.js';

export interface RouteEntry {
  readonly name: string;
  active: number;
  /** Connections routed here since start. */
  connections: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  tracker: ThroughputTracker | undefined;
  lastActiveSecond: number;
}

export class RouteTable {
  private readonly routes = new Map<string, RouteEntry>();
  /** Bytes of connections sampled while they had no route yet (e.g. refused before routing). */
  unroutedIn = 0;
  unroutedOut = 0;

  constructor(readonly seriesRetention: number) {}

  get(name: string): RouteEntry {
    let entry = this.routes.get(name);
    if (!entry) {
      entry = {
        name,
        active: 0,
        connections: 0,
        requests: 0,
        bytesIn: 0,
        bytesOut: 0,
        tracker: undefined,
        lastActiveSecond: -Infinity,
      };
      this.routes.set(name, entry);
    }
    return entry;
  }

  values(): IterableIterator<RouteEntry> {
    return this.routes.values();
  }

  addBytes(name: string | undefined, second: number, bytesIn: number, bytesOut: number): void {
    if (name === undefined) {
      this.unroutedIn += bytesIn;
      this.unroutedOut += bytesOut;
      return;
    }
    const entry = this.get(name);
    entry.bytesIn += bytesIn;
    entry.bytesOut += bytesOut;
    if (!entry.tracker) entry.tracker = new ThroughputTracker(this.seriesRetention);
    entry.tracker.add(second, bytesIn, bytesOut);
    if (second > entry.lastActiveSecond) entry.lastActiveSecond = second;
  }

  /** Release the series of routes with no open connection and no traffic for a whole retention. */
  prune(nowSecond: number): void {
    const cutoff = nowSecond - this.seriesRetention;
    for (const entry of this.routes.values()) {
      if (entry.tracker && entry.active === 0 && entry.lastActiveSecond < cutoff) entry.tracker = undefined;
    }
  }

  /** Open connections per route name (routes with at least one). */
  activeCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const entry of this.routes.values()) if (entry.active > 0) out.set(entry.name, entry.active);
    return out;
  }

  /** Rate per route over `windowSeconds` (routes with an open connection or a live series). */
  rates(nowSecond: number, windowSeconds: number): Map<string, IThroughput> {
    const out = new Map<string, IThroughput>();
    for (const entry of this.routes.values()) {
      if (entry.tracker) out.set(entry.name, entry.tracker.rate(nowSecond, windowSeconds));
      else if (entry.active > 0) out.set(entry.name, { in: 0, out: 0 });
    }
    return out;
  }
}
