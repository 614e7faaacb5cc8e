import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idleLimit, judgeIdle, firstIdleCheck, idleCheckStep, type IdleState } from '../../ts/connection/idle-policy.js';

function state(patch: Partial<IdleState> = {}): IdleState {
  return { inactivityLimit: 10_000, socketIdleLimit: 5000, halfCloseLimit: 2000, halfClosed: false, inFlight: false, lastActivity: 0, seenTraffic: 0, ...patch };
}

test('the idle limit that applies (table)', () => {
  const cases: Array<[string, Partial<IdleState>, number, string]> = [
    ['socketTimeout is the shorter', {}, 5000, 'socket_timeout'],
    ['in flight: socketTimeout pauses', { inFlight: true }, 10_000, 'inactivity'],
    ['half-closed: halfCloseTimeout', { halfClosed: true }, 2000, 'half_close_timeout'],
    ['half-closed, limit 0: none', { halfClosed: true, halfCloseLimit: 0 }, 5000, 'socket_timeout'],
    ['half-close longer than the others', { halfClosed: true, halfCloseLimit: 60_000 }, 5000, 'socket_timeout'],
    ['immortal: nothing', { inactivityLimit: Infinity, socketIdleLimit: Infinity }, Infinity, 'inactivity'],
  ];
  for (const [name, patch, limit, reason] of cases) assert.deepEqual(idleLimit(state(patch)), { limit, reason }, name);
});

test('checks: traffic moves lastActivity to the check, never earlier; the limit closes at lastActivity + limit', () => {
  const s = state({ socketIdleLimit: Infinity, inactivityLimit: 1600 });
  assert.equal(idleCheckStep(1600), 100);
  assert.equal(firstIdleCheck(s, 0), 100);
  assert.deepEqual(judgeIdle(s, 0, 100), { close: undefined, next: 200 });
  assert.deepEqual(judgeIdle(s, 10, 200), { close: undefined, next: 300 }, 'traffic seen at 200');
  assert.equal(s.lastActivity, 200);
  assert.deepEqual(judgeIdle(s, 10, 1700), { close: undefined, next: 1800 });
  assert.deepEqual(judgeIdle(s, 10, 1800), { close: 'inactivity' });
  assert.deepEqual(judgeIdle(state({ inactivityLimit: Infinity, socketIdleLimit: Infinity }), 5, 1e9), { close: undefined, next: Infinity });
  assert.equal(idleCheckStep(60_000), 3750);
});
