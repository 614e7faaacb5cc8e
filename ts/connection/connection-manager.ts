import type * as net from 'node:net';
import type { Clock } from '../core/clock.js';
import type { DeadlineService } from '../core/deadlines.js';
import type { Ticker, TickerTask } from '../core/ticker.js';
import type { ResolvedOptions } from '../core/options.js';
import type { ILogger } from '../types.js';
import type { CloseReason, CloseSide } from './close-reason.js';
import { ConnectionRecord, type BackendConnectDefaults, type RecordHost } from './connection-record.js';
import { IpLimiter } from './ip-limiter.js';
import { limitsFor } from './timeout-policy.js';
import { judgeZombie } from './zombie-detector.js';

/** What the ConnectionManager tells the metrics (the MetricsCollector fits this shape). */
export interface ConnectionMetricsSink {
  connectionOpened(conn: ConnectionRecord): void;
  connectionRouted(conn: ConnectionRecord, routeName: string): void;
  connectionClosed(conn: ConnectionRecord): void;
  connectionRefused(reason: string): void;
  /** One closed connection: who ended it and why. */
  connectionEnded(side: CloseSide, reason: CloseReason): void;
}

export type RefusalReason =
  | 'max_connections'
  | 'max_connections_per_ip'
  | 'rate_limit'
  | 'route_max_connections'
  | 'route_max_connections_per_ip'
  | 'ip_blocked'
  | 'ip_not_allowed'
  | 'shutting_down';

/** What admission needs of a compiled route. */
export interface RouteAdmission {
  readonly name: string;
  readonly index: number;
  readonly maxConnections: number;
  /** security.maxConnectionsPerIP: one client IP's open connections on this route; 0 = unlimited. */
  readonly maxConnectionsPerIP: number;
  readonly allowIp: { matches(ip: string): boolean } | undefined;
  readonly blockIp: { matches(ip: string): boolean } | undefined;
}

export interface ConnectionManagerDeps {
  options: ResolvedOptions;
  clock: Clock;
  ticker: Ticker;
  deadlines: DeadlineService;
  metrics: ConnectionMetricsSink;
  logger: ILogger;
  onBlocked(info: { reason: string; clientIp: string; port: number; route?: string }): void;
  onClosed(record: ConnectionRecord): void;
  random?: () => number;
}

/**
 * Owns every connection record: admission limits on the real client IP, route limits, the
 * release of a closed record (limits, metrics, the close event: once), the zombie sweep on the
 * shared ticker, and the drain on stop(). Per-connection deadlines live in each record, on the
 * deadline service.
 */
export class ConnectionManager implements RecordHost {
  private readonly records = new Map<number, ConnectionRecord>();
  private readonly ipLimiter: IpLimiter;
  private readonly routeOpen = new Map<string, number>();
  /** Open connections per route and client IP (`route\0ip`), for security.maxConnectionsPerIP. */
  private readonly routeIpOpen = new Map<string, number>();
  private nextId = 1;
  private sweepTask: TickerTask | undefined;
  private accepting = true;
  private drainWaiters: Array<() => void> = [];
  private countedTotal = 0;
  private fixedLimits: ReturnType<typeof limitsFor> | undefined;
  readonly deadlines: DeadlineService;
  readonly halfCloseTimeout: number;
  readonly connect: BackendConnectDefaults;

  constructor(private readonly deps: ConnectionManagerDeps) {
    const o = deps.options;
    this.ipLimiter = new IpLimiter(o.maxConnectionsPerIP, o.connectionRateLimitPerMinute);
    this.deadlines = deps.deadlines;
    this.halfCloseTimeout = o.halfCloseTimeout;
    this.connect = Object.freeze({ timeoutMs: o.connectionTimeout, noDelay: o.noDelay, keepAlive: o.keepAlive, keepAliveInitialDelay: o.keepAliveInitialDelay });
  }

  start(): void {
    this.accepting = true;
    this.sweepTask ??= this.deps.ticker.every(this.deps.options.inactivityCheckInterval, (now) => this.sweep(now));
  }

  get size(): number {
    return this.records.size;
  }

  get trackedIps(): number {
    return this.ipLimiter.trackedIps;
  }

  all(): IterableIterator<ConnectionRecord> {
    return this.records.values();
  }

  openForIp(ip: string): number {
    return this.ipLimiter.openFor(ip);
  }

  /** A record for a socket just accepted; not yet counted against any limit. */
  create(socket: net.Socket, clientIp: string, clientPort: number, localPort: number): ConnectionRecord {
    const now = this.deps.clock.now();
    const record = new ConnectionRecord(this.nextId++, socket, clientIp, clientPort, localPort, now, this);
    const o = this.deps.options;
    record.keepAlive = o.keepAlive;
    // Without jitter every connection gets the same limits: computed once.
    const limits = o.timeoutJitter ? limitsFor(o, record.keepAlive, this.deps.random) : (this.fixedLimits ??= limitsFor(o, o.keepAlive));
    this.records.set(record.id, record);
    record.limits(limits.inactivity, limits.lifetime, limits.socketIdle);
    return record;
  }

  /** Global and per-IP limits on the real client IP (after PROXY protocol). Counts the connection when allowed. */
  admit(record: ConnectionRecord): RefusalReason | undefined {
    if (!this.accepting) return 'shutting_down';
    const max = this.deps.options.maxConnections;
    if (max > 0 && this.countedTotal >= max) return 'max_connections';
    const refusal = this.ipLimiter.admit(record.clientIp, this.deps.clock.now());
    if (refusal) return refusal;
    record.countedForIp = true;
    this.countedTotal++;
    // Metrics see the connection once its real client address is known and it is admitted.
    this.deps.metrics.connectionOpened(record);
    return undefined;
  }

  /** Route allow/block lists and route maxConnections; binds the record to the route when allowed. */
  admitRoute(record: ConnectionRecord, route: RouteAdmission): RefusalReason | undefined {
    if (route.blockIp?.matches(record.clientIp)) return 'ip_blocked';
    if (route.allowIp && !route.allowIp.matches(record.clientIp)) return 'ip_not_allowed';
    if (record.countedForRoute !== route.name) {
      const open = this.routeOpen.get(route.name) ?? 0;
      if (route.maxConnections > 0 && open >= route.maxConnections) return 'route_max_connections';
      const ipKey = `${route.name}\0${record.clientIp}`;
      const ipOpen = this.routeIpOpen.get(ipKey) ?? 0;
      if (route.maxConnectionsPerIP > 0 && ipOpen >= route.maxConnectionsPerIP) return 'route_max_connections_per_ip';
      this.releaseRoute(record);
      this.routeOpen.set(route.name, open + 1);
      this.routeIpOpen.set(ipKey, ipOpen + 1);
      record.countedForRoute = route.name;
    }
    record.routeIndex = route.index;
    if (record.routeName !== route.name) {
      // Told before the name changes, so bytes so far are credited to the previous route.
      this.deps.metrics.connectionRouted(record, route.name);
      record.routeName = route.name;
    }
    return undefined;
  }

  routeConnections(name: string): number {
    return this.routeOpen.get(name) ?? 0;
  }

  /** Refuse at L4: count, report, close at once. */
  refuse(record: ConnectionRecord, reason: RefusalReason, routeName?: string): void {
    this.reportRefusal(record, reason, routeName);
    record.close('proxy', 'blocked');
  }

  /** Count and report a refusal whose answer the caller sends itself (HTTP 403/429). */
  reportRefusal(record: ConnectionRecord, reason: RefusalReason | 'auth_failed' | 'request_rate_limit', routeName?: string): void {
    this.deps.metrics.connectionRefused(reason);
    this.deps.onBlocked({ reason, clientIp: record.clientIp, port: record.localPort, route: routeName ?? record.routeName });
  }

  /** RecordHost: the record closed. Releases limits, reports, forgets it. Runs once per record. */
  released(record: ConnectionRecord): void {
    if (!this.records.delete(record.id)) return;
    const now = this.deps.clock.now();
    if (record.countedForIp) {
      record.countedForIp = false;
      this.countedTotal--;
      this.ipLimiter.release(record.clientIp, now);
    }
    this.releaseRoute(record);
    const m = this.deps.metrics;
    m.connectionEnded(record.closeSide ?? 'proxy', record.closeReason ?? 'closed');
    m.connectionClosed(record);
    this.deps.onClosed(record);
    if (this.records.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private releaseRoute(record: ConnectionRecord): void {
    const name = record.countedForRoute;
    if (name === undefined) return;
    record.countedForRoute = undefined;
    const open = (this.routeOpen.get(name) ?? 1) - 1;
    if (open <= 0) this.routeOpen.delete(name);
    else this.routeOpen.set(name, open);
    const ipKey = `${name}\0${record.clientIp}`;
    const ipOpen = (this.routeIpOpen.get(ipKey) ?? 1) - 1;
    if (ipOpen <= 0) this.routeIpOpen.delete(ipKey);
    else this.routeIpOpen.set(ipKey, ipOpen);
  }

  /**
   * The zombie sweep (every inactivityCheckInterval): records whose sockets are gone although
   * the record lives (a safety net: the lifecycle closes them when their sockets close), and
   * connections that took data but never answered (the "stuck" rule). Then prunes per-IP state.
   */
  sweep(now: number = this.deps.clock.now()): void {
    const { options, logger } = this.deps;
    for (const r of this.records.values()) {
      const zombie = judgeZombie(
        options.zombie,
        {
          clientDestroyed: r.client.destroyed,
          backendDestroyed: r.backend ? r.backend.destroyed : undefined,
          isTls: r.isTls,
          startTime: r.startTime,
          halfDeadSince: r.halfDeadSince,
          bytesFromClient: r.bytesIn(),
          bytesToClient: r.bytesOut(),
          stuckExempt: r.exemptFromStuckRule,
        },
        now,
      );
      if (zombie === 'half-dead') {
        if (r.halfDeadSince === 0) r.halfDeadSince = now;
        continue;
      }
      if (zombie !== 'alive') {
        logger.warn({ conn: r.idText, clientIp: r.clientIp, verdict: zombie }, 'zombie connection cleaned');
        r.close('proxy', 'zombie');
      }
    }
    this.ipLimiter.prune(now);
  }

  /** Stop admitting; resolve when every record is gone or `timeoutMs` passes, then close the rest. */
  async drain(timeoutMs: number): Promise<void> {
    this.accepting = false;
    if (this.records.size > 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const alarm = this.deps.ticker.alarm(() => done());
        const done = (): void => {
          alarm.clear();
          resolve();
        };
        alarm.set(this.deps.clock.now() + timeoutMs);
        this.drainWaiters.push(done);
      });
    }
    for (const r of [...this.records.values()]) r.close('proxy', 'shutdown');
  }

  stop(): void {
    this.sweepTask?.cancel();
    this.sweepTask = undefined;
  }

  resume(): void {
    this.accepting = true;
  }
}
