/**
 * Bug 5: pooled upstream keep-alive sockets. A socket the backend closes while it idles in
 * the pool is destroyed at once (never left in CLOSE_WAIT, never handed to a request), and
 * after stop() no upstream socket is left, idle or busy. Sockets are observed from both
 * ends: `ss -tan` on the backend's port (kernel view) and the backend's own connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireCommand } from '../helpers/tools.js';
import {
  Rig,
  NO_IP_LIMITS,
  freePort,
  get,
  okResponse,
  scripts,
  upstreamSocketStates,
  ssSockets,
  waitFor,
  delay,
  type BackendConn,
  type ConnectionScript,
  exitWhenDone,
} from './kit.js';
import type { IRouteConfig } from '../../ts/index.js';

exitWhenDone();

const HOST = 'pool.lifecycle.test';

function route(port: number, backendPort: number): IRouteConfig {
  return { name: 'pool', match: { ports: port, domains: HOST }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } } };
}

/** Answers each request (keep-alive) and sends FIN `idleMs` after its last answer. */
function answerThenIdleClose(idleMs: number): ConnectionScript {
  return (c: BackendConn) => {
    let timer: NodeJS.Timeout | undefined;
    const answer = scripts.answerEachRequest(() => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        c.faultAt = performance.now();
        c.socket.end();
      }, idleMs);
      return okResponse('pooled');
    });
    answer(c);
    c.socket.once('close', () => clearTimeout(timer));
  };
}

function describeStates(port: number): string {
  return JSON.stringify(ssSockets(port));
}

test('bug 5: idle pooled sockets the backend closes are destroyed at once: no CLOSE_WAIT, the next request is served', async (t) => {
  if (!requireCommand('ss', t)) return;
  const rig = Rig.open(t);
  const backend = await rig.backend(answerThenIdleClose(300));
  const port = await freePort();
  await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
  // Four clients at once: several upstream sockets, all pooled when their exchanges end.
  const clients = await Promise.all([0, 1, 2, 3].map(() => rig.connect(port)));
  for (const c of clients) c.send(get(HOST, '/', 'Connection: close\r\n'));
  for (const c of clients) {
    assert.ok(await c.waitEnded(2000), c.describe());
    assert.equal(c.status, 200, c.describe());
  }
  const n = backend.conns.length;
  assert.ok(n >= 1);
  // Each backend connection sends FIN 300 ms after its answer; the proxy must close its end.
  await waitFor(() => backend.conns.every((c) => c.faultAt !== undefined), 2000);
  const lastFin = Math.max(...backend.conns.map((c) => c.faultAt!));
  await waitFor(() => backend.open === 0, 1000, { message: () => `backend connections still open ${backend.open} of ${n}; sockets: ${describeStates(backend.port)}` });
  const lag = performance.now() - lastFin;
  t.diagnostic(`${n} pooled upstream sockets closed ${Math.round(lag)} ms after the backend's FIN`);
  const states = upstreamSocketStates(backend.port);
  assert.equal(states['CLOSE-WAIT'] ?? 0, 0, `no upstream socket in CLOSE_WAIT: ${describeStates(backend.port)}`);
  assert.equal(states['ESTAB'] ?? 0, 0, `no upstream socket left established: ${describeStates(backend.port)}`);
  // The pool hands out no dead socket: the next request is served, not failed.
  const next = await rig.connect(port);
  next.send(get(HOST, '/again', 'Connection: close\r\n'));
  assert.ok(await next.waitEnded(2000), next.describe());
  assert.equal(next.status, 200, next.describe());
  assert.equal(backend.conns.length, n + 1, 'served on a fresh upstream connection');
  await rig.finish();
});

test('bug 5: a backend FIN on a pooled socket while its client stays connected: the next request on that client is served', async (t) => {
  if (!requireCommand('ss', t)) return;
  const rig = Rig.open(t);
  const backend = await rig.backend(answerThenIdleClose(200));
  const port = await freePort();
  await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
  const client = await rig.connect(port);
  client.send(get(HOST));
  assert.ok(await client.waitText((s) => s.endsWith('pooled'), 2000), client.describe());
  await waitFor(() => backend.conns[0]?.faultAt !== undefined, 2000);
  await waitFor(() => backend.open === 0, 1000, { message: () => `upstream socket not closed after the backend's FIN: ${describeStates(backend.port)}` });
  assert.equal(upstreamSocketStates(backend.port)['CLOSE-WAIT'] ?? 0, 0, describeStates(backend.port));
  client.data = Buffer.alloc(0);
  client.send(get(HOST, '/second'));
  assert.ok(await client.waitText((s) => s.endsWith('pooled'), 2000), client.describe());
  assert.equal(client.status, 200);
  assert.equal(client.ended, false);
  client.destroy();
  await rig.finish();
});

test('bug 5: after stop() no upstream socket is left (idle pooled ones and one with a request in flight)', async (t) => {
  if (!requireCommand('ss', t)) return;
  const rig = Rig.open(t);
  // Answers every request except those for /slow; never closes on its own.
  // A backend that answers the proxy's FIN with its own (allowHalfOpen off), so its open
  // count falls to 0 exactly when the proxy has closed every upstream socket.
  const backend = await rig.backend(
    scripts.answerEachRequest((c) => (c.text().includes('GET /slow') ? undefined : okResponse('kept'))),
    { allowHalfOpen: false },
  );
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
  const clients = await Promise.all([0, 1, 2].map(() => rig.connect(port)));
  for (const c of clients) c.send(get(HOST, '/', 'Connection: close\r\n'));
  for (const c of clients) assert.ok(await c.waitEnded(2000), c.describe());
  const slow = await rig.connect(port);
  slow.send(get(HOST, '/slow'));
  await waitFor(() => backend.conns.some((c) => c.text().includes('GET /slow')), 2000);
  await delay(50);
  const before = upstreamSocketStates(backend.port);
  assert.ok((before['ESTAB'] ?? 0) >= 2, `pooled and in-flight upstream sockets exist before stop: ${describeStates(backend.port)}`);
  const started = performance.now();
  await proxy.stop();
  const stopMs = performance.now() - started;
  assert.ok(stopMs < 1000, `stop() took ${Math.round(stopMs)} ms (gracefulShutdownTimeout 0)`);
  await waitFor(() => backend.open === 0, 1000, { message: () => `backend still sees ${backend.open} open connections after stop(): ${describeStates(backend.port)}` });
  const after = upstreamSocketStates(backend.port);
  assert.equal((after['ESTAB'] ?? 0) + (after['CLOSE-WAIT'] ?? 0), 0, `no upstream socket after stop(): ${describeStates(backend.port)}`);
  assert.ok(await slow.waitEnded(1000), `the in-flight client was closed by stop(): ${slow.describe()}`);
  await rig.finish();
});
