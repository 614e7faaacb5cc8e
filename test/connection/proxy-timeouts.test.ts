/**
 * Inactivity, lifetime and keep-alive treatments end to end: a real SmartProxy and real
 * sockets, with a ManualClock and a manual Ticker driving the periodic sweep.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { startProxy, freePort } from '../integration/harness.js';
import { startTcpEchoServer } from '../helpers/backends.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';
import type { ISmartProxyOptions } from '../../ts/types.js';
import { MAX_TIMER_MS } from '../../ts/core/ticker.js';
import {
  fakeTime,
  forwardRoute,
  recordEvents,
  echoConnection,
  echo,
  closedWithin,
  settle,
  terminations,
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

describe('inactivity', () => {
  test('warned on the first check past the limit, closed on the next one if still idle', async (t) => {
    const r = await rig(t, { inactivityTimeout: 10_000, keepAliveTreatment: 'standard' });
    // First sweep (+1 s) sees the echo's bytes: last activity = +1 s. Warned at +11 s.
    r.time.advance(11_000);
    await settle();
    assert.equal(r.closes.length, 0, 'warned, not closed');
    assert.equal(r.socket.destroyed, false);
    assert.equal(r.proxy.connectionCount, 1);
    r.time.advance(1000);
    await closedWithin(r.socket);
    assert.equal(r.closes.length, 1);
    assert.equal(r.closes[0]!.clientReason, 'inactivity');
    assert.equal(r.closes[0]!.backendReason, 'inactivity');
    assert.equal(r.closes[0]!.durationMs, 12_000);
    const term = await terminations(r.proxy);
    assert.equal(term['client:inactivity'], 1);
    assert.equal(term['backend:inactivity'], 1);
    assert.equal(r.proxy.getStats().connections.active(), 0);
    assert.equal(r.proxy.getDiagnostics().connectionRecords, 0);
  });

  test('traffic between the warning and the next check resets the timer', async (t) => {
    const r = await rig(t, { inactivityTimeout: 10_000, keepAliveTreatment: 'standard' });
    r.time.advance(11_000); // warned
    await echo(r.socket); // traffic
    r.time.advance(1000); // +12 s: the check sees traffic, last activity = +12 s, warning cleared
    r.time.advance(10_000); // +22 s: 10 s idle again -> warned (not closed: the earlier warning was cleared)
    await settle();
    assert.equal(r.closes.length, 0);
    assert.equal(r.socket.destroyed, false);
    await echo(r.socket, 'still-here');
    r.time.advance(1000); // traffic seen again
    r.time.advance(10_000);
    assert.equal(r.closes.length, 0);
    r.time.advance(1000);
    await closedWithin(r.socket);
    assert.equal(r.closes[0]!.clientReason, 'inactivity');
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
    assert.equal(r.closes[0]!.clientReason, 'lifetime');
    assert.equal(r.closes[0]!.backendReason, 'lifetime');
    const term = await terminations(r.proxy);
    assert.equal(term['client:lifetime'], 1);
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
  // Idle: the first check (+1 s) sees the handshake echo; warn at +1 s + limit, close one check later.
  const cases: Array<{ name: string; opts: Omit<ISmartProxyOptions, 'routes'>; busy: boolean; at: number; reason: string }> = [
    { name: 'standard idle: inactivityTimeout', opts: { ...base, keepAliveTreatment: 'standard' }, busy: false, at: 12_000, reason: 'inactivity' },
    { name: 'standard busy: maxConnectionLifetime', opts: { ...base, keepAliveTreatment: 'standard' }, busy: true, at: 100_000, reason: 'lifetime' },
    { name: 'extended idle: inactivity x multiplier', opts: { ...base, keepAliveTreatment: 'extended' }, busy: false, at: 32_000, reason: 'inactivity' },
    { name: 'extended busy: extendedKeepAliveLifetime', opts: { ...base, keepAliveTreatment: 'extended' }, busy: true, at: 50_000, reason: 'lifetime' },
    { name: 'keepAlive:false + extended: standard limits', opts: { ...base, keepAliveTreatment: 'extended', keepAlive: false }, busy: false, at: 12_000, reason: 'inactivity' },
    { name: 'keepAlive:false + extended busy: maxConnectionLifetime', opts: { ...base, keepAliveTreatment: 'extended', keepAlive: false }, busy: true, at: 100_000, reason: 'lifetime' },
    { name: 'keepAlive:false + immortal: standard limits', opts: { ...base, keepAliveTreatment: 'immortal', keepAlive: false }, busy: false, at: 12_000, reason: 'inactivity' },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const r = await rig(t, c.opts);
      const at = await elapsedUntilClose(r, 200_000, c.busy ? 4000 : 0);
      assert.equal(at, c.at);
      assert.equal(r.closes[0]!.clientReason, c.reason);
      assert.equal(r.closes[0]!.backendReason, c.reason);
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
      { inactivityTimeout: 2 ** 40, maxConnectionLifetime: 2 ** 40, keepAliveTreatment: 'standard', inactivityCheckInterval: hour },
      hour,
    );
    const lastCheckBefore = Math.floor(MAX_TIMER_MS / hour) * hour; // 596 h < 2^31-1 ms
    r.time.advance(lastCheckBefore, hour);
    await settle();
    assert.equal(r.closes.length, 0, 'still open just before 2^31-1 ms');
    r.time.advance(hour, hour); // 597 h >= 2^31-1 ms
    await closedWithin(r.socket);
    assert.equal(r.closes[0]!.clientReason, 'lifetime');
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
