import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from './core/clock.js';
import { raiseMallocThresholds } from './core/node-internals.js';
import { SmartProxyError } from './core/errors.js';
import { createDefaultLogger } from './core/logger.js';
import { resolveOptions, type ResolvedOptions } from './core/options.js';
import { Ticker } from './core/ticker.js';
import { ConnectionManager } from './connection/connection-manager.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { PortManager } from './accept/port-manager.js';
import { MetricsCollector } from './metrics/metrics-collector.js';
import { startPrometheusServer } from './metrics/prometheus-server.js';
import { RouteManager, compileIpMatcher, type RouteTable } from './routing/index.js';
import type { ILogger, IMetrics, IRouteConfig, ISmartProxyOptions } from './types.js';
import type { ConnectionRecord } from './connection/connection-record.js';
import { UpstreamPool } from './engines/http/upstream-pool.js';
import { CertStore, type ICertificateStatus } from './tls/cert-store.js';
import { createAcme, withChallengeRoute, type Acme } from './acme/index.js';

/** Test and embedding hooks that are not part of the options contract. */
export interface SmartProxyInternals {
  clock?: Clock;
  ticker?: Ticker;
}

/**
 * The facade: options -> components -> start / stop / updateRoutes. Holds no socket logic
 * itself: listeners, the dispatcher, the connection manager and the metrics do the work.
 */
export class SmartProxy extends EventEmitter {
  private readonly opts: ResolvedOptions;
  private readonly logger: ILogger;
  private readonly clock: Clock;
  private readonly ticker: Ticker;
  private readonly routes: RouteManager;
  private readonly metrics: MetricsCollector;
  private readonly cm: ConnectionManager;
  private readonly ports: PortManager;
  private readonly extraPorts = new Set<number>();
  private readonly pool: UpstreamPool;
  private readonly certStore: CertStore;
  /** ACME certificates and the internal challenge route, when `acme` is configured. */
  private readonly acme: Acme | undefined;
  private prometheus: { close(): Promise<void> } | undefined;
  private state: 'idle' | 'starting' | 'running' | 'stopping' = 'idle';

  constructor(options: ISmartProxyOptions, internals: SmartProxyInternals = {}) {
    super();
    this.opts = resolveOptions(options);
    this.logger = this.opts.logger ?? createDefaultLogger();
    this.clock = internals.clock ?? systemClock;
    this.ticker = internals.ticker ?? new Ticker(this.clock, { onError: (err) => this.logger.error({ err }, 'periodic task failed') });
    if (this.opts.acme !== undefined) {
      const onUpdate = (key: string, outcome: Parameters<CertStore['acmeUpdated']>[1]): void => this.certStore.acmeUpdated(key, outcome);
      this.acme = createAcme({ options: this.opts.acme, logger: this.logger, clock: this.clock, ticker: this.ticker, onUpdate });
    }
    this.routes = new RouteManager(this.withInternalRoutes(options.routes), this.compileOptions());
    const proxyIPs = this.opts.proxyIPs.length > 0 ? compileIpMatcher(this.opts.proxyIPs, 'options.proxyIPs') : undefined;
    const m = this.opts.metrics;
    this.metrics = new MetricsCollector({
      clock: this.clock,
      ticker: this.ticker,
      enabled: m.enabled,
      sampleIntervalMs: m.sampleIntervalMs,
      retentionSeconds: m.retentionSeconds,
      maxTrackedIPs: m.maxTrackedIPs,
    });
    this.cm = new ConnectionManager({
      options: this.opts,
      clock: this.clock,
      ticker: this.ticker,
      metrics: this.metrics,
      logger: this.logger,
      onBlocked: (info) => this.emitSafe('security:blocked', info),
      onClosed: (r) =>
        this.emitSafe('connection:close', () => ({
          connectionId: r.idText,
          clientIp: r.clientIp,
          port: r.localPort,
          route: r.routeName,
          bytesIn: r.bytesIn(),
          bytesOut: r.bytesOut(),
          durationMs: this.clock.now() - r.startTime,
          clientReason: r.clientTermination,
          backendReason: r.backendTermination,
        })),
    });
    this.pool = new UpstreamPool({
      clock: this.clock,
      ticker: this.ticker,
      connectTimeoutMs: this.opts.connectionTimeout,
      responseTimeoutMs: this.opts.socketTimeout,
      keepAlive: this.opts.keepAlive,
      keepAliveInitialDelay: this.opts.keepAliveInitialDelay,
    });
    this.certStore = new CertStore({
      logger: this.logger,
      certProvisionFunction: this.opts.certProvisionFunction,
      acme: this.acme?.service,
      onEvent: (event, info) => this.emitSafe(event, info),
    });
    const protocolError = (r: ConnectionRecord, what: string): void => {
      this.metrics.connectionRefused(what);
      this.logger.debug({ conn: r.idText, clientIp: r.clientIp, what }, 'connection closed: protocol error');
      this.emitSafe('connection:error', { connectionId: r.idText, clientIp: r.clientIp, port: r.localPort, reason: what });
    };
    const routeMiss = (info: { clientIp: string; port: number; domain: string | undefined; connectionId: string }): void => this.emitSafe('route:miss', info);
    const requestServed = (route: string, ip: string): void => this.metrics.requestServed(route, ip);
    const dispatcher = new Dispatcher({
      options: this.opts,
      cm: this.cm,
      clock: this.clock,
      logger: this.logger,
      table: () => this.routes.table,
      proxyIPs,
      requestServed,
      certStore: this.certStore,
      http: {
        options: this.opts,
        cm: this.cm,
        clock: this.clock,
        ticker: this.ticker,
        logger: this.logger,
        pool: this.pool,
        proxyIPs,
        table: () => this.routes.table,
        requestServed,
        routeMiss: (r, domain) => routeMiss({ clientIp: r.clientIp, port: r.localPort, domain, connectionId: r.idText }),
        protocolError,
      },
      events: {
        routeMiss,
        opened: (r) =>
          this.emitSafe('connection:open', () => ({
            connectionId: r.idText,
            clientIp: r.clientIp,
            clientPort: r.clientPort,
            port: r.localPort,
            route: r.routeName,
            sni: r.facts?.sni,
          })),
        protocolError,
      },
    });
    this.ports = new PortManager(
      this.opts.listenAddress,
      { keepAlive: this.opts.keepAlive, keepAliveInitialDelay: this.opts.keepAliveInitialDelay },
      dispatcher,
      (err, port) => this.logger.error({ err, port }, 'listener error'),
    );
  }

  private compileOptions(): { defaults: ResolvedOptions['defaults']; hasCertificateProvider: boolean; logger: ILogger } {
    return {
      defaults: this.opts.defaults,
      hasCertificateProvider: this.opts.acme !== undefined || this.opts.certProvisionFunction !== undefined,
      logger: this.logger,
    };
  }

  /**
   * Listeners never throw into the proxy: an 'error'-less emitter must not crash the host.
   * A payload given as a function is built only when someone listens.
   */
  private emitSafe(event: string, payload: unknown): void {
    if (this.listenerCount(event) === 0) return;
    try {
      this.emit(event, typeof payload === 'function' ? (payload as () => unknown)() : payload);
    } catch (err) {
      this.logger.error({ err, event }, 'event listener threw');
    }
  }

  /** The user's routes plus the ACME challenge route (appended: user routes keep their indexes) while any needs it. */
  private withInternalRoutes(routes: IRouteConfig[]): IRouteConfig[] {
    return withChallengeRoute(routes, this.acme?.challengeRoute);
  }

  private wantedPorts(table: RouteTable): Set<number> {
    return new Set([...table.ports, ...this.extraPorts]);
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new SmartProxyError('SPX_ERR_ALREADY_STARTED', `start() called while ${this.state}`);
    this.state = 'starting';
    try {
      await this.certStore.prepare(this.routes.table);
      this.cm.start();
      this.metrics.start();
      await this.ports.add(this.wantedPorts(this.routes.table));
      const prom = this.opts.metrics.prometheus;
      if (prom && this.opts.metrics.enabled) this.prometheus = await startPrometheusServer(this.metrics, prom);
      // ACME orders run in the background from here (the challenge port listens): start() never waits for a CA
      this.acme?.service.start();
    } catch (err) {
      await this.ports.closeAll();
      this.cm.stop();
      this.metrics.stop();
      this.state = 'idle';
      throw err;
    }
    this.state = 'running';
    raiseMallocThresholds();
    this.logger.info({ ports: this.ports.ports() }, 'SmartProxy started');
  }

  /** Stop accepting at once, wait up to gracefulShutdownTimeout for open connections, then destroy the rest. */
  async stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopping') return;
    this.state = 'stopping';
    await this.ports.closeAll();
    await this.acme?.service.stop();
    await this.prometheus?.close();
    this.prometheus = undefined;
    await this.cm.drain(this.opts.gracefulShutdownTimeout);
    this.pool.closeAll();
    this.cm.stop();
    this.metrics.stop();
    this.ticker.stop();
    this.cm.resume();
    this.state = 'idle';
    this.logger.info('SmartProxy stopped');
  }

  /** Compile the whole new table first; only then swap it in and reconcile the listeners. */
  async updateRoutes(routes: IRouteConfig[]): Promise<void> {
    const next = this.routes.compile(this.withInternalRoutes(routes));
    if (this.state === 'running') {
      await this.certStore.prepare(next);
      await this.ports.add(this.wantedPorts(next));
    }
    this.routes.swap(next);
    if (this.state === 'running') {
      await this.ports.reconcile(this.wantedPorts(next));
      this.acme?.service.kick();
    }
  }

  async addListeningPort(port: number): Promise<void> {
    this.extraPorts.add(port);
    if (this.state === 'running') await this.ports.add([port]);
  }

  async removeListeningPort(port: number): Promise<void> {
    this.extraPorts.delete(port);
    await this.ports.remove(port);
  }

  getListeningPorts(): number[] {
    return this.ports.ports();
  }

  getStats(): IMetrics {
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
  getDiagnostics(): { connectionRecords: number; trackedIps: number; metricsTrackedIps: number; tickerTasks: number } {
    return {
      connectionRecords: this.cm.size,
      trackedIps: this.cm.trackedIps,
      metricsTrackedIps: this.metrics.trackedIpCount(),
      tickerTasks: this.ticker.size,
    };
  }
}
