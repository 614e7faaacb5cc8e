/**
 * Fault injection through the L4 data path: 1,000 connections (plain forward, a forward to a
 * port nobody listens on, and TLS passthrough by SNI) aborted at seeded random points on
 * either side. Afterwards the proxy holds no record, no per-IP entry and no TCP handle more
 * than before, nothing escaped as an uncaught exception, and it still serves.
 * Replay a failure with FUZZ_SEED=<printed seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startProxy, freePorts } from '../integration/harness.js';
import { startTcpEchoServer } from '../helpers/backends.js';
import { testCert } from '../helpers/certs.js';
import { connectTo, readUntil } from '../helpers/clients.js';
import { trackTcpHandles, waitFor } from '../helpers/leaks.js';
import { makeRng, fuzzSeed } from '../protocol/helpers/rng.js';
import { startFaultyBackend } from './faulty-backend.js';
import { startTlsEchoBackend } from './tls-echo-backend.js';
import { makePlans, runPlan, describePlan, type IPlanResult } from './fault-plans.js';
import { runPool, watchProcessErrors, describeErrors, waitForProxyIdle, since } from './kit.js';

const CONNECTIONS = 1000;
const CONCURRENCY = 50;
const PER_CONNECTION_MS = 10_000;
const DOMAIN = 'leak.test';

test('fault injection: 1,000 connections aborted at random points leave no record, per-IP entry or handle', { timeout: 120_000 }, async (t) => {
  const seed = fuzzSeed();
  t.diagnostic(`seed ${seed} (replay with FUZZ_SEED=${seed})`);
  const watch = watchProcessErrors(t);

  const faulty = await startFaultyBackend();
  t.after(() => faulty.close());
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const cert = testCert(DOMAIN);
  const tlsBackend = await startTlsEchoBackend({ ...cert, name: 'tls-b' });
  t.after(() => tlsBackend.close());
  const [plainPort, refusedPort, tlsPort, deadPort, okPort] = await freePorts(5);
  const forward = (name: string, port: number, target: number) => ({
    name,
    match: { ports: port },
    action: { type: 'forward' as const, target: { host: '127.0.0.1', port: target } },
  });
  const proxy = await startProxy(t, {
    routes: [
      forward('plain', plainPort!, faulty.port),
      forward('refused', refusedPort!, deadPort!),
      forward('ok', okPort!, echo.port),
      {
        name: 'tls',
        match: { ports: tlsPort!, domains: DOMAIN },
        action: { type: 'forward', target: { host: '127.0.0.1', port: tlsBackend.port }, tls: { mode: 'passthrough' } },
      },
    ],
    // The per-IP rate window keeps an IP's state for 60 s by design: switch both per-IP limits off.
    connectionRateLimitPerMinute: 0,
    maxConnectionsPerIP: 0,
    initialDataTimeout: 5000,
    connectionTimeout: 5000,
  });
  const errorEvents: unknown[] = [];
  proxy.on('connection:error', (e) => errorEvents.push(e));
  const tracker = trackTcpHandles();

  const plans = makePlans(makeRng(seed), CONNECTIONS);
  const greeting = `tls-b sni=${DOMAIN}\n`;
  const started = performance.now();
  const results: IPlanResult[] = await runPool(plans.length, CONCURRENCY, (i) =>
    runPlan(plans[i]!, { plain: plainPort!, refused: refusedPort!, tls: tlsPort! }, { servername: DOMAIN, ca: cert.ca, greeting }, PER_CONNECTION_MS),
  );
  const stormMs = since(started);

  const byKind = new Map<string, number>();
  for (const p of plans) byKind.set(`${p.target}/${p.action}`, (byKind.get(`${p.target}/${p.action}`) ?? 0) + 1);
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  t.diagnostic(`${CONNECTIONS} connections in ${stormMs} ms (concurrency ${CONCURRENCY}); slowest ${slowest.ms} ms: ${describePlan(slowest.plan)}`);
  t.diagnostic(`plans: ${JSON.stringify(Object.fromEntries([...byKind].sort()))}`);
  t.diagnostic(`faulty backend: ${faulty.connections} accepted, ${faulty.badHeaders} bad headers; tls backend: ${tlsBackend.handshakes} handshakes; connection:error events ${errorEvents.length}`);

  const failed = results.filter((r) => r.outcome !== 'ok');
  assert.equal(
    failed.length,
    0,
    `seed ${seed}: ${failed.length} plans failed:\n${failed.slice(0, 20).map((r) => `${describePlan(r.plan)} -> ${r.outcome}: ${r.detail ?? ''}`).join('\n')}`,
  );
  assert.equal(faulty.badHeaders, 0, `seed ${seed}: the proxy altered or reordered bytes of a header`);

  const settleStart = performance.now();
  await waitForProxyIdle(proxy, 10_000);
  await tracker.check(10_000);
  t.diagnostic(`records, per-IP entries and TCP handles back to baseline ${since(settleStart)} ms after the last client finished`);
  // Backends see their sockets' 'close' events a tick after the handles are gone.
  await waitFor(() => faulty.active === 0 && tlsBackend.active === 0, 2000, {
    message: () => `backends still hold connections: faulty ${faulty.active}, tls ${tlsBackend.active}`,
  });

  // Still serving.
  const c = await connectTo(okPort!);
  c.write('still alive');
  assert.equal((await readUntil(c, (b) => b.length >= 11)).toString(), 'still alive');
  c.destroy();
  await waitForProxyIdle(proxy, 5000);

  assert.equal(watch.errors.length, 0, `seed ${seed}: process errors:\n${describeErrors(watch)}`);
});

test('a client that half-closes and vanishes while the backend never answers its FIN is reaped by the inactivity sweep', { timeout: 20_000 }, async (t) => {
  const watch = watchProcessErrors(t);
  // A backend that reads forever and never ends its side.
  const held = new Set<net.Socket>();
  const silent = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    held.add(s);
    s.once('close', () => held.delete(s));
    s.resume();
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { for (const s of held) s.destroy(); silent.close(() => r()); }));
  const [port] = await freePorts(1);
  const proxy = await startProxy(t, {
    routes: [{ name: 'silent', match: { ports: port! }, action: { type: 'forward', target: { host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port } } }],
    connectionRateLimitPerMinute: 0,
    maxConnectionsPerIP: 0,
    inactivityTimeout: 300,
    keepAliveTreatment: 'standard',
    inactivityCheckInterval: 50,
  });
  const tracker = trackTcpHandles();
  for (let i = 0; i < 10; i++) {
    const c = await connectTo(port!);
    c.end('bye');
    c.destroy();
  }
  await waitFor(() => held.size === 10, 2000, { message: () => `backend holds ${held.size}` });
  const started = performance.now();
  await waitForProxyIdle(proxy, 5000);
  const took = since(started);
  t.diagnostic(`10 half-closed connections reaped ${took} ms after the backend got them (inactivity 300 ms, check every 50 ms)`);
  // The backend never closes on its own (it ignores FIN). A write to a socket whose proxy side is
  // gone draws an RST and the next write fails (EPIPE), so every held socket closes if and only
  // if the proxy really let go of its end.
  await waitFor(
    () => {
      for (const s of held) s.write('x');
      return held.size === 0;
    },
    2000,
    { intervalMs: 20, message: () => `backend still holds ${held.size} after writing` },
  );
  await tracker.check(5000);
  assert.equal(watch.errors.length, 0, describeErrors(watch));
});

test('backend half-close: after the backend FINs, the client keeps sending and every byte arrives', { timeout: 20_000 }, async (t) => {
  const watch = watchProcessErrors(t);
  // A backend that ends its side at once, then counts what it still receives until the client's FIN.
  const got: number[] = [];
  const backend = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    let n = 0;
    s.on('data', (d: Buffer) => void (n += d.length));
    s.on('end', () => got.push(n));
    s.end('bye\n');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => backend.close(() => r())));
  const [port] = await freePorts(1);
  const proxy = await startProxy(t, {
    routes: [{ name: 'hc', match: { ports: port! }, action: { type: 'forward', target: { host: '127.0.0.1', port: (backend.address() as net.AddressInfo).port } } }],
    connectionRateLimitPerMinute: 0,
    maxConnectionsPerIP: 0,
  });
  const size = 1024 * 1024;
  await runPool(20, 10, async () => {
    const c = await connectTo(port!, { allowHalfOpen: true });
    const ended = new Promise<void>((r) => c.once('end', r));
    const closed = new Promise<void>((r) => c.once('close', r));
    c.resume();
    await ended; // the backend's FIN has reached the client
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    for (let sent = 0; sent < size; sent += chunk.length) {
      if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
    }
    c.end();
    await closed;
  });
  await waitFor(() => got.length === 20, 5000, { message: () => `backend saw FIN on ${got.length} of 20` });
  assert.deepEqual(got, new Array<number>(20).fill(size));
  await waitForProxyIdle(proxy, 5000);
  assert.equal(watch.errors.length, 0, describeErrors(watch));
});
