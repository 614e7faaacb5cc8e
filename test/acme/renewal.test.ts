import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, HOUR_MS, RETRY_MAX_MS, renewCheckIntervalMs, renewalDue, retryDelayMs } from '../../ts/acme/renewal.js';
import { MAX_TIMER_MS } from '../../ts/core/ticker.js';

const NOW = 1_800_000_000_000;

describe('renewalDue', () => {
  const cases: Array<[string, number, number, boolean]> = [
    ['90 days left, threshold 30', NOW + 90 * DAY_MS, 30, false],
    ['31 days left, threshold 30', NOW + 31 * DAY_MS, 30, false],
    ['exactly 30 days left', NOW + 30 * DAY_MS, 30, true],
    ['29 days left', NOW + 29 * DAY_MS, 30, true],
    ['expired yesterday', NOW - DAY_MS, 30, true],
    ['half a day left, threshold 0.5', NOW + DAY_MS / 2, 0.5, true],
    ['a day left, threshold 0.5', NOW + DAY_MS, 0.5, false],
    ['5 years left, threshold 1826 days', NOW + 1826 * DAY_MS - 1000, 1826, true],
  ];
  for (const [what, notAfter, threshold, due] of cases) {
    test(`${what}: ${due ? 'due' : 'not due'}`, () => assert.equal(renewalDue(notAfter, NOW, threshold), due));
  }
});

describe('retryDelayMs', () => {
  const cases: Array<[number, number]> = [
    [1, 5 * 60_000],
    [2, 10 * 60_000],
    [3, 20 * 60_000],
    [4, 40 * 60_000],
    [5, RETRY_MAX_MS],
    [50, RETRY_MAX_MS],
    [0, 5 * 60_000],
    [Number.MAX_SAFE_INTEGER, RETRY_MAX_MS],
  ];
  for (const [failures, ms] of cases) test(`${failures} failure(s) -> ${ms / 60_000} min`, () => assert.equal(retryDelayMs(failures), ms));
  test('never more than 5 attempts in the first hour (Let\'s Encrypt: 5 failed validations per name per hour)', () => {
    let t = 0;
    let attempts = 1;
    for (let f = 1; ; f++) {
      t += retryDelayMs(f);
      if (t >= HOUR_MS) break;
      attempts++;
    }
    assert.ok(attempts <= 5, `${attempts}`);
  });
});

describe('renewCheckIntervalMs', () => {
  const cases: Array<[number, number]> = [
    [24, 24 * HOUR_MS],
    [0.5, HOUR_MS / 2],
    [1e-9, 1],
    [1e6, MAX_TIMER_MS],
  ];
  for (const [hours, ms] of cases) test(`${hours} h -> ${ms} ms`, () => assert.equal(renewCheckIntervalMs(hours), ms));
});
