/**
 * Zombie rules end to end.
 *
 * "Stuck" (data received, nothing ever sent back) is reachable with real sockets: a backend
 * that accepts and never answers. "One side destroyed" is not: the pump (ts/forwarding/pump.ts)
 * destroys both sockets on any error, and a socket only closes cleanly once both of its
 * directions ended, which (through pipe() and the close handlers) ends the peer's directions
 * too, so the peer closes right after; a persistent half-dead record cannot be produced
 * through the proxy's sockets. That rule (and both-destroyed) is therefore checked at
 * ConnectionManager level with fake socket objects: the sweep itself is pure policy.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { startProxy, freePort, silentLogger } from '../integration/harness.js';
import { startTcpEchoServer } from '../helpers/backends.js';
import { connectTo } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import { DeadlineService } from '../../ts/core/deadlines.js';
import { ConnectionManager, type ConnectionMetricsSink } from '../../ts/connection/connection-manager.js';
import type { ConnectionRecord } from '../../ts/connection/connection-record.js';
import { resolveOptions } from '../../ts/core/options.js';
import type { ISmartProxyOptions } from '../../ts/types.js';
import { fakeTime, forwardRoute, recordEvents, echoConnection, closedWithin, settle, terminations } from './proxy-helpers.js';

type T = { after(fn: () => unknown): void };

/** A backend that accepts, never reads, never writes. Counts bytes the kernel would hand it (none read). */
async function silentBackend(t: T): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
    accepted++;
    s.on('error', () => {});
    sockets.add(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted };
}

describe('stuck: data received but nothing ever sent back (real sockets)', () => {
  async function plainStuck(t: T, options: Omit<ISmartProxyOptions, 'routes'> = {}) {
    const backend = await silentBackend(t);
    const port = await freePort();
    const time = fakeTime(1000);
    const proxy = await startProxy(
      t,
      { inactivityCheckInterval: 1000, ...options, routes: [forwardRoute('silent', port, backend.port)] },
      { clock: time.clock, ticker: time.ticker },
    );
    const { closes } = recordEvents(proxy);
    const client = await connectTo(port);
    t.after(() => client.destroy());
    client.write('hello?');
    await waitFor(() => backend.accepted() === 1 && proxy.getStats().connections.active() === 1, 3000);
    // Bytes read from the client reach the record's counters once the pump moved them.
    await settle();
    return { proxy, time, closes, client };
  }

  test('plain: cleaned after stuckGraceMs (default 60 s) as zombie', async (t) => {
    const r = await plainStuck(t);
    r.time.advance(59_000);
    await settle();
    assert.equal(r.closes.length, 0, 'not before the grace');
    r.time.advance(1000);
    await closedWithin(r.client);
    assert.equal(r.closes[0]!.reason, 'zombie');
    assert.equal(r.closes[0]!.side, 'proxy');
    assert.equal(r.closes[0]!.durationMs, 60_000);
    const term = await terminations(r.proxy);
    assert.equal(term['proxy:zombie'], 1);
    assert.equal(r.proxy.getDiagnostics().connectionRecords, 0);
  });

  test('plain: zombie.stuckGraceMs sets the grace; 0 disables the rule', async (t) => {
    const short = await plainStuck(t, { zombie: { stuckGraceMs: 5000 } });
    short.time.advance(5000);
    await closedWithin(short.client);
    assert.equal(short.closes[0]!.reason, 'zombie');

    const off = await plainStuck(t, { zombie: { stuckGraceMs: 0 } });
    off.time.advance(3_600_000, 60_000);
    await settle();
    assert.equal(off.closes.length, 0);
    assert.equal(off.proxy.connectionCount, 1);
  });

  test('TLS (a ClientHello was sniffed): the longer stuckGraceTlsMs (default 300 s) applies', async (t) => {
    const backend = await silentBackend(t);
    const port = await freePort();
    const time = fakeTime(1000);
    const proxy = await startProxy(
      t,
      {
        inactivityCheckInterval: 1000,
        routes: [
          {
            name: 'tls',
            match: { ports: port, domains: 'z.example.com' },
            action: { type: 'forward', target: { host: '127.0.0.1', port: backend.port }, tls: { mode: 'passthrough' } },
          },
        ],
      },
      { clock: time.clock, ticker: time.ticker },
    );
    const { closes } = recordEvents(proxy);
    const client = tls.connect({ host: '127.0.0.1', port, servername: 'z.example.com', rejectUnauthorized: false });
    client.on('error', () => {});
    t.after(() => client.destroy());
    await waitFor(() => backend.accepted() === 1 && proxy.getStats().connections.active() === 1, 3000);
    await settle();
    time.advance(60_000, 5000);
    await settle();
    assert.equal(closes.length, 0, 'the plain grace does not apply to TLS');
    time.advance(235_000, 5000); // 295 s
    assert.equal(closes.length, 0);
    time.advance(5000, 5000); // 300 s
    assert.equal(closes.length, 1);
    assert.equal(closes[0]!.reason, 'zombie');
    await closedWithin(client);
    assert.equal(proxy.getDiagnostics().connectionRecords, 0);
  });

  test('not stuck: a client that sent nothing, or a backend that answered', async (t) => {
    const silent = await silentBackend(t);
    const echoBackend = await startTcpEchoServer();
    t.after(() => echoBackend.close());
    const [p1, p2] = [await freePort(), await freePort()];
    const time = fakeTime(60_000);
    const proxy = await startProxy(
      t,
      { routes: [forwardRoute('silent', p1, silent.port), forwardRoute('echo', p2, echoBackend.port)] },
      { clock: time.clock, ticker: time.ticker },
    );
    const { closes } = recordEvents(proxy);
    const quiet = await connectTo(p1);
    t.after(() => quiet.destroy());
    await echoConnection(p2, t);
    await waitFor(() => silent.accepted() === 1 && proxy.connectionCount === 2, 3000);
    time.advance(600_000); // 10 min, twice the longest stuck grace
    await settle();
    assert.equal(closes.length, 0);
    assert.equal(proxy.connectionCount, 2);
  });
});

/** A stand-in for net.Socket with just what the sweep and close path read. */
class FakeSocket {
  destroyed = false;
  bytesRead = 0;
  bytesWritten = 0;
  destroy(): void {
    this.destroyed = true;
  }
  /** The record attaches its error and close listeners; nothing emits here. */
  on(): this {
    return this;
  }
}

function managerRig(zombie: ISmartProxyOptions['zombie'] = {}) {
  const time = fakeTime(1000);
  const closed: ConnectionRecord[] = [];
  const noop = (): void => {};
  const metrics: ConnectionMetricsSink = {
    connectionOpened: noop,
    connectionRouted: noop,
    connectionClosed: noop,
    connectionRefused: noop,
    connectionEnded: noop,
  };
  const cm = new ConnectionManager({
    options: resolveOptions({ routes: [], inactivityCheckInterval: 1000, zombie }),
    clock: time.clock,
    ticker: time.ticker,
    deadlines: new DeadlineService(time.clock, time.ticker),
    metrics,
    logger: silentLogger,
    onBlocked: noop,
    onClosed: (r) => closed.push(r),
  });
  cm.start();
  const open = (opts: { tls?: boolean; backend?: boolean } = {}) => {
    const client = new FakeSocket();
    const record = cm.create(client as unknown as net.Socket, '127.0.0.1', 40000, 443);
    assert.equal(cm.admit(record), undefined);
    const backend = opts.backend === false ? undefined : new FakeSocket();
    if (backend) record.backend = backend as unknown as net.Socket;
    if (opts.tls) record.facts = { isTls: true, isHttp: false, sni: 'z.example.com', tlsVersion: 'TLSv1.3', httpHost: undefined };
    // Traffic both ways, so the stuck rule stays out of the way.
    client.bytesRead = 100;
    client.bytesWritten = 100;
    return { record, client, backend };
  };
  return { cm, time, closed, open };
}

describe('one side destroyed: ConnectionManager sweep with fake sockets', () => {
  test('plain: cleaned halfZombieGraceMs (default 30 s) after a sweep first saw it', () => {
    const m = managerRig();
    const { record, client, backend } = m.open();
    m.time.advance(5000);
    client.destroyed = true; // the client side went away, the record stayed
    m.time.advance(1000); // first sight: half-dead since now
    m.time.advance(29_000);
    assert.equal(m.closed.length, 0);
    m.time.advance(1000);
    assert.equal(m.closed.length, 1);
    assert.equal(record.closeReason, 'zombie');
    assert.equal(record.closeSide, 'proxy');
    assert.equal(backend!.destroyed, true, 'the surviving side is destroyed');
    assert.equal(m.cm.size, 0);
    // The per-IP rate window still holds the admission (t0); it empties 60 s after it.
    m.time.advance(24_000);
    assert.equal(m.cm.trackedIps, 0);
  });

  test('backend side destroyed counts the same', () => {
    const m = managerRig();
    const { client, backend } = m.open();
    backend!.destroyed = true;
    m.time.advance(1000);
    m.time.advance(30_000);
    assert.equal(m.closed.length, 1);
    assert.equal(client.destroyed, true);
  });

  test('TLS: halfZombieGraceTlsMs (default 300 s)', () => {
    const m = managerRig();
    const { client } = m.open({ tls: true });
    client.destroyed = true;
    m.time.advance(1000);
    m.time.advance(299_000);
    assert.equal(m.closed.length, 0);
    m.time.advance(1000);
    assert.equal(m.closed.length, 1);
    assert.equal(m.closed[0]!.closeReason, 'zombie');
  });

  test('custom graces, and 0 disables the rule', () => {
    const m = managerRig({ halfZombieGraceMs: 2000, halfZombieGraceTlsMs: 0 });
    const plain = m.open();
    const tlsConn = m.open({ tls: true });
    plain.client.destroyed = true;
    tlsConn.client.destroyed = true;
    m.time.advance(3000);
    assert.deepEqual(m.closed.map((r) => r.id), [plain.record.id]);
    m.time.advance(3_600_000, 60_000);
    assert.equal(m.cm.size, 1, 'the TLS one is never cleaned by this rule');
  });

  test('both sides destroyed (or the client of a socket-handler connection): cleaned at the next sweep', () => {
    const m = managerRig();
    const both = m.open();
    const handler = m.open({ backend: false });
    both.client.destroyed = true;
    both.backend!.destroyed = true;
    handler.client.destroyed = true;
    m.time.advance(1000);
    assert.equal(m.closed.length, 2);
    assert.ok(m.closed.every((r) => r.closeReason === 'zombie'));
    assert.equal(m.cm.size, 0);
  });

  test('stuck with fake sockets: plain 60 s / TLS 300 s from the start, not from the data', () => {
    const m = managerRig();
    const plain = m.open();
    const tlsConn = m.open({ tls: true });
    for (const c of [plain, tlsConn]) c.client.bytesWritten = 0;
    m.time.advance(60_000);
    assert.deepEqual(m.closed.map((r) => r.id), [plain.record.id]);
    m.time.advance(240_000);
    assert.deepEqual(m.closed.map((r) => r.id), [plain.record.id, tlsConn.record.id]);
  });
});
