/**
 * Inactivity, lifetime and keep-alive treatments end to end: a real SmartProxy and real
 * sockets, with a ManualClock and a manual Ticker driving the deadline service.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { startProxy, freePort } from '../integration/harness.js';
import { startTcpEchoServer } from '../helpers/backends.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';
import type { ISmartProxyOptions } from '../../ts/types.js';
import { MAX_TIMER_MS } from '../../ts/core/ticker.js';
import { idleCheckStep } from '../../ts/connection/idle-policy.js';
import {
  fakeTime,
  forwardRoute,
  recordEvents,
  echoConnection,
  echo,
  closedWithin,
  settle,
  terminations,
  closesByReason,
  type CloseEvent,
  type FakeTime,
} from './proxy-helpers.js';

type T = { after(fn: () => unknown): void };

interface Rig {
  proxy: SmartProxy;
  time: FakeTime;
  closes: CloseEvent[];
  socket: net.Socket;
}

/** A proxy (check interval 1 s unless overridden) in front of an echo backend, and one proven connection. */
async function rig(t: T, options: Omit<ISmartProxyOptions, 'routes'>, stepMs = 1000): Promise<Rig> {
  const backend = await startTcpEchoServer();
  t.after(() => backend.close());
  const port = await freePort();
  const time = fakeTime(stepMs);
  const proxy = await startProxy(
    t,
    { inactivityCheckInterval: 1000, ...options, routes: [forwardRoute('echo', port, backend.port)] },
    { clock: time.clock, ticker: time.ticker },
  );
  const { closes } = recordEvents(proxy);
  const socket = await echoConnection(port, t);
  return { proxy, time, closes, socket };
}

/**
 * Step the fake clock until the proxy reports a close (closes happen synchronously inside
 * the sweep), optionally with an echo round trip every `busyEveryMs`. Returns the elapsed
 * fake time at the close, or undefined when none happened within `maxMs`.
 */
async function elapsedUntilClose(r: Rig, maxMs: number, busyEveryMs = 0): Promise<number | undefined> {
  const stepMs = 1000;
  for (let elapsed = stepMs; elapsed <= maxMs; elapsed += stepMs) {
    if (busyEveryMs > 0 && elapsed % busyEveryMs === 0) await echo(r.socket);
    r.time.advance(stepMs);
    if (r.closes.length > 0) return elapsed;
  }
  return undefined;
}

/** An idle limit closes at the limit, at most one check step (limit / 16, >= 100 ms) and one test step (1 s) after it. */
function assertNear(at: number | undefined, limit: number, what: string): void {
  assert.ok(at !== undefined, `${what}: no close`);
  assert.ok(at >= limit && at <= limit + idleCheckStep(limit) + 1000, `${what}: closed at ${at} ms, limit ${limit} ms`);
}

describe('inactivity', () => {
  test('an idle connection closes at the limit, not at a later sweep (the check interval is 60 s)', async (t) => {
    const r = await rig(t, { inactivityTimeout: 10_000, keepAliveTreatment: 'standard', inactivityCheckInterval: 60_000 });
    assertNear(await elapsedUntilClose(r, 30_000), 10_000, 'inactivity');
    await closedWithin(r.socket);
    assert.equal(r.closes.length, 1);
    assert.equal(r.closes[0]!.reason, 'inactivity');
    assert.equal(r.closes[0]!.side, 'proxy');
    const term = await terminations(r.proxy);
    assert.equal(term['proxy:inactivity'], 1);
    assert.equal((await closesByReason(r.proxy)).inactivity, 1);
    assert.equal(r.proxy.getStats().connections.active(), 0);
    assert.equal(r.proxy.getDiagnostics().connectionRecords, 0);
  });

  test('traffic moves the limit: closes a limit after the last traffic', async (t) => {
    const r = await rig(t, { inactivityTimeout: 10_000, keepAliveTreatment: 'standard' });
    r.time.advance(8000);
    await echo(r.socket); // traffic at +8 s
    r.time.advance(9000); // +17 s: 9 s idle
    await settle();
    assert.equal(r.closes.length, 0);
    assert.equal(r.socket.destroyed, false);
    await echo(r.socket, 'still-here'); // traffic at +17 s
    assertNear(await elapsedUntilClose(r, 30_000), 10_000, 'after traffic');
    await closedWithin(r.socket);
    assert.equal(r.closes[0]!.reason, 'inactivity');
  });

  test('a connection kept busy is never closed for inactivity', async (t) => {
    const r = await rig(t, { inactivityTimeout: 5000, keepAliveTreatment: 'standard' });
    // 60 s of fake time with traffic every 3 s: the inactivity limit (5 s) is never reached.
    assert.equal(await elapsedUntilClose(r, 60_000, 3000), undefined);
    assert.equal(r.proxy.connectionCount, 1);
  });
});

describe('maxConnectionLifetime', () => {
  test('closes a busy connection at its age limit', async (t) => {
    const r = await rig(t, { inactivityTimeout: 60_000, maxConnectionLifetime: 5000, keepAliveTreatment: 'standard' });
    r.time.advance(3000);
    await echo(r.socket);
    r.time.advance(1000);
    assert.equal(r.closes.length, 0);
    r.time.advance(1000); // age 5 s
    await closedWithin(r.socket);
    assert.equal(r.closes[0]!.reason, 'lifetime');
    assert.equal(r.closes[0]!.side, 'proxy');
    const term = await terminations(r.proxy);
    assert.equal(term['proxy:lifetime'], 1);
    assert.equal(r.proxy.getDiagnostics().connectionRecords, 0);
  });
});

describe('keep-alive treatments', () => {
  const base = {
    inactivityTimeout: 10_000,
    maxConnectionLifetime: 100_000,
    keepAliveInactivityMultiplier: 3,
    extendedKeepAliveLifetime: 50_000,
  } as const;
  // `limit`: the idle limit (closes at it, within a check step) or the lifetime (exactly at it).
  const cases: Array<{ name: string; opts: Omit<ISmartProxyOptions, 'routes'>; busy: boolean; limit: number; reason: string }> = [
    { name: 'standard idle: inactivityTimeout', opts: { ...base, keepAliveTreatment: 'standard' }, busy: false, limit: 10_000, reason: 'inactivity' },
    { name: 'standard busy: maxConnectionLifetime', opts: { ...base, keepAliveTreatment: 'standard' }, busy: true, limit: 100_000, reason: 'lifetime' },
    { name: 'extended idle: inactivity x multiplier', opts: { ...base, keepAliveTreatment: 'extended' }, busy: false, limit: 30_000, reason: 'inactivity' },
    { name: 'extended busy: extendedKeepAliveLifetime', opts: { ...base, keepAliveTreatment: 'extended' }, busy: true, limit: 50_000, reason: 'lifetime' },
    { name: 'keepAlive:false + extended: standard limits', opts: { ...base, keepAliveTreatment: 'extended', keepAlive: false }, busy: false, limit: 10_000, reason: 'inactivity' },
    { name: 'keepAlive:false + extended busy: maxConnectionLifetime', opts: { ...base, keepAliveTreatment: 'extended', keepAlive: false }, busy: true, limit: 100_000, reason: 'lifetime' },
    { name: 'keepAlive:false + immortal: standard limits', opts: { ...base, keepAliveTreatment: 'immortal', keepAlive: false }, busy: false, limit: 10_000, reason: 'inactivity' },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const r = await rig(t, c.opts);
      const at = await elapsedUntilClose(r, 200_000, c.busy ? 4000 : 0);
      if (c.reason === 'lifetime') assert.equal(at, c.limit);
      else assertNear(at, c.limit, c.name);
      assert.equal(r.closes[0]!.reason, c.reason);
      await closedWithin(r.socket);
      assert.equal(r.proxy.getDiagnostics().connectionRecords, 0);
    });
  }

  test('immortal: an idle keep-alive connection survives a year of checks and still works', async (t) => {
    const r = await rig(t, { ...base, keepAliveTreatment: 'immortal', inactivityCheckInterval: 3_600_000 });
    r.time.advance(365 * 24 * 3_600_000, 3_600_000);
    await settle();
    assert.equal(r.closes.length, 0);
    assert.equal(r.proxy.connectionCount, 1);
    await echo(r.socket, 'a-year-later');
  });
});

describe('timer clamping', () => {
  test('limits beyond 2^31-1 ms are clamped: the connection closes at 2^31-1 ms of age', async (t) => {
    const hour = 3_600_000;
    const r = await rig(
      t,
      { inactivityTimeout: 2 ** 40, maxConnectionLifetime: 2 ** 40, socketTimeout: 2 ** 40, keepAliveTreatment: 'standard', inactivityCheckInterval: hour },
      hour,
    );
    const lastCheckBefore = Math.floor(MAX_TIMER_MS / hour) * hour; // 596 h < 2^31-1 ms
    r.time.advance(lastCheckBefore, hour);
    await settle();
    assert.equal(r.closes.length, 0, 'still open just before 2^31-1 ms');
    r.time.advance(hour, hour); // 597 h >= 2^31-1 ms
    await closedWithin(r.socket);
    assert.equal(r.closes[0]!.reason, 'lifetime');
  });

  test('huge timeouts on the real ticker neither fire at once nor warn (TimeoutOverflowWarning)', async (t) => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const backend = await startTcpEchoServer();
    t.after(() => backend.close());
    const port = await freePort();
    const huge = 2 ** 40;
    const proxy = await startProxy(t, {
      routes: [forwardRoute('echo', port, backend.port)],
      inactivityCheckInterval: huge,
      inactivityTimeout: huge,
      maxConnectionLifetime: huge,
      extendedKeepAliveLifetime: huge,
      socketTimeout: huge,
      connectionTimeout: huge,
      initialDataTimeout: huge,
    });
    const { closes } = recordEvents(proxy);
    const socket = await echoConnection(port, t);
    await settle(300);
    await echo(socket);
    assert.equal(closes.length, 0);
    assert.equal(proxy.connectionCount, 1);
    assert.deepEqual(
      warnings.filter((w) => w.name === 'TimeoutOverflowWarning').map((w) => w.message),
      [],
    );
  });
});
