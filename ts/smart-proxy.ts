import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from './core/clock.js';
import { DeadlineService } from './core/deadlines.js';
import { raiseMallocThresholds } from './core/node-internals.js';
import { ConfigErrorCollector, SmartProxyConfigError, SmartProxyError } from './core/errors.js';
import { createDefaultLogger } from './core/logger.js';
import { resolveOptions, type ResolvedOptions } from './core/options.js';
import { Ticker } from './core/ticker.js';
import { ConnectionManager } from './connection/connection-manager.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { PortManager } from './accept/port-manager.js';
import { MetricsCollector } from './metrics/metrics-collector.js';
import { startPrometheusServer } from './metrics/prometheus-server.js';
import { RouteManager, compileIpMatcher, compileRoutes, type RouteTable } from './routing/index.js';
import type { ILogger, IMetrics, IRouteConfig, ISmartProxyOptions } from './types.js';
import { UpstreamPool } from './engines/http/upstream-pool.js';
import { pruneRouteRuntimes } from './engines/route-runtime.js';
import { CertStore, type ICertificateStatus } from './tls/cert-store.js';
import { defaultCertificatePair } from './tls/default-certificate.js';
import { createAcme, withChallengeRoute, type Acme } from './acme/index.js';
import { createEventSink, type ISmartProxyEvents } from './api/events.js';

/** A listener of one of the proxy's own events. */
type Listener<K extends keyof ISmartProxyEvents> = (payload: ISmartProxyEvents[K]) => void;
/** Any listener (for names that are not the proxy's own events). */
type AnyListener = (...args: never[]) => void;
/** A name that is not one of the proxy's own events (those take their typed overload). */
type OtherEvent<E> = E extends keyof ISmartProxyEvents ? never : E;

/** Test and embedding hooks that are not part of the options contract. */
export interface SmartProxyInternals {
  clock?: Clock;
  ticker?: Ticker;
}

/**
 * The options resolved, or one config error for everything wrong: when the options have
 * problems, the route table is checked too, so one throw lists the table's errors beside them.
 */
function resolveAll(options: ISmartProxyOptions): ResolvedOptions {
  try {
    return resolveOptions(options);
  } catch (err) {
    const routes: unknown = typeof options === 'object' && options !== null ? options.routes : undefined;
    if (!(err instanceof SmartProxyConfigError) || !Array.isArray(routes)) throw err;
    const problems = new ConfigErrorCollector();
    problems.errors.push(...err.errors);
    const seen = new Set(err.errors.map((e) => e.message));
    try {
      compileRoutes(routes as IRouteConfig[], { defaults: options.defaults, hasCertificateProvider: undefined });
    } catch (routeErr) {
      if (!(routeErr instanceof SmartProxyConfigError)) throw err;
      for (const e of routeErr.errors) if (!seen.has(e.message)) problems.errors.push(e);
    }
    problems.throwIfAny();
    throw err;
  }
}

/** Internals for the next `new SmartProxy(...)` on this thread (set by createSmartProxyWith). */
let injected: SmartProxyInternals | undefined;

/**
 * A SmartProxy on an injected clock and ticker (tests, simulations). Not part of the package's
 * public API: the constructor takes options only.
 */
export function createSmartProxyWith(options: ISmartProxyOptions, internals: SmartProxyInternals): SmartProxy {
  injected = internals;
  try {
    return new SmartProxy(options);
  } finally {
    injected = undefined;
  }
}

/**
 * The composition root: validated, frozen options -> components -> start / stop / updateRoutes.
 * Holds no socket logic: listeners, the dispatcher and engines, the connection manager and the
 * metrics do the work. Lifecycle calls run one at a time, in call order.
 */
export class SmartProxy extends EventEmitter {
  private readonly opts: ResolvedOptions;
  private readonly logger: ILogger;
  private readonly clock: Clock;
  private readonly ticker: Ticker;
  private readonly deadlines: DeadlineService;
  private readonly routes: RouteManager;
  private readonly metrics: MetricsCollector;
  private readonly cm: ConnectionManager;
  private readonly ports: PortManager;
  private readonly extraPorts = new Set<number>();
  private readonly healthCheckWarned = new Set<string>();
  private readonly pool: UpstreamPool;
  private readonly certStore: CertStore;
  /** ACME certificates and the internal challenge route, when `acme` is configured. */
  private readonly acme: Acme | undefined;
  private prometheus: { close(): Promise<void> } | undefined;
  private housekeeping: { cancel(): void } | undefined;
  private state: 'idle' | 'running' = 'idle';
  /** start/stop/updateRoutes/add-/removeListeningPort, serialised. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: ISmartProxyOptions) {
    super();
    const internals = injected ?? {};
    injected = undefined;
    const opts = (this.opts = resolveAll(options));
    const logger = (this.logger = opts.logger ?? createDefaultLogger());
    // 19.x options mapped away or not used: one warning each, naming the field
    for (const n of opts.notes) logger.warn({ field: n.path }, `${n.path}: ${n.message}`);
    const clock = (this.clock = internals.clock ?? systemClock);
    const onError = (err: unknown): void => logger.error({ err }, 'timer task failed');
    const ticker = (this.ticker = internals.ticker ?? new Ticker(clock, { onError }));
    this.deadlines = new DeadlineService(clock, ticker, onError);
    if (opts.acme !== undefined) {
      const onUpdate: Parameters<typeof createAcme>[0]['onUpdate'] = (key, outcome) => this.certStore.acmeUpdated(key, outcome);
      this.acme = createAcme({ options: opts.acme, logger, clock, ticker, onUpdate });
    }
    this.routes = new RouteManager(this.withInternalRoutes(options.routes), this.compileOptions());
    const m = opts.metrics;
    const metrics = (this.metrics = new MetricsCollector({ clock, ticker, ...m }));
    const events = createEventSink({
      emitter: this,
      clock,
      logger,
      refused: (what) => metrics.connectionRefused(what),
      requestServed: (route, ip) => metrics.requestServed(route, ip),
    });
    this.cm = new ConnectionManager({ options: opts, clock, ticker, deadlines: this.deadlines, metrics, logger, onBlocked: events.blocked, onClosed: events.closed });
    this.pool = new UpstreamPool({ clock, ticker, noDelay: opts.noDelay, keepAlive: opts.keepAlive, keepAliveInitialDelay: opts.keepAliveInitialDelay });
    const { defaultCertificate, ...tlsSettings } = opts.tls;
    this.certStore = new CertStore({
      logger,
      certProvisionFunction: opts.certProvisionFunction,
      acme: this.acme?.service,
      onEvent: (e, info) => events.emit(e, info),
      tls: { ...tlsSettings, sessionTickets: opts.allowSessionTicket },
      fallbackToAcme: opts.certProvisionFallbackToAcme,
      defaultCertificate: defaultCertificate === undefined ? undefined : defaultCertificatePair(defaultCertificate),
    });
    const dispatcher = new Dispatcher({
      options: opts,
      clock,
      ticker,
      logger,
      cm: this.cm,
      table: () => this.routes.table,
      proxyIPs: opts.proxyIPs.length > 0 ? compileIpMatcher(opts.proxyIPs, 'proxyIPs') : undefined,
      certStore: this.certStore,
      pool: this.pool,
      events: events.proxy,
    });
    const socketOptions = { noDelay: opts.noDelay, keepAlive: opts.keepAlive, keepAliveInitialDelay: opts.keepAliveInitialDelay };
    this.ports = new PortManager(opts.listenAddress, socketOptions, opts.nodeInternals, dispatcher, (err, port) => logger.error({ err, port }, 'listener error'));
  }

  // Listener methods typed for the proxy's own events (ISmartProxyEvents): a listener for one of
  // them gets its payload type (a listener typed for another payload is an error); any other
  // name works as on an EventEmitter.
  override on<K extends keyof ISmartProxyEvents>(event: K, listener: Listener<K>): this;
  override on<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  override on(event: string | symbol, listener: AnyListener): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override addListener<K extends keyof ISmartProxyEvents>(event: K, listener: Listener<K>): this;
  override addListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  override addListener(event: string | symbol, listener: AnyListener): this {
    return super.addListener(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof ISmartProxyEvents>(event: K, listener: Listener<K>): this;
  override once<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  override once(event: string | symbol, listener: AnyListener): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override prependListener<K extends keyof ISmartProxyEvents>(event: K, listener: Listener<K>): this;
  override prependListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  override prependListener(event: string | symbol, listener: AnyListener): this {
    return super.prependListener(event, listener as (...args: unknown[]) => void);
  }

  override prependOnceListener<K extends keyof ISmartProxyEvents>(event: K, listener: Listener<K>): this;
  override prependOnceListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  override prependOnceListener(event: string | symbol, listener: AnyListener): this {
    return super.prependOnceListener(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof ISmartProxyEvents>(event: K, listener: Listener<K>): this;
  override off<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  override off(event: string | symbol, listener: AnyListener): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  override removeListener<K extends keyof ISmartProxyEvents>(event: K, listener: Listener<K>): this;
  override removeListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  override removeListener(event: string | symbol, listener: AnyListener): this {
    return super.removeListener(event, listener as (...args: unknown[]) => void);
  }

  private compileOptions(): { defaults: ResolvedOptions['defaults']; hasCertificateProvider: boolean; logger: ILogger } {
    return {
      defaults: this.opts.defaults,
      hasCertificateProvider: this.opts.acme !== undefined || this.opts.certProvisionFunction !== undefined,
      logger: this.logger,
    };
  }

  /** The user's routes plus the ACME challenge route (appended: user routes keep their indexes) while any needs it. */
  private withInternalRoutes(routes: IRouteConfig[]): IRouteConfig[] {
    return withChallengeRoute(routes, this.acme?.challengeRoute);
  }

  private wantedPorts(table: RouteTable): Set<number> {
    return new Set([...table.ports, ...this.extraPorts]);
  }

  /**
   * loadBalancing.healthCheck is validated and kept, but no checks run yet: every target keeps
   * getting traffic (a failed connect still moves on to the next host). Said once per route.
   */
  private warnInactiveHealthChecks(table: RouteTable): void {
    const routes = table.routes.filter((r) => r.config.action.loadBalancing?.healthCheck !== undefined && !this.healthCheckWarned.has(r.name));
    if (routes.length === 0) return;
    for (const r of routes) this.healthCheckWarned.add(r.name);
    this.logger.warn(
      { routes: routes.map((r) => r.name) },
      `loadBalancing.healthCheck is not active yet (routes ${routes.map((r) => `'${r.name}'`).join(', ')}): targets are not probed; a target that refuses connections is skipped per request`,
    );
  }

  /** Run lifecycle calls one at a time, in the order they were made. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  start(): Promise<void> {
    return this.serial(async () => {
      if (this.state !== 'idle') throw new SmartProxyError('SPX_ERR_ALREADY_STARTED', 'start() called while running');
      try {
        await this.certStore.prepare(this.routes.table);
        this.cm.start();
        this.metrics.start();
        this.housekeeping = this.ticker.every(10_000, (now) => pruneRouteRuntimes(this.routes.table.routes, now));
        await this.ports.add(this.wantedPorts(this.routes.table));
        const prom = this.opts.metrics.prometheus;
        if (prom && this.opts.metrics.enabled) this.prometheus = await startPrometheusServer(this.metrics, prom);
        // ACME orders run in the background from here (the challenge port listens): start() never waits for a CA
        this.acme?.service.start();
      } catch (err) {
        await this.ports.closeAll();
        this.housekeeping?.cancel();
        this.cm.stop();
        this.metrics.stop();
        throw err;
      }
      this.state = 'running';
      this.warnInactiveHealthChecks(this.routes.table);
      if (this.opts.nodeInternals.raiseMallocThresholds) raiseMallocThresholds();
      this.logger.info({ ports: this.ports.ports() }, 'SmartProxy started');
    });
  }

  /** Stop accepting at once, wait up to gracefulShutdownTimeout for open connections, then close the rest. */
  stop(): Promise<void> {
    return this.serial(async () => {
      if (this.state === 'idle') return;
      await this.ports.closeAll();
      await this.acme?.service.stop();
      await this.prometheus?.close();
      this.prometheus = undefined;
      await this.cm.drain(this.opts.gracefulShutdownTimeout);
      this.pool.closeAll();
      this.housekeeping?.cancel();
      this.cm.stop();
      this.metrics.stop();
      this.deadlines.clear();
      this.ticker.stop();
      this.cm.resume();
      this.state = 'idle';
      this.logger.info('SmartProxy stopped');
    });
  }

  /** Compile the whole new table first; only then swap it in and reconcile the listeners. */
  updateRoutes(routes: IRouteConfig[]): Promise<void> {
    return this.serial(async () => {
      const next = this.routes.compile(this.withInternalRoutes(routes));
      const running = this.state === 'running';
      if (running) {
        await this.certStore.prepare(next);
        await this.ports.add(this.wantedPorts(next));
      }
      this.routes.swap(next);
      if (running) {
        this.warnInactiveHealthChecks(next);
        await this.ports.reconcile(this.wantedPorts(next));
        this.acme?.service.kick();
      }
    });
  }

  addListeningPort(port: number): Promise<void> {
    return this.serial(async () => {
      this.extraPorts.add(port);
      if (this.state === 'running') await this.ports.add([port]);
    });
  }

  removeListeningPort(port: number): Promise<void> {
    return this.serial(async () => {
      this.extraPorts.delete(port);
      await this.ports.remove(port);
    });
  }

  getListeningPorts(): number[] {
    return this.ports.ports();
  }

  getStats(): IMetrics {
    return this.metrics.getStats();
  }

  /** The 19.x name of getStats(): the same live object. */
  getMetrics(): IMetrics {
    return this.metrics.getStats();
  }

  /** Certificate state of a route's TLS termination (undefined for routes that terminate nothing). */
  getCertificateStatus(routeName: string): ICertificateStatus | undefined {
    return this.certStore.status(routeName);
  }

  getPrometheusMetrics(): Promise<string> {
    return this.metrics.prometheusText();
  }

  /** Open connection records (for diagnostics and tests). */
  get connectionCount(): number {
    return this.cm.size;
  }

  /** Internal bookkeeping sizes, for diagnostics and leak tests. */
  getDiagnostics(): { connectionRecords: number; trackedIps: number; metricsTrackedIps: number; tickerTasks: number; deadlines: number; idleUpstreamSockets: number } {
    return {
      connectionRecords: this.cm.size,
      trackedIps: this.cm.trackedIps,
      metricsTrackedIps: this.metrics.trackedIpCount(),
      tickerTasks: this.ticker.size,
      deadlines: this.deadlines.size,
      idleUpstreamSockets: this.pool.idleCount,
    };
  }
}
