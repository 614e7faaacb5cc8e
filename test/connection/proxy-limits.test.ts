/**
 * Admission limits with real sockets: per-IP concurrency, the rolling-minute rate (window
 * moved by a fake clock), the global cap, route maxConnections and route allow/block lists
 * (IPv4-mapped IPv6 clients included). Every refusal emits 'security:blocked' and closes
 * the socket at once; per-IP state is pruned by the sweep once the window has emptied.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { startProxy, freePort } from '../integration/harness.js';
import { startTcpEchoServer, type IBackend } from '../helpers/backends.js';
import { connectTo } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';
import type { IRouteConfig, IRouteSecurity, ISmartProxyOptions } from '../../ts/types.js';
import {
  fakeTime,
  forwardRoute,
  recordEvents,
  echoConnection,
  closedWithin,
  refusals,
  waitForRecords,
  type BlockedEvent,
  type FakeTime,
} from './proxy-helpers.js';

type T = { after(fn: () => unknown): void };

interface Rig {
  proxy: SmartProxy;
  time: FakeTime;
  port: number;
  backend: IBackend;
  blocked: BlockedEvent[];
}

async function rig(t: T, options: Omit<ISmartProxyOptions, 'routes'> = {}, security?: IRouteSecurity): Promise<Rig> {
  const backend = await startTcpEchoServer();
  t.after(() => backend.close());
  const port = await freePort();
  const time = fakeTime(1000);
  const route: IRouteConfig = forwardRoute('echo', port, backend.port, security ? { security } : {});
  const proxy = await startProxy(t, { ...options, routes: [route] }, { clock: time.clock, ticker: time.ticker });
  const { blocked } = recordEvents(proxy);
  return { proxy, time, port, backend, blocked };
}

/** Connect and expect the proxy to close the socket at once without a byte. */
async function expectRefused(port: number, t: T): Promise<void> {
  const socket = await connectTo(port);
  t.after(() => socket.destroy());
  let got = 0;
  socket.on('data', (d: Buffer) => (got += d.length));
  socket.write('let me in');
  await closedWithin(socket, 1000);
  assert.equal(got, 0);
}

async function closeAndWait(proxy: SmartProxy, socket: net.Socket, remaining: number): Promise<void> {
  socket.destroy();
  await waitForRecords(proxy, remaining);
}

describe('per-IP limits', () => {
  test('the 101st concurrent connection from one IP is refused while 100 are held (default maxConnectionsPerIP)', async (t) => {
    const r = await rig(t);
    const held: net.Socket[] = [];
    for (let i = 0; i < 100; i++) {
      const s = await connectTo(r.port);
      t.after(() => s.destroy());
      held.push(s);
    }
    await waitFor(() => r.proxy.getStats().connections.active() === 100 && r.backend.active === 100, 5000);
    await expectRefused(r.port, t);
    assert.equal(r.blocked.length, 1);
    assert.deepEqual(r.blocked[0], { reason: 'max_connections_per_ip', clientIp: '127.0.0.1', port: r.port, route: undefined });
    assert.equal(r.backend.connections, 100, 'the refused one never reached the backend');
    assert.equal((await refusals(r.proxy)).max_connections_per_ip, 1);
    // Held ones still work; freeing one slot lets the next in.
    await closeAndWait(r.proxy, held.pop()!, 99);
    await echoConnection(r.port, t);
    assert.equal(r.blocked.length, 1);
  });

  test('connectionRateLimitPerMinute over a rolling window moved by the fake clock', async (t) => {
    const r = await rig(t, { connectionRateLimitPerMinute: 5 });
    const openClose = async (): Promise<void> => {
      const s = await echoConnection(r.port, t);
      await closeAndWait(r.proxy, s, 0);
    };
    for (let i = 0; i < 3; i++) await openClose(); // t0: 3 admissions
    r.time.advance(30_000);
    for (let i = 0; i < 2; i++) await openClose(); // t0+30 s: 2 more (5 in the window)
    await expectRefused(r.port, t);
    assert.equal(r.blocked.at(-1)!.reason, 'rate_limit');
    r.time.advance(29_000); // t0+59 s: nothing has left the window yet
    await expectRefused(r.port, t);
    r.time.advance(1000); // t0+60 s: the first 3 leave the window
    for (let i = 0; i < 3; i++) await openClose();
    await expectRefused(r.port, t);
    r.time.advance(30_000); // t0+90 s: the 2 from t0+30 s leave
    for (let i = 0; i < 2; i++) await openClose();
    await expectRefused(r.port, t);
    assert.equal(r.blocked.length, 4);
    assert.ok(r.blocked.every((b) => b.reason === 'rate_limit' && b.clientIp === '127.0.0.1'));
    assert.equal((await refusals(r.proxy)).rate_limit, 4);
  });

  test('per-IP state is pruned once the window empties (sweep)', async (t) => {
    const r = await rig(t);
    for (let i = 0; i < 3; i++) {
      const s = await echoConnection(r.port, t);
      await closeAndWait(r.proxy, s, 0);
    }
    assert.equal(r.proxy.getDiagnostics().trackedIps, 1, 'admissions still inside the rate window');
    r.time.advance(59_000);
    assert.equal(r.proxy.getDiagnostics().trackedIps, 1);
    r.time.advance(61_000); // past 60 s and past the next sweep (every inactivityCheckInterval = 60 s)
    assert.equal(r.proxy.getDiagnostics().trackedIps, 0);
    assert.equal(r.proxy.getDiagnostics().connectionRecords, 0);
  });
});

describe('global and route caps', () => {
  test('maxConnections: the global cap refuses the next connection while it is full', async (t) => {
    const r = await rig(t, { maxConnections: 3 });
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await echoConnection(r.port, t));
    await expectRefused(r.port, t);
    assert.equal(r.blocked[0]!.reason, 'max_connections');
    await closeAndWait(r.proxy, held[0]!, 2);
    await echoConnection(r.port, t);
  });

  test('route security.maxConnections counts per route; other routes are not affected', async (t) => {
    const backend = await startTcpEchoServer();
    t.after(() => backend.close());
    const [limitedPort, freePortNo] = [await freePort(), await freePort()];
    const time = fakeTime();
    const proxy = await startProxy(
      t,
      {
        routes: [
          forwardRoute('limited', limitedPort, backend.port, { security: { maxConnections: 2 } }),
          forwardRoute('free', freePortNo, backend.port),
        ],
      },
      { clock: time.clock, ticker: time.ticker },
    );
    const { blocked } = recordEvents(proxy);
    const a = await echoConnection(limitedPort, t);
    await echoConnection(limitedPort, t);
    await expectRefused(limitedPort, t);
    const { route: _route, ...seen } = blocked[0]!;
    assert.deepEqual(seen, { reason: 'route_max_connections', clientIp: '127.0.0.1', port: limitedPort });
    for (let i = 0; i < 3; i++) await echoConnection(freePortNo, t);
    assert.equal(proxy.getStats().connections.byRoute().get('limited'), 2);
    await closeAndWait(proxy, a, 4);
    await echoConnection(limitedPort, t);
    assert.equal(blocked.length, 1);
  });
});

describe('route ipAllowList / ipBlockList with an IPv4-mapped client (listen on ::)', () => {
  const cases: Array<{ name: string; security: IRouteSecurity; refused?: 'ip_blocked' | 'ip_not_allowed' }> = [
    { name: 'allow 127.0.0.1', security: { ipAllowList: ['127.0.0.1'] } },
    { name: 'allow 127.0.0.0/8', security: { ipAllowList: ['127.0.0.0/8'] } },
    { name: 'allow ::ffff:127.0.0.1', security: { ipAllowList: ['::ffff:127.0.0.1'] } },
    { name: 'allow 127.0.0.*', security: { ipAllowList: ['127.0.0.*'] } },
    { name: 'allow 10.0.0.0/8 only', security: { ipAllowList: ['10.0.0.0/8'] }, refused: 'ip_not_allowed' },
    { name: 'allow ::1 only', security: { ipAllowList: ['::1'] }, refused: 'ip_not_allowed' },
    { name: 'block 127.0.0.1', security: { ipBlockList: ['127.0.0.1'] }, refused: 'ip_blocked' },
    { name: 'block 127.0.0.0/8', security: { ipBlockList: ['127.0.0.0/8'] }, refused: 'ip_blocked' },
    { name: 'block ::ffff:127.0.0.1', security: { ipBlockList: ['::ffff:127.0.0.1'] }, refused: 'ip_blocked' },
    { name: 'block 10.0.0.1 only', security: { ipBlockList: ['10.0.0.1'] } },
    { name: 'allow 127.0.0.1 + block 127.0.0.0/8: block wins', security: { ipAllowList: ['127.0.0.1'], ipBlockList: ['127.0.0.0/8'] }, refused: 'ip_blocked' },
    { name: 'allow 127.0.0.0/8 + block ::ffff:127.0.0.1: block wins', security: { ipAllowList: ['127.0.0.0/8'], ipBlockList: ['::ffff:127.0.0.1'] }, refused: 'ip_blocked' },
  ];

  test('each list form behaves as the IPv4 form; refusals are reported and closed at once', async (t) => {
    const backend = await startTcpEchoServer();
    t.after(() => backend.close());
    const port = await freePort();
    const time = fakeTime();
    const rawRemotes: string[] = [];
    const probePort = await freePort();
    // A socket-handler route shows what the listener really saw: the IPv4-mapped address.
    const probe: IRouteConfig = {
      name: 'probe',
      match: { ports: probePort },
      action: {
        type: 'socket-handler',
        socketHandler: (socket, ctx) => {
          rawRemotes.push(`${socket.remoteAddress} ${ctx.clientIp}`);
          socket.resume(); // read the client's FIN, so the connection can close
          socket.end('ok');
        },
      },
    };
    const proxy = await startProxy(t, { listenAddress: '::', routes: [probe] }, { clock: time.clock, ticker: time.ticker });
    const { blocked, closes } = recordEvents(proxy);
    const probeSocket = await connectTo(probePort);
    await closedWithin(probeSocket);
    assert.deepEqual(rawRemotes, ['::ffff:127.0.0.1 127.0.0.1']);

    for (const c of cases) {
      await proxy.updateRoutes([probe, forwardRoute('guarded', port, backend.port, { security: c.security })]);
      const before = { blocked: blocked.length, backend: backend.connections };
      if (c.refused) {
        await expectRefused(port, t);
        assert.equal(blocked.length, before.blocked + 1, c.name);
        const { route: _route, ...seen } = blocked.at(-1)!;
        assert.deepEqual(seen, { reason: c.refused, clientIp: '127.0.0.1', port }, c.name);
        assert.equal(backend.connections, before.backend, `${c.name}: never reached the backend`);
        await waitFor(() => closes.at(-1)?.reason === 'blocked', 1000, { message: c.name });
      } else {
        const s = await echoConnection(port, t);
        s.destroy();
        assert.equal(blocked.length, before.blocked, c.name);
      }
      await waitFor(() => proxy.connectionCount === 0, 3000, { message: () => `${c.name}: connectionCount ${proxy.connectionCount}` });
    }
    const counted = await refusals(proxy);
    assert.equal(counted.ip_blocked, cases.filter((c) => c.refused === 'ip_blocked').length);
    assert.equal(counted.ip_not_allowed, cases.filter((c) => c.refused === 'ip_not_allowed').length);
  });
});

test(
  "a route-level refusal's 'security:blocked' names the route that refused",
  {},
  async (t) => {
    const backend = await startTcpEchoServer();
    t.after(() => backend.close());
    const [a, b] = [await freePort(), await freePort()];
    const proxy = await startProxy(t, {
      routes: [
        forwardRoute('full', a, backend.port, { security: { maxConnections: 1 } }),
        forwardRoute('guarded', b, backend.port, { security: { ipBlockList: ['127.0.0.1'] } }),
      ],
    });
    const { blocked } = recordEvents(proxy);
    await echoConnection(a, t);
    await expectRefused(a, t);
    await expectRefused(b, t);
    assert.deepEqual(
      blocked.map((e) => [e.reason, e.route]),
      [
        ['route_max_connections', 'full'],
        ['ip_blocked', 'guarded'],
      ],
    );
  },
);
