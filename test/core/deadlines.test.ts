import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../ts/core/clock.js';
import { Ticker } from '../../ts/core/ticker.js';
import { DeadlineService, NOT_SCHEDULED, DEADLINE_RESOLUTION_MS, type Timed } from '../../ts/core/deadlines.js';

function entry(fired: number[], name = 0): Timed & { name: number } {
  return { name, deadlineKey: NOT_SCHEDULED, onDeadline: (now) => void fired.push(now) };
}

function setup(): { clock: ManualClock; ticker: Ticker; d: DeadlineService; step(ms: number): void } {
  const clock = new ManualClock(1_000_000);
  const ticker = new Ticker(clock, { manual: true });
  const d = new DeadlineService(clock, ticker);
  return {
    clock,
    ticker,
    d,
    step(ms: number) {
      for (let i = 0; i < ms; i++) {
        clock.advance(1);
        ticker.runDue();
      }
    },
  };
}

test('an entry fires once, never before its due time and at most one resolution after', () => {
  const { clock, d, step } = setup();
  const fired: number[] = [];
  const due = clock.now() + 1234;
  d.schedule(entry(fired), due);
  step(1233);
  assert.deepEqual(fired, []);
  step(DEADLINE_RESOLUTION_MS + 1);
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= due && fired[0]! <= due + DEADLINE_RESOLUTION_MS, `fired at ${fired[0]! - due} ms after due`);
  step(3000);
  assert.equal(fired.length, 1);
  assert.equal(d.size, 0);
});

test('cancel, re-schedule earlier and later, and re-scheduling from inside a callback', () => {
  const { clock, d, step } = setup();
  const fired: number[] = [];
  const a = entry(fired);
  const t0 = clock.now();
  d.schedule(a, t0 + 500);
  d.cancel(a);
  assert.equal(d.size, 0);
  step(600);
  assert.deepEqual(fired, []);
  d.schedule(a, clock.now() + 1000);
  d.schedule(a, clock.now() + 100); // earlier
  assert.equal(d.size, 1);
  step(120);
  assert.equal(fired.length, 1);
  const b = entry(fired);
  d.schedule(b, clock.now() + 100);
  d.schedule(b, clock.now() + 900); // later
  step(500);
  assert.equal(fired.length, 1);
  step(500);
  assert.equal(fired.length, 2);
  let n = 0;
  const again: Timed = {
    deadlineKey: NOT_SCHEDULED,
    onDeadline: (now) => {
      if (++n < 3) d.schedule(again, now); // due now: runs in a later bucket, not in a loop
    },
  };
  d.schedule(again, clock.now() + 10);
  step(100);
  assert.equal(n, 3);
});

test('a callback that cancels or moves another entry of the same bucket: that entry does not fire', () => {
  const { clock, d, step } = setup();
  const fired: string[] = [];
  const due = clock.now() + 50;
  const b: Timed = { deadlineKey: NOT_SCHEDULED, onDeadline: () => void fired.push('b') };
  const c: Timed = { deadlineKey: NOT_SCHEDULED, onDeadline: () => void fired.push('c') };
  const a: Timed = {
    deadlineKey: NOT_SCHEDULED,
    onDeadline: () => {
      fired.push('a');
      d.cancel(b);
      d.schedule(c, clock.now() + 1000);
    },
  };
  d.schedule(a, due);
  d.schedule(b, due);
  d.schedule(c, due);
  step(100);
  assert.deepEqual(fired, ['a']);
  assert.equal(d.size, 1);
  step(1000);
  assert.deepEqual(fired, ['a', 'c']);
  assert.equal(d.size, 0);
});

test('a throwing callback is reported and the others still run', () => {
  const clock = new ManualClock(0);
  const ticker = new Ticker(clock, { manual: true });
  const errors: unknown[] = [];
  const d = new DeadlineService(clock, ticker, (e) => errors.push(e));
  const fired: number[] = [];
  d.schedule({ deadlineKey: NOT_SCHEDULED, onDeadline: () => { throw new Error('boom'); } }, 10);
  d.schedule(entry(fired), 10);
  clock.advance(20);
  ticker.runDue();
  assert.equal(errors.length, 1);
  assert.equal(fired.length, 1);
});

test('entries fire in due order across many buckets; one ticker alarm serves them all', () => {
  const { clock, ticker, d, step } = setup();
  const order: number[] = [];
  const t0 = clock.now();
  const dues = Array.from({ length: 500 }, (_, i) => (i * 7919) % 2000);
  dues.forEach((off, i) => d.schedule({ deadlineKey: NOT_SCHEDULED, onDeadline: () => void order.push(i) }, t0 + off));
  assert.equal(ticker.size, 1);
  step(2100);
  assert.equal(order.length, 500);
  for (let k = 1; k < order.length; k++) {
    const prev = Math.ceil((t0 + dues[order[k - 1]!]!) / DEADLINE_RESOLUTION_MS);
    const cur = Math.ceil((t0 + dues[order[k]!]!) / DEADLINE_RESOLUTION_MS);
    assert.ok(prev <= cur, 'buckets run in order');
  }
  assert.equal(ticker.size, 0, 'the alarm is cleared when nothing is scheduled');
});

test('a real ticker: fires on the event loop at about the due time', async () => {
  const ticker = new Ticker();
  const d = new DeadlineService({ now: () => Date.now() }, ticker);
  const start = Date.now();
  const guard = setTimeout(() => {}, 5000);
  const at = await new Promise<number>((resolve) => d.schedule({ deadlineKey: NOT_SCHEDULED, onDeadline: (now) => resolve(now) }, start + 120));
  clearTimeout(guard);
  assert.ok(at - start >= 120 && at - start < 200, `fired after ${at - start} ms`);
  ticker.stop();
});

test('cost: 100,000 entries scheduled, each moved twice, then cancelled, in well under a second', () => {
  const { clock, d } = setup();
  const n = 100_000;
  const entries: Timed[] = Array.from({ length: n }, () => ({ deadlineKey: NOT_SCHEDULED, onDeadline: () => {} }));
  const t0 = performance.now();
  const now = clock.now();
  for (let i = 0; i < n; i++) d.schedule(entries[i]!, now + 60_000 + (i % 5000));
  for (let i = 0; i < n; i++) d.schedule(entries[i]!, now + 30_000 + (i % 7000));
  for (let i = 0; i < n; i++) d.schedule(entries[i]!, now + 3_600_000 + i);
  assert.equal(d.size, n);
  for (let i = 0; i < n; i++) d.cancel(entries[i]!);
  const ms = performance.now() - t0;
  assert.equal(d.size, 0);
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});
