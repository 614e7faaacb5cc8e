/**
 * Metrics through the real proxy with an injected ManualClock and a manual Ticker: bytes that
 * move in second k appear in history at second k, and an idle open connection lets every rate
 * fall to zero (no spreading of a long connection's bytes over its lifetime).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort } from './harness.js';
import { startTcpEchoServer } from '../helpers/backends.js';
import { connectTo } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import { ManualClock } from '../../ts/core/clock.js';
import { Ticker } from '../../ts/core/ticker.js';

// Half a second past a whole second: the 1 s sampler then runs at x.500, inside the second
// in which the bytes below move (x.200), so they belong to that second.
const T0 = 1_700_000_000_500;
const sec = (ms: number): number => Math.floor(ms / 1000) * 1000;

test('manual clock: bytes of second k land in history at k; an idle open connection decays to 0', async (t) => {
  const clock = new ManualClock(T0);
  const ticker = new Ticker(clock, { manual: true });
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [{ name: 'echo', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: echo.port } } }] }, { clock, ticker });
  const stats = proxy.getStats();
  const step = (ms: number): void => {
    clock.advance(ms);
    ticker.runDue();
  };
  const client = await connectTo(port);
  let seen = 0;
  client.on('data', (d: Buffer) => (seen += d.length));
  const move = async (n: number): Promise<void> => {
    const want = seen + n;
    client.write(Buffer.alloc(n, 0x63));
    await waitFor(() => seen >= want, 5000);
  };

  // second k1 = T0+1 s: 1000 bytes each way
  step(700); // x+1.200
  const k1 = sec(clock.now());
  await move(1000);
  step(300); // x+1.500: sample
  // second k2: 4000 bytes
  step(700);
  const k2 = sec(clock.now());
  await move(4000);
  step(300);
  // second k3: nothing; k4: 250 bytes
  step(1000);
  step(700);
  const k4 = sec(clock.now());
  await move(250);
  step(300);
  step(1000); // now in k4 + 1 s

  const h = stats.throughput.history(5);
  assert.deepEqual(
    h.map((e) => [e.timestamp, e.in, e.out]),
    [
      [k1 - 1000, 0, 0],
      [k1, 1000, 1000],
      [k2, 4000, 4000],
      [k2 + 1000, 0, 0],
      [k4, 250, 250],
    ],
  );
  assert.deepEqual(stats.throughput.instant(), { in: 250, out: 250 });
  assert.deepEqual(stats.throughput.custom(4), { in: 5250 / 4, out: 5250 / 4 });
  assert.deepEqual(stats.throughput.byRoute(4).get('echo'), { in: 5250 / 4, out: 5250 / 4 });
  assert.deepEqual(stats.throughput.byIP(4).get('127.0.0.1'), { in: 5250 / 4, out: 5250 / 4 });
  assert.equal(stats.totals.bytesIn(), 5250);

  // Idle but open: one second later instant() is 0; after 10 idle seconds recent() is 0 too.
  step(1000);
  assert.deepEqual(stats.throughput.instant(), { in: 0, out: 0 });
  for (let i = 0; i < 10; i++) step(1000);
  assert.equal(stats.connections.active(), 1, 'the connection is still open');
  assert.deepEqual(stats.throughput.instant(), { in: 0, out: 0 });
  assert.deepEqual(stats.throughput.recent(), { in: 0, out: 0 });
  assert.deepEqual(stats.throughput.byRoute().get('echo') ?? { in: 0, out: 0 }, { in: 0, out: 0 });
  assert.deepEqual(stats.throughput.average(), { in: 5250 / 60, out: 5250 / 60 }, 'the 60 s window still holds the bytes');
  for (let i = 0; i < 60; i++) step(1000);
  assert.deepEqual(stats.throughput.average(), { in: 0, out: 0 });
  const long = stats.throughput.history(120);
  assert.equal(long.reduce((sum, e) => sum + e.in, 0), 5250, 'nothing lost or spread: the full history still sums to the bytes');
  assert.deepEqual(long.filter((e) => e.in > 0).map((e) => e.timestamp), [k1, k2, k4]);

  // Traffic after a long idle period lands in its own second, not spread back over the idle time.
  step(600); // y.100
  const k5 = sec(clock.now());
  await move(600);
  step(400); // y.500: sample
  step(1000);
  const last = stats.throughput.history(2);
  assert.deepEqual(last.map((e) => [e.timestamp, e.in]), [[k5 - 1000, 0], [k5, 600]]);
  assert.equal(stats.totals.bytesIn(), 5850);
  client.destroy();
  await waitFor(() => proxy.connectionCount === 0, 5000);
  assert.equal(stats.totals.bytesIn(), 5850);
  assert.equal(stats.totals.bytesOut(), 5850);
  assert.equal(stats.connections.total(), 1);
});
