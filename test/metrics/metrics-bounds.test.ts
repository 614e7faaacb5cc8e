import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentSamples, nearestRank } from '../../ts/metrics/recent-samples.js';
import { FakeConnection } from './fake-connection.js';
import { setup } from './setup.js';

describe('percentiles', () => {
  test('nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(nearestRank(sorted, 0.5), 50);
    assert.equal(nearestRank(sorted, 0.95), 95);
    assert.equal(nearestRank(sorted, 0.99), 99);
    assert.equal(nearestRank([7], 0.99), 7);
  });

  test('RecentSamples holds at most capacity observations', () => {
    const r = new RecentSamples(8, 2);
    for (let i = 0; i < 100; i++) r.push(i, -i);
    assert.equal(r.count, 8);
    assert.deepEqual(r.percentiles(0), { p50: 95, p95: 99, p99: 99 });
    assert.deepEqual(r.percentiles(1), { p50: -96, p95: -92, p99: -92 });
    assert.deepEqual(new RecentSamples(4, 1).percentiles(0), { p50: 0, p95: 0, p99: 0 });
  });

  test('duration and bytes percentiles of closed connections', () => {
    const { collector, stats, clock } = setup();
    assert.deepEqual(stats.percentiles.connectionDuration(), { p50: 0, p95: 0, p99: 0 });
    for (let i = 1; i <= 100; i++) {
      const conn = new FakeConnection('10.0.0.1', clock.now() - i * 10);
      collector.connectionOpened(conn);
      conn.move(i, 2 * i);
      collector.connectionClosed(conn);
    }
    assert.deepEqual(stats.percentiles.connectionDuration(), { p50: 500, p95: 950, p99: 990 });
    assert.deepEqual(stats.percentiles.bytesTransferred(), {
      in: { p50: 50, p95: 95, p99: 99 },
      out: { p50: 100, p95: 190, p99: 198 },
    });
  });

  test('1e6 closed connections: bounded structure, percentiles follow the most recent 1024', () => {
    const { collector, stats, clock } = setup();
    const conn = new FakeConnection('10.0.0.1', 0);
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      // reuse one record (the map is keyed by identity and emptied on close)
      (conn as { startTime: number }).startTime = clock.now() - (i % 1000);
      conn.in = i < 999_000 ? 1 : 1_000_000 + (i % 1024);
      conn.out = 0;
      conn.metricsSampledIn = 0;
      conn.metricsSampledOut = 0;
      collector.connectionOpened(conn);
      collector.connectionClosed(conn);
    }
    const elapsed = performance.now() - started;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.equal(stats.connections.total(), 1_000_000);
    assert.equal(stats.connections.active(), 0);
    // only the last 1024 connections (all >= 1e6 bytes in) remain in the structure
    const p = stats.percentiles.bytesTransferred().in;
    assert.ok(p.p50 >= 1_000_000, `p50 ${p.p50} from the recent window only`);
    // an ever-growing array of 3e6 numbers would be >= 24 MB; allow generous GC noise
    assert.ok(heapGrowth < 16 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
    assert.ok(elapsed < 20_000, `took ${elapsed} ms`);
  });
});

describe('per-IP bounds', () => {
  test('at most maxTrackedIPs tracked; the rest aggregated under "other" for the life of their connections', () => {
    const { collector, stats, open, tick } = setup({ maxTrackedIPs: 3 });
    const conns = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.5'].map((ip) => open(ip, 'r'));
    for (const c of conns) c.move(10, 1);
    collector.sample();
    tick(1000);
    assert.equal(collector.trackedIpCount(), 3);
    assert.deepEqual(
      stats.connections.byIP(),
      new Map([['10.0.0.1', 1], ['10.0.0.2', 1], ['10.0.0.3', 1], ['other', 3]]),
    );
    assert.deepEqual(stats.throughput.byIP().get('other'), { in: 30, out: 3 });
    assert.equal(stats.throughput.byIP().size, 4);
    assert.ok(stats.connections.topIPs().every((r) => r.ip !== 'other'));
    // an IP leaves: its slot frees after the idle period, the new IP gets it,
    // while connections already counted under "other" stay there until they close
    collector.connectionClosed(conns[0]!);
    for (let i = 0; i < 75; i++) tick(1000); // no ticker task: prune explicitly below
    collector.prune();
    assert.equal(collector.trackedIpCount(), 2);
    const late = open('10.0.0.9', 'r');
    assert.equal(collector.trackedIpCount(), 3);
    const another = open('10.0.0.4'); // 10.0.0.4 already has a connection under "other"; table full again
    assert.equal(stats.connections.byIP().get('other'), 4);
    for (const c of [...conns.slice(1), late, another]) collector.connectionClosed(c);
    assert.deepEqual(stats.connections.byIP(), new Map());
  });

  test('idle IPs are pruned on the sampling tick; an IP that still has a connection is kept', () => {
    const { collector, stats, open, tick } = setup();
    collector.start();
    const keep = open('10.1.0.1', 'r');
    for (let i = 0; i < 500; i++) {
      const c = open(`10.2.${i >> 8}.${i & 255}`, 'r');
      c.move(100, 100);
      collector.connectionClosed(c);
    }
    assert.equal(collector.trackedIpCount(), 501);
    tick(1000);
    assert.equal(stats.throughput.byIP().size, 501);
    for (let i = 0; i < 59; i++) tick(1000);
    assert.equal(collector.trackedIpCount(), 501, 'kept for at least 60 s');
    for (let i = 0; i < 15; i++) tick(1000);
    assert.equal(collector.trackedIpCount(), 1);
    assert.deepEqual([...stats.throughput.byIP().keys()], ['10.1.0.1']);
    collector.connectionClosed(keep);
    collector.stop();
  });

  test('a large byIP window keeps idle IPs at least that long', () => {
    const { collector, stats, open, tick } = setup();
    const c = open('10.0.0.1');
    c.move(1, 1);
    collector.sample();
    collector.connectionClosed(c);
    stats.throughput.byIP(300);
    for (let i = 0; i < 200; i++) tick(1000);
    collector.prune();
    assert.equal(collector.trackedIpCount(), 1);
    for (let i = 0; i < 110; i++) tick(1000);
    collector.prune();
    assert.equal(collector.trackedIpCount(), 0);
  });
});

describe('enabled: false', () => {
  test('hooks are no-ops, nothing is scheduled or read, stats are zeros', async () => {
    const { collector, ticker, stats, clock } = setup({ enabled: false });
    collector.start();
    assert.equal(ticker.size, 0);
    const conn = new FakeConnection('10.0.0.1', clock.now());
    collector.connectionOpened(conn);
    collector.connectionRouted(conn, 'r');
    assert.equal(conn.routeName, 'r', 'the route is still recorded on the connection');
    conn.move(1000, 1000);
    collector.sample();
    collector.requestServed('r', '10.0.0.1');
    collector.connectionRefused('blocked');
    collector.connectionEnded('client', 'reset');
    collector.connectionClosed(conn);
    assert.equal(conn.reads, 0, 'byte counters never read');
    assert.equal(stats.connections.active(), 0);
    assert.equal(stats.connections.total(), 0);
    assert.deepEqual(stats.connections.byIP(), new Map());
    assert.deepEqual(stats.connections.topIPs(), []);
    assert.deepEqual(stats.throughput.instant(), { in: 0, out: 0 });
    assert.deepEqual(stats.throughput.custom(30), { in: 0, out: 0 });
    assert.deepEqual(stats.throughput.history(10), []);
    assert.deepEqual(stats.throughput.byRoute(), new Map());
    assert.equal(stats.requests.total(), 0);
    assert.equal(stats.totals.bytesIn(), 0);
    assert.deepEqual(stats.percentiles.bytesTransferred().in, { p50: 0, p95: 0, p99: 0 });
    assert.deepEqual(collector.terminationStats(), { client: {}, backend: {}, proxy: {} });
  });
});

describe('refusals and terminations', () => {
  test('counted by reason, with a bounded number of reasons', () => {
    const { collector } = setup();
    collector.connectionEnded('client', 'reset');
    collector.connectionEnded('client', 'reset');
    collector.connectionEnded('backend', 'timeout');
    assert.deepEqual(collector.terminationStats(), { client: { reset: 2 }, backend: { timeout: 1 }, proxy: {} });
    assert.deepEqual(collector.closeStats(), { reset: 2, timeout: 1 });
    for (let i = 0; i < 200; i++) collector.connectionRefused(`reason-${i}`);
    const refused = collector.refusalStats();
    assert.ok(Object.keys(refused).length <= 65);
    assert.equal(Object.values(refused).reduce((a, b) => a + b, 0), 200);
  });
});
