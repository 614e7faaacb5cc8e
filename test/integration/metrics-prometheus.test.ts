/**
 * Prometheus exposition through the real proxy (parsed with a real parser), the HTTP endpoint
 * from `metrics.prometheus`, and `metrics.enabled: false`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { startProxy, freePort, freePorts } from './harness.js';
import { startTcpEchoServer } from '../helpers/backends.js';
import { connectTo, readUntil, tcpRoundTrip } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import type { IRouteConfig } from '../../ts/index.js';

function forward(name: string | undefined, port: number, target: number): IRouteConfig {
  const r: IRouteConfig = { match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: target } } };
  if (name !== undefined) r.name = name;
  return r;
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const sample = families
    .find((f) => f.name === name)
    ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

function assertNoIpLabels(families: ParsedFamily[]): void {
  for (const f of families) {
    for (const m of f.metrics) {
      for (const [k, v] of Object.entries(m.labels ?? {})) {
        assert.equal(isIP(v), 0, `${f.name}{${k}="${v}"} carries an IP address`);
        assert.ok(!v.includes('127.0.0.1'), `${f.name}{${k}="${v}"}`);
      }
    }
  }
}

test('getPrometheusMetrics(): gauges and counters match getStats(), no label is a client IP', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const [pa, pb] = await freePorts(2);
  const proxy = await startProxy(t, { listenAddress: '::', routes: [forward('alpha', pa!, echo.port), forward(undefined, pb!, echo.port)] });
  const stats = proxy.getStats();
  // Two finished connections on 'alpha', one on 'route-1', then one left open on 'alpha'.
  assert.equal((await tcpRoundTrip(pa!, Buffer.alloc(1000, 1))).length, 1000);
  assert.equal((await tcpRoundTrip(pa!, Buffer.alloc(500, 1))).length, 500);
  assert.equal((await tcpRoundTrip(pb!, Buffer.alloc(70, 1))).length, 70);
  await waitFor(() => proxy.connectionCount === 0, 5000);
  const open = await connectTo(pa!);
  t.after(() => open.destroy());
  open.write('x');
  await readUntil(open, (b) => b.length >= 1);

  const families = parsePrometheusTextFormat(await proxy.getPrometheusMetrics());
  const types = new Map(families.map((f) => [f.name, f.type]));
  assert.equal(types.get('smartproxy_connections_active'), 'GAUGE');
  assert.equal(types.get('smartproxy_connections_total'), 'COUNTER');
  assert.equal(types.get('smartproxy_bytes_total'), 'COUNTER');
  assert.equal(types.get('smartproxy_requests_total'), 'COUNTER');
  assert.equal(value(families, 'smartproxy_connections_active'), stats.connections.active());
  assert.equal(value(families, 'smartproxy_connections_active'), 1);
  assert.equal(value(families, 'smartproxy_connections_total'), stats.connections.total());
  assert.equal(value(families, 'smartproxy_connections_total'), 4);
  // Bytes of closed connections are sampled on close; the open one's byte may not be yet.
  assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'in', route: 'route-1' }), 70);
  assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'out', route: 'route-1' }), 70);
  const alphaIn = value(families, 'smartproxy_bytes_total', { direction: 'in', route: 'alpha' });
  assert.ok(alphaIn === 1500 || alphaIn === 1501, String(alphaIn));
  assert.equal(value(families, 'smartproxy_requests_total', { route: 'alpha' }), 3);
  assert.equal(value(families, 'smartproxy_requests_total', { route: 'route-1' }), 1);
  assert.equal(stats.requests.total(), 4);
  assertNoIpLabels(families);

  open.destroy();
  await waitFor(() => proxy.connectionCount === 0, 5000);
  const after = parsePrometheusTextFormat(await proxy.getPrometheusMetrics());
  assert.equal(value(after, 'smartproxy_connections_active'), 0);
  const sumIn = ['alpha', 'route-1'].reduce((s, r) => s + (value(after, 'smartproxy_bytes_total', { direction: 'in', route: r }) ?? 0), 0);
  const sumOut = ['alpha', 'route-1'].reduce((s, r) => s + (value(after, 'smartproxy_bytes_total', { direction: 'out', route: r }) ?? 0), 0);
  assert.equal(sumIn, stats.totals.bytesIn());
  assert.equal(sumOut, stats.totals.bytesOut());
  assert.equal(sumIn, 1571);
  assertNoIpLabels(after);
});

test('metrics.prometheus.port serves the text format over HTTP while the proxy runs', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const [port, promPort] = await freePorts(2);
  const proxy = await startProxy(t, { routes: [forward('web', port!, echo.port)], metrics: { prometheus: { port: promPort! } } });
  assert.equal((await tcpRoundTrip(port!, 'hello')).toString(), 'hello');
  await waitFor(() => proxy.connectionCount === 0, 5000);
  const res = await fetch(`http://127.0.0.1:${promPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text());
  assert.equal(value(families, 'smartproxy_connections_total'), 1);
  assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'in', route: 'web' }), 5);
  assert.equal(value(families, 'smartproxy_requests_total', { route: 'web' }), 1);
  assertNoIpLabels(families);
  await proxy.stop();
  await assert.rejects(fetch(`http://127.0.0.1:${promPort}/metrics`, { signal: AbortSignal.timeout(2000) }), 'the endpoint closes with the proxy');
});

test('metrics.enabled: false -> getStats() is all zeros and the proxy still forwards', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [forward('quiet', port, echo.port)], metrics: { enabled: false } });
  const stats = proxy.getStats();
  assert.equal((await tcpRoundTrip(port, Buffer.alloc(4096, 2))).length, 4096);
  const open = await connectTo(port);
  t.after(() => open.destroy());
  open.write('abc');
  await readUntil(open, (b) => b.length >= 3);
  assert.equal(proxy.connectionCount, 1);
  assert.equal(stats.connections.active(), 0);
  assert.equal(stats.connections.total(), 0);
  assert.equal(stats.connections.byRoute().size, 0);
  assert.equal(stats.connections.byIP().size, 0);
  assert.deepEqual(stats.connections.topIPs(), []);
  assert.equal(stats.totals.bytesIn(), 0);
  assert.equal(stats.totals.bytesOut(), 0);
  assert.equal(stats.totals.connections(), 0);
  assert.equal(stats.requests.total(), 0);
  assert.deepEqual(stats.throughput.instant(), { in: 0, out: 0 });
  assert.ok(stats.throughput.history(5).every((e) => e.in === 0 && e.out === 0));
  assert.equal(stats.throughput.byRoute().size, 0);
  assert.equal(proxy.getDiagnostics().metricsTrackedIps, 0);
});
