import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { register as globalRegister } from 'prom-client';
import { startPrometheusServer } from '../../ts/metrics/prometheus-server.js';
import { setup } from './setup.js';

function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  return sample?.value === undefined ? undefined : Number(sample.value);
}

function populated() {
  const env = setup();
  const { collector, open, clock } = env;
  const a = open('203.0.113.9', 'api');
  const b = open('203.0.113.10', 'web');
  const c = open('203.0.113.11'); // never routed
  a.move(1000, 5000);
  b.move(10, 20);
  c.move(7, 0);
  clock.advance(500);
  collector.sample();
  collector.requestServed('api', '203.0.113.9');
  collector.requestServed('api', '203.0.113.9');
  collector.requestServed('web', '203.0.113.10');
  collector.connectionRefused('ip-blocked');
  collector.connectionEnded('client', 'reset');
  collector.connectionEnded('backend', 'timeout');
  collector.connectionClosed(c);
  return { ...env, conns: { a, b, c } };
}

describe('Prometheus exposition', () => {
  test('parses with a real parser; names, types, labels and values', async () => {
    const { collector } = populated();
    const text = await collector.prometheusText();
    const families = parsePrometheusTextFormat(text);
    const types = new Map(families.map((f) => [f.name, f.type]));
    assert.equal(types.get('smartproxy_connections_active'), 'GAUGE');
    assert.equal(types.get('smartproxy_connections_total'), 'COUNTER');
    assert.equal(types.get('smartproxy_bytes_total'), 'COUNTER');
    assert.equal(types.get('smartproxy_requests_total'), 'COUNTER');
    assert.equal(value(families, 'smartproxy_connections_active'), 2);
    assert.equal(value(families, 'smartproxy_connections_total'), 3);
    assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'in', route: 'api' }), 1000);
    assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'out', route: 'api' }), 5000);
    assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'in', route: 'web' }), 10);
    assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'in', route: '(unrouted)' }), 7);
    assert.equal(value(families, 'smartproxy_requests_total', { route: 'api' }), 2);
    assert.equal(value(families, 'smartproxy_requests_total', { route: 'web' }), 1);
    assert.equal(value(families, 'smartproxy_route_connections_active', { route: 'api' }), 1);
    assert.equal(value(families, 'smartproxy_connections_refused_total', { reason: 'ip-blocked' }), 1);
    assert.equal(value(families, 'smartproxy_connection_terminations_total', { side: 'client', reason: 'reset' }), 1);
    assert.equal(value(families, 'smartproxy_connection_terminations_total', { side: 'backend', reason: 'timeout' }), 1);
    assert.equal(value(families, 'smartproxy_connections_closed_total', { reason: 'reset' }), 1);
    assert.equal(value(families, 'smartproxy_connections_closed_total', { reason: 'timeout' }), 1);
    // no label ever carries a client IP
    for (const f of families) {
      for (const m of f.metrics) {
        for (const v of Object.values(m.labels ?? {})) assert.ok(!v.startsWith('203.0.113.'), `${f.name} has IP label ${v}`);
      }
    }
    assert.ok(!text.includes('203.0.113.'));
  });

  test('values follow later activity; the global registry is untouched', async () => {
    const { collector, conns, clock } = populated();
    await collector.prometheusText();
    conns.a.move(24, 0);
    clock.advance(1000);
    collector.connectionClosed(conns.a);
    const families = parsePrometheusTextFormat(await collector.prometheusText());
    assert.equal(value(families, 'smartproxy_bytes_total', { direction: 'in', route: 'api' }), 1024);
    assert.equal(value(families, 'smartproxy_connections_active'), 1);
    assert.equal(globalRegister.getSingleMetric('smartproxy_connections_active'), undefined);
    assert.ok(!(await globalRegister.metrics()).includes('smartproxy_'));
    // a second collector has its own registry: no duplicate-name error
    const other = setup().collector;
    assert.match(await other.prometheusText(), /smartproxy_connections_total 0/);
  });

  test('served over HTTP on 127.0.0.1 port 0', async (t) => {
    const { collector } = populated();
    const server = await startPrometheusServer(collector, { port: 0 });
    t.after(() => server.close());
    assert.ok(server.port > 0);
    const base = `http://127.0.0.1:${server.port}`;
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await res.text());
    assert.equal(value(families, 'smartproxy_connections_total'), 3);
    const missing = await fetch(`${base}/other`, { signal: AbortSignal.timeout(5000) });
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    const post = await fetch(`${base}/metrics`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });

  test('custom path; close() is idempotent and frees the port', async () => {
    const { collector } = populated();
    const server = await startPrometheusServer(collector, { port: 0, path: '/m', host: '127.0.0.1' });
    const res = await fetch(`http://127.0.0.1:${server.port}/m?x=1`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    await res.text();
    await Promise.all([server.close(), server.close()]);
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/m`, { signal: AbortSignal.timeout(5000) }));
  });

  test('a port in use rejects', async (t) => {
    const { collector } = populated();
    const first = await startPrometheusServer(collector, { port: 0 });
    t.after(() => first.close());
    await assert.rejects(startPrometheusServer(collector, { port: first.port }), /EADDRINUSE/);
  });
});
