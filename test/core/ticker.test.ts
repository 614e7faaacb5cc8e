import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../ts/core/clock.js';
import { Ticker, clampTimer, MAX_TIMER_MS } from '../../ts/core/ticker.js';

test('manual ticker runs tasks when due, once per runDue, and skips missed periods', () => {
  const clock = new ManualClock(0);
  const ticker = new Ticker(clock, { manual: true });
  const runs: number[] = [];
  ticker.every(1000, (now) => runs.push(now));
  ticker.runDue();
  assert.deepEqual(runs, []);
  clock.advance(1000);
  ticker.runDue();
  assert.deepEqual(runs, [1000]);
  clock.advance(5500);
  ticker.runDue();
  ticker.runDue();
  assert.deepEqual(runs, [1000, 6500]);
  clock.advance(1000);
  ticker.runDue();
  assert.deepEqual(runs, [1000, 6500, 7500]);
});

test('cancel and stop remove tasks; a throwing task is reported and does not stop others', () => {
  const clock = new ManualClock(0);
  const errors: unknown[] = [];
  const ticker = new Ticker(clock, { manual: true, onError: (e) => errors.push(e) });
  let a = 0;
  let b = 0;
  const ta = ticker.every(10, () => a++);
  ticker.every(10, () => {
    b++;
    throw new Error('boom');
  });
  clock.advance(10);
  ticker.runDue();
  assert.equal(a, 1);
  assert.equal(b, 1);
  assert.equal(errors.length, 1);
  ta.cancel();
  clock.advance(10);
  ticker.runDue();
  assert.equal(a, 1);
  assert.equal(b, 2);
  ticker.stop();
  assert.equal(ticker.size, 0);
});

test('real ticker fires on one unref()ed timer', async () => {
  const ticker = new Ticker();
  let n = 0;
  // The ticker's timer is unref()ed: hold the loop open with a guard of our own.
  const guard = setTimeout(() => {}, 5000);
  await new Promise<void>((resolve) => {
    ticker.every(5, () => {
      if (++n === 3) resolve();
    });
  });
  clearTimeout(guard);
  ticker.stop();
  assert.equal(n, 3);
});

test('clampTimer clamps to 2^31-1 and to >= 0', () => {
  const cases: Array<[number, number]> = [
    [-5, 0],
    [0, 0],
    [1.7, 1],
    [MAX_TIMER_MS + 10, MAX_TIMER_MS],
    [Infinity, MAX_TIMER_MS],
    [Number.NaN, MAX_TIMER_MS],
  ];
  for (const [input, want] of cases) assert.equal(clampTimer(input), want, String(input));
});
