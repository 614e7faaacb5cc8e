import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MiB, setup } from './setup.js';

describe('MetricsCollector: throughput without drift', () => {
  test('1 MiB/s for 60 simulated minutes, then idle: rates fall to 0 while the connection stays open', () => {
    const { collector, stats, open, tick, clock } = setup();
    collector.start();
    const conn = open('192.0.2.7', 'web');
    const startSecond = Math.floor(clock.now() / 1000);
    for (let i = 0; i < 3600; i++) {
      conn.move(MiB, MiB / 2);
      tick(1000); // ticker samples at the new time, into the second that just began
    }
    // the last sample sits in the current, incomplete second; move on one second so it is complete
    tick(1000);
    assert.deepEqual(stats.throughput.instant(), { in: MiB, out: MiB / 2 });
    assert.deepEqual(stats.throughput.recent(), { in: MiB, out: MiB / 2 });
    assert.deepEqual(stats.throughput.average(), { in: MiB, out: MiB / 2 });
    assert.deepEqual(stats.throughput.byRoute().get('web'), { in: MiB, out: MiB / 2 });
    assert.deepEqual(stats.throughput.byIP().get('192.0.2.7'), { in: MiB, out: MiB / 2 });

    const history = stats.throughput.history(3600);
    assert.equal(history.length, 3600);
    assert.ok(history.every((b) => b.in === MiB && b.out === MiB / 2), 'each second holds exactly 1 MiB in');
    for (let i = 1; i < history.length; i++) assert.equal(history[i]!.timestamp - history[i - 1]!.timestamp, 1000);
    // the last complete second is the one before now; the first sample landed at startSecond + 1
    assert.equal(history[history.length - 1]!.timestamp, (Math.floor(clock.now() / 1000) - 1) * 1000);
    assert.equal(history[0]!.timestamp, (startSecond + 1) * 1000);

    // idle: nothing moves, the connection stays open
    tick(1000);
    assert.deepEqual(stats.throughput.instant(), { in: 0, out: 0 });
    assert.deepEqual(stats.throughput.byRoute().get('web'), { in: 0, out: 0 });
    assert.deepEqual(stats.throughput.byIP().get('192.0.2.7'), { in: 0, out: 0 });
    for (let i = 0; i < 10; i++) tick(1000);
    assert.deepEqual(stats.throughput.recent(), { in: 0, out: 0 });
    assert.deepEqual(stats.throughput.byRoute(10).get('web'), { in: 0, out: 0 });
    for (let i = 0; i < 60; i++) tick(1000);
    assert.deepEqual(stats.throughput.average(), { in: 0, out: 0 });
    assert.equal(stats.connections.active(), 1);
    assert.equal(stats.totals.bytesIn(), 3600 * MiB);
    assert.equal(stats.totals.bytesOut(), 3600 * MiB / 2);
    // a burst after the idle period shows up alone, not mixed with the hour before
    conn.move(5 * MiB, 0);
    tick(1000);
    tick(1000);
    assert.deepEqual(stats.throughput.custom(2), { in: 2.5 * MiB, out: 0 });
    collector.stop();
  });

  test('custom windows and byRoute/byIP windows', () => {
    const { collector, stats, open, tick } = setup();
    const a = open('10.0.0.1', 'a');
    const b = open('10.0.0.2', 'b');
    for (let i = 0; i < 20; i++) {
      a.move(100, 10);
      if (i >= 15) b.move(1000, 0);
      tick(1000);
      collector.sample();
    }
    tick(1000); // complete the second of the last sample
    assert.deepEqual(stats.throughput.custom(5), { in: 1100, out: 10 });
    assert.deepEqual(stats.throughput.custom(20), { in: 100 + 250, out: 10 });
    assert.deepEqual(stats.throughput.byRoute(10).get('b'), { in: 500, out: 0 });
    assert.deepEqual(stats.throughput.byIP(20).get('10.0.0.1'), { in: 100, out: 10 });
  });
});

describe('MetricsCollector: totals and connections', () => {
  test('totals equal exactly what the client sockets saw, after close and before sampling', () => {
    const { collector, stats, open, tick, clock } = setup();
    collector.start(); // history() holds only seconds since start()
    const sizes = [1, 17, 1500, 65536, 3, 999_999];
    const conns = [open('10.0.0.1', 'r1'), open('10.0.0.2', 'r2'), open('10.0.0.1')];
    let expectIn = 0;
    let expectOut = 0;
    for (let i = 0; i < 50; i++) {
      const c = conns[i % conns.length]!;
      const bi = sizes[i % sizes.length]!;
      const bo = sizes[(i + 3) % sizes.length]!;
      c.move(bi, bo);
      expectIn += bi;
      expectOut += bo;
      // totals are live even between samples
      assert.equal(stats.totals.bytesIn(), expectIn);
      assert.equal(stats.totals.bytesOut(), expectOut);
      clock.advance(337);
      if (i % 3 === 0) collector.sample();
    }
    conns[0]!.move(5, 7); // moved after the last sample: must still land at close
    expectIn += 5;
    expectOut += 7;
    for (const c of conns) collector.connectionClosed(c);
    collector.connectionClosed(conns[0]!); // double close is ignored
    assert.equal(stats.connections.active(), 0);
    assert.equal(stats.totals.bytesIn(), expectIn);
    assert.equal(stats.totals.bytesOut(), expectOut);
    assert.equal(stats.totals.connections(), 3);
    assert.equal(stats.connections.total(), 3);
    // and the per-second series add up to the same bytes
    tick(1000);
    const h = stats.throughput.history(60);
    assert.equal(h.reduce((s, b) => s + b.in, 0), expectIn);
    assert.equal(h.reduce((s, b) => s + b.out, 0), expectOut);
  });

  test('connections by route and IP, keep-alive re-routing, topIPs', () => {
    const { collector, stats, open } = setup();
    const a1 = open('10.0.0.1', 'api');
    open('10.0.0.1', 'api');
    open('10.0.0.2', 'web');
    const c = open('::ffff:10.0.0.3'); // mapped form is shown plain
    assert.deepEqual([...stats.connections.byRoute()].sort(), [['api', 2], ['web', 1]]);
    assert.deepEqual(stats.connections.byIP(), new Map([['10.0.0.1', 2], ['10.0.0.2', 1], ['10.0.0.3', 1]]));
    assert.deepEqual(stats.connections.topIPs(2), [{ ip: '10.0.0.1', count: 2 }, { ip: '10.0.0.2', count: 1 }]);
    // a keep-alive connection serving another route moves its open count
    collector.connectionRouted(a1, 'web');
    collector.connectionRouted(a1, 'web'); // same route again: no change
    assert.deepEqual(stats.connections.byRoute(), new Map([['api', 1], ['web', 2]]));
    assert.equal(a1.routeName, 'web');
    // bytes of a connection without a route count in totals and per IP, not per route
    c.move(100, 0);
    collector.sample();
    collector.connectionClosed(c);
    assert.equal(stats.totals.bytesIn(), 100);
    assert.equal(stats.throughput.byRoute(60).has('(unrouted)'), false);
    assert.equal(stats.connections.byIP().has('10.0.0.3'), false);
  });
});

describe('MetricsCollector: requests', () => {
  test('perSecond = last complete second, perMinute = last 60 s, total', () => {
    const { collector, stats, clock } = setup();
    for (let i = 0; i < 5; i++) collector.requestServed('api', '10.0.0.1');
    assert.equal(stats.requests.perSecond(), 0, 'the current second is not complete');
    assert.equal(stats.requests.perMinute(), 5);
    clock.advance(1000);
    assert.equal(stats.requests.perSecond(), 5);
    for (let i = 0; i < 3; i++) collector.requestServed(undefined, '10.0.0.1');
    clock.advance(30_000);
    assert.equal(stats.requests.perSecond(), 0);
    assert.equal(stats.requests.perMinute(), 8);
    clock.advance(29_000); // the first 5 are now 60 s old
    assert.equal(stats.requests.perMinute(), 3);
    clock.advance(1000);
    assert.equal(stats.requests.perMinute(), 0);
    assert.equal(stats.requests.total(), 8);
  });
});

describe('MetricsCollector: ticker', () => {
  test('start() samples on the shared ticker every sampleIntervalMs; stop() cancels', () => {
    const { collector, ticker, stats, open, tick } = setup({ sampleIntervalMs: 250 });
    collector.start();
    collector.start(); // idempotent
    assert.equal(ticker.size, 1);
    const conn = open();
    for (let i = 0; i < 4; i++) {
      conn.move(10, 0);
      tick(250);
    }
    tick(250); // into the next second
    assert.equal(stats.throughput.instant().in, 30); // 3 samples in the last complete second, 1 in the current one
    collector.stop();
    assert.equal(ticker.size, 0);
  });
});
