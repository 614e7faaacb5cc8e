/**
 * The metrics core: hooks called by the connection code, a per-second sampler
 * on the shared ticker, and the live `IMetrics` view returned by `getStats()`.
 *
 * Bytes are read from each open connection as deltas of its cumulative
 * counters (`bytesIn()`/`bytesOut()` minus what was sampled before) and added
 * to the second of the sample, so a connection that lives for hours puts its
 * bytes in the seconds in which they moved (no lifetime averaging, no drift).
 * Totals are the exact sums of those deltas (plus, when read, the bytes not yet
 * sampled), so once every connection has closed they equal what the clients'
 * sockets saw.
 */
import type { Clock } from '../core/clock.js';
import type { Ticker, TickerTask } from '../core/ticker.js';
import type { IMetrics, IThroughput } from '../types.js';
import { IpTable, type IpEntry } from './ip-table.js';
import { PrometheusExporter } from './prometheus.js';
import { ReasonCounter } from './reason-counter.js';
import { RecentSamples } from './recent-samples.js';
import { RouteTable, type RouteEntry } from './route-table.js';
import { createZeroStats } from './zero-stats.js';
import { ThroughputTracker, type SecondBucket } from './throughput-tracker.js';

/** Implemented by the connection record. */
export interface TrackedConnection {
  /** Plain form (`1.2.3.4`, never `::ffff:1.2.3.4`). */
  readonly clientIp: string;
  /** ms, from the injected clock. */
  readonly startTime: number;
  /** May change (keep-alive connection serving several routes); bytes go to the route current at sampling. */
  routeName: string | undefined;
  /** Cumulative bytes received from the client so far (PROXY header excluded). */
  bytesIn(): number;
  /** Cumulative bytes sent to the client so far. */
  bytesOut(): number;
  /** Scratch fields owned by the collector (initialise to 0). */
  metricsSampledIn: number;
  metricsSampledOut: number;
}

export interface MetricsCollectorOptions {
  clock: Clock;
  ticker: Ticker;
  enabled?: boolean;
  sampleIntervalMs?: number;
  retentionSeconds?: number;
  maxTrackedIPs?: number;
}

export const METRICS_DEFAULTS = Object.freeze({
  sampleIntervalMs: 1000,
  retentionSeconds: 3600,
  maxTrackedIPs: 1000,
  /** Longest per-route / per-IP series (seconds); byRoute()/byIP() windows are clamped to it. */
  maxSeriesRetentionSeconds: 600,
  /** Closed connections kept for percentiles. */
  percentileSamples: 1024,
  /** An idle IP (no open connection, no traffic) is kept at least this long. */
  minIpIdleSeconds: 60,
  /** Seconds between prune passes. */
  pruneEverySeconds: 10,
});

interface ConnState {
  readonly conn: TrackedConnection;
  readonly ip: IpEntry;
  /** The route this connection is counted as open under. */
  route: RouteEntry | undefined;
}

const DURATION = 0;
const BYTES_IN = 1;
const BYTES_OUT = 2;

export class MetricsCollector {
  readonly enabled: boolean;
  readonly sampleIntervalMs: number;
  readonly retentionSeconds: number;
  readonly maxTrackedIPs: number;
  /** Retention of per-route and per-IP series. */
  readonly seriesRetentionSeconds: number;

  private readonly clock: Clock;
  private readonly ticker: Ticker;
  private task: TickerTask | undefined;
  /** The second start() last ran in: history() reaches back no further. */
  private startedSecond: number | undefined;
  private readonly conns = new Map<TrackedConnection, ConnState>();
  private readonly global: ThroughputTracker;
  /** Requests per second, counted in the `in` column. */
  private readonly requestSeries = new ThroughputTracker(61);
  private readonly ips: IpTable;
  private readonly routes: RouteTable;
  private readonly closedSamples = new RecentSamples(METRICS_DEFAULTS.percentileSamples, 3);
  private readonly refusals = new ReasonCounter();
  /** Closed connections by reason, and by the side that ended them and reason. */
  private readonly closes = new ReasonCounter();
  private readonly terminations = { client: new ReasonCounter(), backend: new ReasonCounter(), proxy: new ReasonCounter() };
  private connectionsTotal = 0;
  private requestsTotal = 0;
  private sampledIn = 0;
  private sampledOut = 0;
  private sampleSecond = 0;
  private lastPruneSecond = -Infinity;
  private largestIpWindow = 1;
  private stats: IMetrics | undefined;
  private exporter: Promise<PrometheusExporter> | undefined;
  private readonly sampleOne = (state: ConnState): void => this.sampleConnection(state, this.sampleSecond);

  constructor(options: MetricsCollectorOptions) {
    this.clock = options.clock;
    this.ticker = options.ticker;
    this.enabled = options.enabled ?? true;
    this.sampleIntervalMs = positiveInt(options.sampleIntervalMs, METRICS_DEFAULTS.sampleIntervalMs);
    this.retentionSeconds = positiveInt(options.retentionSeconds, METRICS_DEFAULTS.retentionSeconds);
    this.maxTrackedIPs = Math.max(0, Math.floor(options.maxTrackedIPs ?? METRICS_DEFAULTS.maxTrackedIPs));
    this.seriesRetentionSeconds = Math.min(this.retentionSeconds, METRICS_DEFAULTS.maxSeriesRetentionSeconds);
    // Disabled: keep the structures tiny; nothing is ever written to them.
    this.global = new ThroughputTracker(this.enabled ? this.retentionSeconds : 1);
    this.ips = new IpTable(this.maxTrackedIPs, this.seriesRetentionSeconds);
    this.routes = new RouteTable(this.seriesRetentionSeconds);
  }

  /** Schedule sampling on the shared ticker (no-op when disabled or already started). */
  start(): void {
    this.startedSecond = this.nowSecond();
    if (!this.enabled || this.task) return;
    this.task = this.ticker.every(this.sampleIntervalMs, (now) => this.sample(now));
  }

  /** Cancel the ticker task; closes nothing else. */
  stop(): void {
    this.task?.cancel();
    this.task = undefined;
  }

  connectionOpened(conn: TrackedConnection): void {
    if (!this.enabled || this.conns.has(conn)) return;
    this.connectionsTotal++;
    const ip = this.ips.open(conn.clientIp, this.nowSecond());
    const state: ConnState = { conn, ip, route: undefined };
    this.conns.set(conn, state);
    if (conn.routeName !== undefined) this.countRoute(state, conn.routeName);
  }

  connectionRouted(conn: TrackedConnection, routeName: string): void {
    if (!this.enabled) {
      conn.routeName = routeName;
      return;
    }
    const state = this.conns.get(conn);
    // Bytes moved so far belong to the route that served them (a keep-alive connection
    // whose next request goes elsewhere).
    if (state && conn.routeName !== undefined && conn.routeName !== routeName) this.sampleConnection(state, this.nowSecond());
    conn.routeName = routeName;
    if (state) this.countRoute(state, routeName);
  }

  connectionClosed(conn: TrackedConnection): void {
    if (!this.enabled) return;
    const state = this.conns.get(conn);
    if (!state) return;
    const now = this.clock.now();
    const second = Math.floor(now / 1000);
    this.sampleConnection(state, second);
    this.conns.delete(conn);
    this.ips.close(state.ip, second);
    if (state.route && state.route.active > 0) state.route.active--;
    this.closedSamples.push(Math.max(0, now - conn.startTime), conn.metricsSampledIn, conn.metricsSampledOut);
  }

  /** One HTTP request served (or one L4 connection routed). */
  requestServed(routeName: string | undefined, _clientIp: string): void {
    if (!this.enabled) return;
    this.requestsTotal++;
    this.requestSeries.add(this.nowSecond(), 1, 0);
    if (routeName !== undefined) this.routes.get(routeName).requests++;
  }

  connectionRefused(reason: string): void {
    if (this.enabled) this.refusals.inc(reason);
  }

  /** One connection closed: who ended it (client, backend, or the proxy itself) and why. */
  connectionEnded(side: 'client' | 'backend' | 'proxy', reason: string): void {
    if (!this.enabled) return;
    this.closes.inc(reason);
    this.terminations[side].inc(reason);
  }

  closeStats(): Record<string, number> {
    return this.closes.toRecord();
  }

  terminationStats(): { client: Record<string, number>; backend: Record<string, number>; proxy: Record<string, number> } {
    return { client: this.terminations.client.toRecord(), backend: this.terminations.backend.toRecord(), proxy: this.terminations.proxy.toRecord() };
  }

  refusalStats(): Record<string, number> {
    return this.refusals.toRecord();
  }

  /** Move the byte deltas of every open connection into the second of `now`. O(open connections). */
  sample(now: number = this.clock.now()): void {
    if (!this.enabled) return;
    const second = Math.floor(now / 1000);
    this.sampleSecond = second;
    this.conns.forEach(this.sampleOne);
    if (second - this.lastPruneSecond >= METRICS_DEFAULTS.pruneEverySeconds) this.prune(second);
  }

  /** Drop idle per-IP entries and release idle per-route series (also run by `sample()` every few seconds). */
  prune(nowSecond: number = this.nowSecond()): void {
    this.lastPruneSecond = nowSecond;
    const keep = Math.max(METRICS_DEFAULTS.minIpIdleSeconds, this.largestIpWindow);
    this.ips.prune(nowSecond, keep);
    this.routes.prune(nowSecond);
  }

  /** IPs tracked one by one right now (excluding the `other` aggregate). */
  trackedIpCount(): number {
    return this.ips.size;
  }

  /** The live metrics view: every member computes on call. */
  getStats(): IMetrics {
    if (!this.enabled) return (this.stats ??= createZeroStats());
    return (this.stats ??= this.buildStats());
  }

  /** Prometheus text exposition format (own registry, never the global one). */
  async prometheusText(): Promise<string> {
    this.exporter ??= PrometheusExporter.create({
      activeConnections: () => this.conns.size,
      totalConnections: () => this.connectionsTotal,
      routes: () => this.routes.values(),
      unroutedBytes: () => ({ in: this.routes.unroutedIn, out: this.routes.unroutedOut }),
      refusals: () => this.refusals.entries(),
      closes: () => this.closes.entries(),
      terminations: (side) => this.terminations[side].entries(),
      trackedIps: () => this.ips.size,
    });
    return (await this.exporter).text();
  }

  private countRoute(state: ConnState, routeName: string): void {
    if (state.route?.name === routeName) return;
    if (state.route && state.route.active > 0) state.route.active--;
    const entry = this.routes.get(routeName);
    entry.active++;
    entry.connections++;
    state.route = entry;
  }

  private sampleConnection(state: ConnState, second: number): void {
    const conn = state.conn;
    const bytesIn = conn.bytesIn();
    const bytesOut = conn.bytesOut();
    let dIn = bytesIn - conn.metricsSampledIn;
    let dOut = bytesOut - conn.metricsSampledOut;
    if (dIn === 0 && dOut === 0) return;
    conn.metricsSampledIn = bytesIn;
    conn.metricsSampledOut = bytesOut;
    if (!(dIn > 0)) dIn = 0; // a counter that went backwards is re-based, never subtracted
    if (!(dOut > 0)) dOut = 0;
    this.sampledIn += dIn;
    this.sampledOut += dOut;
    this.global.add(second, dIn, dOut);
    this.ips.addBytes(state.ip, second, dIn, dOut);
    this.routes.addBytes(conn.routeName, second, dIn, dOut);
  }

  private nowSecond(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** Sampled bytes plus what open connections moved since their last sample. */
  private liveTotals(): IThroughput {
    let pendingIn = 0;
    let pendingOut = 0;
    for (const conn of this.conns.keys()) {
      pendingIn += Math.max(0, conn.bytesIn() - conn.metricsSampledIn);
      pendingOut += Math.max(0, conn.bytesOut() - conn.metricsSampledOut);
    }
    return { in: this.sampledIn + pendingIn, out: this.sampledOut + pendingOut };
  }

  private ipWindow(windowSeconds: number | undefined): number {
    const w = clampWindow(windowSeconds ?? 1, this.seriesRetentionSeconds);
    if (w > this.largestIpWindow) this.largestIpWindow = w;
    return w;
  }

  private buildStats(): IMetrics {
    const rate = (w: number): IThroughput => this.global.rate(this.nowSecond(), clampWindow(w, this.retentionSeconds));
    // only seconds since start() (the second it ran in included), never padded with earlier ones
    const history = (n: number): SecondBucket[] => {
      const now = this.nowSecond();
      return this.global.history(now, Math.min(n, this.startedSecond === undefined ? 0 : now - this.startedSecond));
    };
    return {
      connections: {
        active: () => this.conns.size,
        total: () => this.connectionsTotal,
        byRoute: () => this.routes.activeCounts(),
        byIP: () => this.ips.activeCounts(),
        topIPs: (limit = 10) => this.ips.top(limit),
      },
      throughput: {
        instant: () => rate(1),
        recent: () => rate(10),
        average: () => rate(60),
        custom: (seconds) => rate(seconds),
        history: (seconds) => history(seconds),
        byRoute: (w) => this.routes.rates(this.nowSecond(), clampWindow(w ?? 1, this.seriesRetentionSeconds)),
        byIP: (w) => this.ips.rates(this.nowSecond(), this.ipWindow(w)),
      },
      requests: {
        perSecond: () => this.requestSeries.sum(this.nowSecond() - 1, this.nowSecond() - 1).in,
        perMinute: () => this.requestSeries.sum(this.nowSecond() - 59, this.nowSecond()).in,
        total: () => this.requestsTotal,
      },
      totals: {
        bytesIn: () => this.liveTotals().in,
        bytesOut: () => this.liveTotals().out,
        connections: () => this.connectionsTotal,
      },
      percentiles: {
        connectionDuration: () => this.closedSamples.percentiles(DURATION),
        bytesTransferred: () => ({
          in: this.closedSamples.percentiles(BYTES_IN),
          out: this.closedSamples.percentiles(BYTES_OUT),
        }),
      },
    };
  }
}

function positiveInt(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

function clampWindow(seconds: number, max: number): number {
  if (!(seconds >= 1)) return 1; // NaN, 0, negatives
  return Math.min(Math.floor(seconds), max);
}
