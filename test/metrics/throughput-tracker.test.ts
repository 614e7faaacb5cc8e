import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ThroughputTracker } from '../../ts/metrics/throughput-tracker.js';

const T0 = 1_700_000_000; // an epoch second

describe('ThroughputTracker', () => {
  test('rate averages the N complete seconds before now', () => {
    const t = new ThroughputTracker(60);
    for (let i = 0; i < 10; i++) t.add(T0 + i, 100 * (i + 1), 10);
    // now = T0+10: complete seconds T0..T0+9
    assert.deepEqual(t.rate(T0 + 10, 1), { in: 1000, out: 10 });
    assert.deepEqual(t.rate(T0 + 10, 2), { in: (900 + 1000) / 2, out: 10 });
    assert.deepEqual(t.rate(T0 + 10, 10), { in: 5500 / 10, out: 10 });
    // the window divides by its length even when fewer seconds had data
    assert.deepEqual(t.rate(T0 + 10, 20), { in: 5500 / 20, out: 100 / 20 });
  });

  test('the current (incomplete) second is not read', () => {
    const t = new ThroughputTracker(60);
    t.add(T0, 500, 0);
    assert.deepEqual(t.rate(T0, 1), { in: 0, out: 0 });
    assert.deepEqual(t.rate(T0 + 1, 1), { in: 500, out: 0 });
    assert.deepEqual(t.rate(T0 + 2, 1), { in: 0, out: 0 });
  });

  // rate() clamps its window to 1..retention; history() returns 0..retention entries
  const cases: Array<{ name: string; window: number; historyLength: number }> = [
    { name: 'zero', window: 0, historyLength: 0 },
    { name: 'negative', window: -5, historyLength: 0 },
    { name: 'NaN', window: NaN, historyLength: 0 },
    { name: 'fraction floors', window: 2.7, historyLength: 2 },
    { name: 'beyond retention clamps', window: 1000, historyLength: 60 },
    { name: 'Infinity is the retention', window: Infinity, historyLength: 60 },
  ];
  for (const c of cases) {
    test(`window ${c.name}`, () => {
      const t = new ThroughputTracker(60);
      for (let s = T0 - 100; s < T0; s++) t.add(s, 60, 0);
      assert.equal(t.rate(T0, c.window).in, 60);
      assert.equal(t.history(T0, c.window).length, c.historyLength);
    });
  }

  test('history runs oldest to newest, timestamps at the start of each second, gaps are 0', () => {
    const t = new ThroughputTracker(30);
    t.add(T0 + 1, 11, 1);
    t.add(T0 + 3, 33, 3);
    t.add(T0 + 3, 2, 0); // same second accumulates
    const h = t.history(T0 + 5, 5);
    assert.deepEqual(h, [
      { timestamp: (T0 + 0) * 1000, in: 0, out: 0 },
      { timestamp: (T0 + 1) * 1000, in: 11, out: 1 },
      { timestamp: (T0 + 2) * 1000, in: 0, out: 0 },
      { timestamp: (T0 + 3) * 1000, in: 35, out: 3 },
      { timestamp: (T0 + 4) * 1000, in: 0, out: 0 },
    ]);
  });

  test('retention wrap-around: old seconds read 0, a full retention window stays intact', () => {
    const r = 10;
    const t = new ThroughputTracker(r);
    for (let s = 0; s < 35; s++) t.add(T0 + s, s + 1, 0);
    const now = T0 + 35;
    const h = t.history(now, 100); // clamped to retention
    assert.equal(h.length, r);
    assert.deepEqual(
      h.map((b) => b.in),
      [26, 27, 28, 29, 30, 31, 32, 33, 34, 35],
    );
    // writing into the current second must not erase the oldest second of a full window
    t.add(now, 999, 0);
    assert.equal(t.rate(now, r).in, (26 + 35) * 5 / r);
    // a sample older than the retention is ignored, not written over a newer second
    t.add(T0 + 1, 1e9, 0);
    assert.equal(t.rate(now, r).in, (26 + 35) * 5 / r);
    // far in the future everything reads 0
    assert.deepEqual(t.rate(now + 1000, r), { in: 0, out: 0 });
    assert.ok(t.history(now + 1000, r).every((b) => b.in === 0 && b.out === 0));
  });

  test('a slot reused after wrap-around is reset before adding', () => {
    const t = new ThroughputTracker(4); // 5 slots
    t.add(T0, 100, 100);
    t.add(T0 + 5, 1, 2); // same slot, newer second
    assert.deepEqual(t.sum(T0 + 5, T0 + 5), { in: 1, out: 2 });
    assert.deepEqual(t.sum(T0, T0), { in: 0, out: 0 });
  });

  test('isIdle looks at the window including the current second', () => {
    const t = new ThroughputTracker(60);
    assert.equal(t.isIdle(T0, 60), true);
    t.add(T0, 1, 0);
    assert.equal(t.isIdle(T0, 0), false);
    assert.equal(t.isIdle(T0 + 60, 60), false);
    assert.equal(t.isIdle(T0 + 61, 60), true);
    t.add(T0 + 70, 0, 0); // zero adds are not activity
    assert.equal(t.isIdle(T0 + 70, 5), true);
  });

  test('rejects a retention below 1', () => {
    assert.throws(() => new ThroughputTracker(0), RangeError);
  });
});
