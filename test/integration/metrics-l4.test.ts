/**
 * Metrics through the real proxy, L4 data path: exact byte totals against the client's own
 * socket counters (plain forward and TLS passthrough), connection and request counts, keys of
 * byRoute / byIP (route names, generated 'route-<index>', plain IPs), live values while a
 * connection is open, and throughput on the real clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { startProxy, freePort, freePorts } from './harness.js';
import { startSinkServer, startTcpEchoServer, startTlsServer } from '../helpers/backends.js';
import { connectTo, readAll, readUntil, sendBytes } from '../helpers/clients.js';
import { testCert } from '../helpers/certs.js';
import { waitFor, delay } from '../helpers/leaks.js';
import type { IRouteConfig } from '../../ts/index.js';

const MiB = 1024 * 1024;

function forward(name: string | undefined, port: number, target: number): IRouteConfig {
  const r: IRouteConfig = { match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: target } } };
  if (name !== undefined) r.name = name;
  return r;
}

/** Resolves once the socket has fully closed (both directions). */
function closed(socket: net.Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((r) => socket.once('close', () => r()));
}

test('L4 forward: 3 MiB up, 5 MiB down; totals equal the client socket counters exactly', { timeout: 30_000 }, async (t) => {
  const sink = await startSinkServer({ sendOnConnect: 5 * MiB });
  t.after(() => sink.close());
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [forward('bulk', port, sink.port)] });
  const stats = proxy.getStats();
  const client = await connectTo(port, { allowHalfOpen: true });
  const received = readAll(client, { timeoutMs: 20_000 });
  await sendBytes(client, 3 * MiB);
  client.end();
  const got = await received;
  await closed(client);
  assert.equal(got.length, 5 * MiB);
  assert.equal(client.bytesWritten, 3 * MiB);
  await waitFor(() => proxy.connectionCount === 0, 5000);
  assert.equal(stats.totals.bytesIn(), client.bytesWritten);
  assert.equal(stats.totals.bytesOut(), client.bytesRead);
  assert.equal(stats.connections.total(), 1);
  assert.equal(stats.totals.connections(), 1);
  assert.equal(stats.requests.total(), 1);
  assert.equal(stats.connections.active(), 0);
  // Percentiles of the one closed connection are its own byte counts.
  const p = stats.percentiles.bytesTransferred();
  assert.equal(p.in.p50, 3 * MiB);
  assert.equal(p.out.p50, 5 * MiB);
});

test('TLS passthrough: totals equal the raw TCP socket under the TLS client', { timeout: 30_000 }, async (t) => {
  const cert = testCert('pass.example.com');
  const backend = await startTlsServer({ ...cert, name: 'tls-echo' });
  t.after(() => backend.close());
  const port = await freePort();
  const proxy = await startProxy(t, {
    routes: [
      {
        name: 'pass',
        match: { ports: port, domains: 'pass.example.com' },
        action: { type: 'forward', target: { host: '127.0.0.1', port: backend.port }, tls: { mode: 'passthrough' } },
      },
    ],
  });
  const stats = proxy.getStats();
  const raw = await connectTo(port, { allowHalfOpen: true });
  const secure = tls.connect({ socket: raw, servername: 'pass.example.com', ca: [cert.ca] });
  secure.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => resolve());
    secure.once('error', reject);
  });
  const payload = 3 * MiB;
  const greeting = 'tls-echo sni=pass.example.com\n'.length;
  const received = readAll(secure, { timeoutMs: 20_000 });
  await sendBytes(secure, payload);
  // Wait for the whole echo before the close_notify, so the backend answers everything.
  await waitFor(() => secure.bytesRead >= payload + greeting, 20_000);
  secure.end();
  const got = await received;
  assert.equal(got.length, payload + greeting);
  await closed(raw);
  await waitFor(() => proxy.connectionCount === 0, 5000);
  assert.ok(raw.bytesWritten > payload, 'TLS records are larger than the payload');
  assert.equal(stats.totals.bytesIn(), raw.bytesWritten);
  assert.equal(stats.totals.bytesOut(), raw.bytesRead);
  assert.equal(stats.connections.total(), 1);
  assert.equal(stats.requests.total(), 1);
});

test('byRoute keys: route names and route-<index> (disabled routes counted); byIP plain 127.0.0.1 on a dual-stack listener', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const [pNamed, pUnnamed, pOff] = await freePorts(3);
  const proxy = await startProxy(t, {
    listenAddress: '::',
    routes: [
      { ...forward('off', pOff!, echo.port), enabled: false },
      forward(undefined, pUnnamed!, echo.port), // index 1 -> 'route-1'
      forward('named', pNamed!, echo.port),
    ],
  });
  const stats = proxy.getStats();
  const a = await connectTo(pUnnamed!);
  const b = await connectTo(pNamed!);
  const c = await connectTo(pNamed!);
  for (const s of [a, b, c]) {
    s.write('ping');
    await readUntil(s, (buf) => buf.length >= 4);
  }
  // Live values while the connections are open.
  assert.equal(stats.connections.active(), 3);
  assert.deepEqual([...stats.connections.byRoute()].sort(), [['named', 2], ['route-1', 1]]);
  assert.deepEqual([...stats.connections.byIP()], [['127.0.0.1', 3]]);
  assert.deepEqual(stats.connections.topIPs(), [{ ip: '127.0.0.1', count: 3 }]);
  assert.equal(stats.requests.total(), 3);
  assert.equal(stats.totals.bytesIn(), 12);
  assert.equal(stats.totals.bytesOut(), 12);
  a.destroy();
  await waitFor(() => stats.connections.active() === 2, 5000);
  assert.deepEqual([...stats.connections.byRoute()], [['named', 2]]);
  assert.deepEqual([...stats.connections.byIP()], [['127.0.0.1', 2]]);
  b.destroy();
  c.destroy();
  await waitFor(() => proxy.connectionCount === 0, 5000);
  assert.equal(stats.connections.byRoute().size, 0);
  assert.equal(stats.connections.byIP().size, 0);
  assert.equal(stats.connections.total(), 3);
  // Throughput maps use the same keys (and never a '::ffff:' address).
  await waitFor(() => stats.throughput.byRoute(5).has('named'), 3000);
  const ipKeys = [...stats.throughput.byIP(5).keys()];
  assert.deepEqual(ipKeys, ['127.0.0.1']);
  assert.deepEqual([...stats.throughput.byRoute(5).keys()].sort(), ['named', 'route-1']);
});

test('real clock: rates are non-zero while traffic flows; history runs oldest to newest', { timeout: 20_000 }, async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [forward('flow', port, echo.port)] });
  const stats = proxy.getStats();
  const client = await connectTo(port);
  client.resume(); // discard the echo
  let flowing = true;
  const chunk = Buffer.alloc(16 * 1024, 0x62);
  const pump = (async () => {
    while (flowing && !client.destroyed) {
      client.write(chunk);
      await delay(20);
    }
  })();
  t.after(() => {
    flowing = false;
    client.destroy();
  });
  const started = Date.now();
  await waitFor(() => stats.throughput.instant().in > 0 && stats.throughput.instant().out > 0, 3500);
  const waited = Date.now() - started;
  assert.ok(stats.throughput.recent().in > 0);
  assert.ok(stats.throughput.average().in > 0);
  assert.ok(stats.throughput.byRoute().get('flow')!.in > 0);
  assert.ok(stats.throughput.byIP().get('127.0.0.1')!.out > 0);
  assert.equal(stats.connections.active(), 1);
  // history() holds only seconds since start(): wait until five have passed
  await waitFor(() => stats.throughput.history(5).length === 5, 6000);
  const h = stats.throughput.history(5);
  assert.equal(h.length, 5);
  assert.ok(stats.throughput.history(3600).length <= 7, 'never padded with seconds before start()');
  for (let i = 1; i < h.length; i++) assert.equal(h[i]!.timestamp - h[i - 1]!.timestamp, 1000, 'one entry per second, oldest first');
  const nowSecondStart = Math.floor(Date.now() / 1000) * 1000;
  assert.ok(h[4]!.timestamp === nowSecondStart - 1000 || h[4]!.timestamp === nowSecondStart - 2000, 'newest entry is the last complete second');
  assert.ok(h[4]!.in > 0 || h[3]!.in > 0, 'the newest seconds carry the traffic');
  assert.ok(waited < 3500);
  flowing = false;
  await pump;
});
