import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeTimeouts, limitsFor, type TimeoutSettings } from '../../ts/connection/timeout-policy.js';

const base: TimeoutSettings = {
  inactivityTimeout: 1000,
  maxConnectionLifetime: 10_000,
  keepAliveTreatment: 'extended',
  keepAliveInactivityMultiplier: 6,
  extendedKeepAliveLifetime: 100_000,
  timeoutJitter: false,
};

test('limits per keep-alive treatment (table)', () => {
  const cases: Array<[string, Partial<TimeoutSettings>, boolean, number, number]> = [
    ['standard keep-alive', { keepAliveTreatment: 'standard' }, true, 1000, 10_000],
    ['extended keep-alive', { keepAliveTreatment: 'extended' }, true, 6000, 100_000],
    ['extended multiplier 3', { keepAliveTreatment: 'extended', keepAliveInactivityMultiplier: 3 }, true, 3000, 100_000],
    ['immortal keep-alive', { keepAliveTreatment: 'immortal' }, true, Infinity, Infinity],
    ['immortal without keep-alive', { keepAliveTreatment: 'immortal' }, false, 1000, 10_000],
    ['extended without keep-alive', { keepAliveTreatment: 'extended' }, false, 1000, 10_000],
  ];
  for (const [name, patch, keepAlive, inactivity, lifetime] of cases) {
    assert.deepEqual(limitsFor({ ...base, ...patch }, keepAlive), { inactivity, lifetime }, name);
  }
});

test('jitter stays within +-5%', () => {
  for (const r of [0, 0.25, 0.5, 0.999]) {
    const l = limitsFor({ ...base, keepAliveTreatment: 'standard', timeoutJitter: true }, true, () => r);
    assert.ok(l.inactivity >= 950 && l.inactivity <= 1050, String(l.inactivity));
    assert.ok(l.lifetime >= 9500 && l.lifetime <= 10_500, String(l.lifetime));
  }
});

test('verdicts: warn first, then close on the next check; lifetime closes at once (table)', () => {
  const s = { startTime: 0, lastActivity: 0, inactivityWarned: false, inactivityLimit: 1000, lifetimeLimit: 10_000 };
  const cases: Array<[string, Partial<typeof s>, number, string]> = [
    ['fresh', {}, 10, 'ok'],
    ['idle just under', {}, 999, 'ok'],
    ['idle at limit', {}, 1000, 'warn-inactive'],
    ['idle and warned', { inactivityWarned: true }, 1500, 'close-inactive'],
    ['active again', { lastActivity: 1400, inactivityWarned: false }, 1500, 'ok'],
    ['lifetime', { lastActivity: 9999 }, 10_000, 'close-lifetime'],
    ['immortal', { inactivityLimit: Infinity, lifetimeLimit: Infinity }, 1e12, 'ok'],
  ];
  for (const [name, patch, now, want] of cases) assert.equal(judgeTimeouts({ ...s, ...patch }, now), want, name);
});
