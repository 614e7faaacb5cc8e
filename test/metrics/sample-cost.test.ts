import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeConnection } from './fake-connection.js';
import { setup } from './setup.js';

// Micro-benchmark with a generous bound: sample() is O(open connections).
test('sample() with 10,000 open connections', (t) => {
  const { collector, clock } = setup();
  const conns: FakeConnection[] = [];
  for (let i = 0; i < 10_000; i++) {
    const c = new FakeConnection(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, clock.now());
    collector.connectionOpened(c);
    collector.connectionRouted(c, `route-${i % 50}`);
    conns.push(c);
  }
  const rounds = 200;
  let total = 0;
  let worst = 0;
  for (let r = 0; r < rounds; r++) {
    for (const c of conns) c.move(1500, 3000);
    clock.advance(1000);
    const t0 = performance.now();
    collector.sample();
    const dt = performance.now() - t0;
    if (r >= 20) {
      total += dt; // after warm-up
      if (dt > worst) worst = dt;
    }
  }
  const mean = total / (rounds - 20);
  t.diagnostic(`sample() with 10,000 open connections (1000 IPs tracked, 50 routes): mean ${mean.toFixed(3)} ms, worst ${worst.toFixed(3)} ms`);
  assert.equal(collector.getStats().totals.bytesIn(), 10_000 * 1500 * rounds);
  assert.ok(mean < 50, `mean ${mean} ms`);
});
