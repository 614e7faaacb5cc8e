import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitsFor, type TimeoutSettings } from '../../ts/connection/timeout-policy.js';

const base: TimeoutSettings = {
  socketTimeout: 500,
  inactivityTimeout: 1000,
  maxConnectionLifetime: 10_000,
  keepAliveTreatment: 'extended',
  keepAliveInactivityMultiplier: 6,
  extendedKeepAliveLifetime: 100_000,
  timeoutJitter: false,
};

test('limits per keep-alive treatment (table)', () => {
  const cases: Array<[string, Partial<TimeoutSettings>, boolean, number, number, number]> = [
    ['standard keep-alive', { keepAliveTreatment: 'standard' }, true, 1000, 10_000, 500],
    ['extended keep-alive', { keepAliveTreatment: 'extended' }, true, 6000, 100_000, 500],
    ['extended multiplier 3', { keepAliveTreatment: 'extended', keepAliveInactivityMultiplier: 3 }, true, 3000, 100_000, 500],
    ['immortal keep-alive: no timeout at all', { keepAliveTreatment: 'immortal' }, true, Infinity, Infinity, Infinity],
    ['immortal without keep-alive', { keepAliveTreatment: 'immortal' }, false, 1000, 10_000, 500],
    ['extended without keep-alive', { keepAliveTreatment: 'extended' }, false, 1000, 10_000, 500],
    ['socketTimeout 0: no socket idle limit', { keepAliveTreatment: 'standard', socketTimeout: 0 }, true, 1000, 10_000, Infinity],
  ];
  for (const [name, patch, keepAlive, inactivity, lifetime, socketIdle] of cases) {
    assert.deepEqual(limitsFor({ ...base, ...patch }, keepAlive), { inactivity, lifetime, socketIdle }, name);
  }
});

test('jitter stays within +-5%', () => {
  for (const r of [0, 0.25, 0.5, 0.999]) {
    const l = limitsFor({ ...base, keepAliveTreatment: 'standard', timeoutJitter: true }, true, () => r);
    assert.ok(l.inactivity >= 950 && l.inactivity <= 1050, String(l.inactivity));
    assert.ok(l.lifetime >= 9500 && l.lifetime <= 10_500, String(l.lifetime));
  }
});
