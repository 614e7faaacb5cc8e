/**
 * start(), stop(), updateRoutes(), addListeningPort() and removeListeningPort() are
 * serialised: called without awaiting each other they end as if run one after the other, in
 * call order. Bug 8: stop() called while start() is still binding ends with the proxy stopped
 * and nothing listening. stop() never waits for connections whose sockets are gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rig,
  NO_IP_LIMITS,
  canConnect,
  freePorts,
  get,
  scripts,
  websocketAccept,
  websocketRequest,
  delay,
  waitFor,
  withTimeout,
  exitWhenDone,
} from './kit.js';
import type { IRouteConfig, SmartProxy } from '../../ts/index.js';

exitWhenDone();

function l4(name: string, port: number, backendPort: number): IRouteConfig {
  return { name, match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } } };
}

async function listening(ports: readonly number[]): Promise<boolean[]> {
  return Promise.all(ports.map((p) => canConnect(p, 1000)));
}

/** An echo round trip through `port`. */
async function echoes(rig: Rig, port: number): Promise<boolean> {
  const c = await rig.connect(port);
  c.socket.write('ping');
  const ok = await c.waitText((s) => s === 'ping', 1000);
  c.destroy();
  return ok;
}

function sorted(a: readonly number[]): number[] {
  return [...a].sort((x, y) => x - y);
}

const triggers: Array<{ name: string; wait: () => Promise<void> | void }> = [
  { name: 'in the same tick', wait: () => undefined },
  { name: 'a microtask later', wait: () => Promise.resolve() },
  { name: 'an event-loop turn later', wait: () => new Promise<void>((r) => setImmediate(r)) },
];
for (const trig of triggers) {
  test(`bug 8: stop() ${trig.name} than start() (not awaited): stopped, nothing listening; a later start() works`, async (t) => {
    const rig = Rig.open(t);
    const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
    const ports = await freePorts(6);
    const proxy = rig.makeProxy({ routes: ports.map((p, i) => l4(`r${i}`, p, backend.port)), ...NO_IP_LIMITS });
    const starting = proxy.start();
    starting.catch(() => undefined);
    await trig.wait();
    const stopping = proxy.stop();
    const [started, stopped] = await withTimeout(Promise.allSettled([starting, stopping]), 5000, 'start() + stop()');
    assert.equal(stopped.status, 'fulfilled', `stop() resolves: ${stopped.status === 'rejected' ? String(stopped.reason) : ''}`);
    t.diagnostic(`start() ${started.status}${started.status === 'rejected' ? `: ${String(started.reason)}` : ''}`);
    assert.deepEqual(proxy.getListeningPorts(), []);
    assert.deepEqual(await listening(ports), ports.map(() => false), 'every port refuses connections');
    await delay(200);
    assert.deepEqual(await listening(ports), ports.map(() => false), 'still nothing listening a moment later (no bind finished late)');
    // The proxy is reusable: a plain start() now binds every port and serves.
    await proxy.start();
    assert.deepEqual(sorted(proxy.getListeningPorts()), sorted(ports));
    assert.ok(await echoes(rig, ports[0]!), 'serves after the restart');
    await proxy.stop();
    assert.deepEqual(await listening(ports), ports.map(() => false));
    await rig.finish();
  });
}

test('start(); stop(); start(); stop() in a row, none awaited: stopped in the end, nothing listening', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
  const ports = await freePorts(3);
  const proxy = rig.makeProxy({ routes: ports.map((p, i) => l4(`r${i}`, p, backend.port)), ...NO_IP_LIMITS });
  const calls = [proxy.start(), proxy.stop(), proxy.start(), proxy.stop()];
  for (const c of calls) c.catch(() => undefined);
  const results = await withTimeout(Promise.allSettled(calls), 5000, 'start/stop x2');
  assert.equal(results[1]!.status, 'fulfilled');
  assert.equal(results[3]!.status, 'fulfilled');
  assert.deepEqual(proxy.getListeningPorts(), []);
  assert.deepEqual(await listening(ports), ports.map(() => false));
  await rig.finish();
});

test('updateRoutes() twice without awaiting: the last call wins, its ports listen and serve, the others do not', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
  const [a, b, c] = await freePorts(3);
  const proxy = await rig.proxy({ routes: [l4('a', a!, backend.port)], ...NO_IP_LIMITS });
  const u1 = proxy.updateRoutes([l4('b', b!, backend.port)]);
  const u2 = proxy.updateRoutes([l4('c', c!, backend.port)]);
  const res = await withTimeout(Promise.allSettled([u1, u2]), 5000, 'updateRoutes x2');
  assert.deepEqual(res.map((r) => r.status), ['fulfilled', 'fulfilled']);
  assert.deepEqual(proxy.getListeningPorts(), [c]);
  assert.deepEqual(await listening([a!, b!, c!]), [false, false, true]);
  assert.ok(await echoes(rig, c!));
  await proxy.stop();
  await rig.finish();
});

test('addListeningPort(p) then removeListeningPort(p) without awaiting: p ends closed; the reverse order ends open', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
  const [base, p, q] = await freePorts(3);
  const proxy = await rig.proxy({ routes: [l4('base', base!, backend.port)], ...NO_IP_LIMITS });
  await withTimeout(Promise.all([proxy.addListeningPort(p!), proxy.removeListeningPort(p!)]), 5000, 'add + remove');
  assert.ok(!proxy.getListeningPorts().includes(p!), `p not listed: ${JSON.stringify(proxy.getListeningPorts())}`);
  assert.equal(await canConnect(p!), false, 'p refuses connections');
  await proxy.addListeningPort(q!);
  await withTimeout(Promise.all([proxy.removeListeningPort(q!), proxy.addListeningPort(q!)]), 5000, 'remove + add');
  assert.ok(proxy.getListeningPorts().includes(q!), `q listed: ${JSON.stringify(proxy.getListeningPorts())}`);
  assert.equal(await canConnect(q!), true, 'q accepts connections');
  assert.equal(await canConnect(base!), true, 'the route port is untouched');
  await proxy.stop();
  assert.deepEqual(await listening([base!, p!, q!]), [false, false, false]);
  await rig.finish();
});

test('updateRoutes() (new ports) then stop() without awaiting: nothing listening once both settle', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
  const ports = await freePorts(5);
  const [first, ...more] = ports as [number, ...number[]];
  const proxy = await rig.proxy({ routes: [l4('first', first, backend.port)], ...NO_IP_LIMITS });
  const updating = proxy.updateRoutes(more.map((p, i) => l4(`m${i}`, p, backend.port)));
  updating.catch(() => undefined);
  const stopping = proxy.stop();
  const [, stopped] = await withTimeout(Promise.allSettled([updating, stopping]), 5000, 'updateRoutes + stop');
  assert.equal(stopped.status, 'fulfilled');
  assert.deepEqual(proxy.getListeningPorts(), []);
  assert.deepEqual(await listening(ports), ports.map(() => false));
  await delay(200);
  assert.deepEqual(await listening(ports), ports.map(() => false), 'no listener bound late');
  await rig.finish();
});

test('stop() never waits for connections whose sockets are gone (gracefulShutdownTimeout 5000)', async (t) => {
  const rig = Rig.open(t);
  const echo = await rig.backend(scripts.echoIgnoringFin());
  const http = await rig.backend(scripts.answerEachRequest((c) => (c.text().includes('GET /slow') ? undefined : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')));
  const ws = await rig.backend(scripts.afterFirstHead(websocketAccept));
  const [l4Port, httpPort, tlsPort] = await freePorts(3);
  const HOST = 'ops.lifecycle.test';
  const proxy: SmartProxy = await rig.proxy({
    routes: [
      l4('l4', l4Port!, echo.port),
      { name: 'http', match: { ports: httpPort!, domains: HOST, path: '/*' }, action: { type: 'forward', target: { host: '127.0.0.1', port: http.port } } },
      { name: 'ws', match: { ports: httpPort!, domains: HOST, path: '/ws' }, action: { type: 'forward', target: { host: '127.0.0.1', port: ws.port }, websocket: { enabled: true } } },
      { name: 'sni', match: { ports: tlsPort!, domains: 'sni.lifecycle.test' }, action: { type: 'forward', target: { host: '127.0.0.1', port: echo.port }, tls: { mode: 'passthrough' } } },
    ],
    gracefulShutdownTimeout: 5000,
    ...NO_IP_LIMITS,
  });
  const stats = proxy.getStats();
  // An L4 relay, a kept-alive HTTP connection, an HTTP request in flight, an upgraded
  // WebSocket, and a connection still waiting for its ClientHello.
  const relay = await rig.connect(l4Port!);
  relay.socket.write('x');
  assert.ok(await relay.waitText((s) => s === 'x', 1000));
  const kept = await rig.connect(httpPort!);
  kept.send(get(HOST, '/kept'));
  assert.ok(await kept.waitText((s) => s.endsWith('ok'), 1000), kept.describe());
  const inflight = await rig.connect(httpPort!);
  inflight.send(get(HOST, '/slow'));
  await waitFor(() => http.conns.some((c) => c.text().includes('GET /slow')), 1000);
  const upgraded = await rig.connect(httpPort!);
  upgraded.send(websocketRequest(HOST));
  assert.ok(await upgraded.waitHead(1000), upgraded.describe());
  assert.equal(upgraded.status, 101);
  const sniffing = await rig.connect(tlsPort!);
  await waitFor(() => stats.connections.active() === 5, 1000, { message: () => `active ${stats.connections.active()}` });
  // Every socket goes away abruptly, on both sides.
  for (const p of [relay, kept, inflight, upgraded, sniffing]) p.socket.resetAndDestroy();
  for (const b of [echo, http, ws]) for (const c of b.conns) c.socket.resetAndDestroy();
  await delay(100);
  const started = performance.now();
  await withTimeout(proxy.stop(), 6000, 'stop()');
  const ms = performance.now() - started;
  assert.ok(ms < 500, `stop() took ${Math.round(ms)} ms; nothing was left to drain`);
  assert.equal(stats.connections.active(), 0);
  await rig.finish();
});
