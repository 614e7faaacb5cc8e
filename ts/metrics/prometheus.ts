/**
 * Prometheus exposition of the collector's counters through prom-client, on a
 * private Registry (never the global default one). Values are read from the
 * collector at scrape time (`collect()`), so the hot path never touches
 * prom-client. Labels are bounded: route names (bounded by the route table),
 * refusal/termination reasons (bounded by ReasonCounter); never a client IP.
 * prom-client is loaded on the first scrape (`PrometheusExporter.create`): a proxy that is
 * never scraped does not carry its ~1.6 MiB of heap.
 */
import type { Registry } from 'prom-client';
import type { RouteEntry } from './route-table.js';

/** `route` label value for bytes of connections that had no route when sampled. */
export const UNROUTED_LABEL = '(unrouted)';

export interface PrometheusSource {
  activeConnections(): number;
  totalConnections(): number;
  routes(): Iterable<RouteEntry>;
  unroutedBytes(): { in: number; out: number };
  refusals(): Iterable<[string, number]>;
  closes(): Iterable<[string, number]>;
  terminations(side: 'client' | 'backend' | 'proxy'): Iterable<[string, number]>;
  trackedIps(): number;
}

type PromClient = typeof import('prom-client');

export class PrometheusExporter {
  readonly registry: Registry;

  static async create(source: PrometheusSource): Promise<PrometheusExporter> {
    return new PrometheusExporter(source, await import('prom-client'));
  }

  private constructor(source: PrometheusSource, { Counter, Gauge, Registry }: PromClient) {
    this.registry = new Registry();
    const registers = [this.registry];
    new Gauge({
      name: 'smartproxy_connections_active',
      help: 'Open client connections',
      registers,
      collect() {
        this.set(source.activeConnections());
      },
    });
    new Counter({
      name: 'smartproxy_connections_total',
      help: 'Client connections accepted since start',
      registers,
      collect() {
        this.reset();
        this.inc(source.totalConnections());
      },
    });
    new Counter({
      name: 'smartproxy_bytes_total',
      help: 'Bytes on client-facing sockets; direction in = from clients, out = to clients',
      labelNames: ['direction', 'route'],
      registers,
      collect() {
        this.reset();
        for (const r of source.routes()) {
          this.inc({ direction: 'in', route: r.name }, r.bytesIn);
          this.inc({ direction: 'out', route: r.name }, r.bytesOut);
        }
        const un = source.unroutedBytes();
        if (un.in > 0 || un.out > 0) {
          this.inc({ direction: 'in', route: UNROUTED_LABEL }, un.in);
          this.inc({ direction: 'out', route: UNROUTED_LABEL }, un.out);
        }
      },
    });
    new Counter({
      name: 'smartproxy_requests_total',
      help: 'HTTP requests served (connections on L4 routes)',
      labelNames: ['route'],
      registers,
      collect() {
        this.reset();
        for (const r of source.routes()) this.inc({ route: r.name }, r.requests);
      },
    });
    new Counter({
      name: 'smartproxy_route_connections_total',
      help: 'Connections routed to a route since start',
      labelNames: ['route'],
      registers,
      collect() {
        this.reset();
        for (const r of source.routes()) this.inc({ route: r.name }, r.connections);
      },
    });
    new Gauge({
      name: 'smartproxy_route_connections_active',
      help: 'Open connections per route',
      labelNames: ['route'],
      registers,
      collect() {
        this.reset();
        for (const r of source.routes()) this.set({ route: r.name }, r.active);
      },
    });
    new Counter({
      name: 'smartproxy_connections_refused_total',
      help: 'Connections refused, by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of source.refusals()) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'smartproxy_connections_closed_total',
      help: 'Connections closed, by reason (one close per connection)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of source.closes()) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'smartproxy_connection_terminations_total',
      help: 'Connections closed, by the side that ended them (client, backend, proxy) and reason',
      labelNames: ['side', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const side of ['client', 'backend', 'proxy'] as const) {
          for (const [reason, n] of source.terminations(side)) this.inc({ side, reason }, n);
        }
      },
    });
    new Gauge({
      name: 'smartproxy_tracked_ips',
      help: 'Client IPs tracked individually by the metrics collector',
      registers,
      collect() {
        this.set(source.trackedIps());
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
