/**
 * Route security blocks as a 19.x user writes them, end to end through SmartProxy with real
 * backends: basicAuth.excludePaths, rateLimit { enabled, maxRequests, window, errorMessage },
 * rateLimit.enabled: false, and route-level maxConnectionsPerIP on HTTP (429) and on an L4
 * TCP forward (closed), per route and released when a connection closes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { startProxy, freePort, freePorts } from '../integration/harness.js';
import { startHttpServer, startTcpEchoServer } from '../helpers/backends.js';
import { connectTo, httpRequest, readAll, readUntil } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import type { IRouteConfig, IRouteSecurity } from '../../ts/index.js';

function route(name: string, port: number, domain: string | undefined, backend: number, security: Record<string, unknown>): IRouteConfig {
  return {
    name,
    match: { ports: port, ...(domain !== undefined ? { domains: domain } : {}) },
    action: { type: 'forward', target: { host: '127.0.0.1', port: backend } },
    security: security as IRouteSecurity,
  };
}

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** One request on an open keep-alive socket; resolves with the whole (Content-Length framed) response. */
async function rawGet(socket: net.Socket, host: string, path = '/'): Promise<RawResponse> {
  const reading = readUntil(socket, (b) => {
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const len = /\r\ncontent-length:\s*(\d+)/i.exec(b.subarray(0, end).toString('latin1'));
    return b.length >= end + 4 + Number(len?.[1] ?? 0);
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  const text = (await reading).toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  return { status: Number(text.slice(9, 12)), headers: text.slice(0, end), body: text.slice(end + 4) };
}

test('basicAuth.excludePaths: excluded paths are served without credentials, the rest need them', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, {
    routes: [
      route('basic', port, 'basic.test', be.port, {
        basicAuth: { enabled: true, users: [{ username: 'admin', password: 's3cret' }], realm: 'Ops', excludePaths: ['/health', '/public/*'] },
      }),
    ],
  });
  const cases: Array<[string, string | undefined, number]> = [
    ['/health', undefined, 200],
    ['/health?probe=1', undefined, 200],
    ['/public', undefined, 200],
    ['/public/css/a.css', undefined, 200],
    ['/healthz', undefined, 401],
    ['/publicity', undefined, 401],
    ['/', undefined, 401],
    ['/admin', undefined, 401],
    ['/admin', basic('admin', 'wrong'), 401],
    ['/admin', basic('root', 's3cret'), 401],
    ['/admin', basic('admin', 's3cret'), 200],
  ];
  for (const [path, authorization, status] of cases) {
    const res = await httpRequest(port, { path, headers: { host: 'basic.test', ...(authorization ? { authorization } : {}) } });
    assert.equal(res.status, status, `${path} ${authorization ?? '(no credentials)'}`);
    if (status === 401) assert.match(String(res.headers['www-authenticate']), /^Basic realm="Ops"/);
    if (status === 200) assert.equal(JSON.parse(res.body).url, path);
  }
  assert.equal(be.requests, 5);
});

test('rateLimit with 19.x names: the third request in the window gets 429, errorMessage and Retry-After', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, {
    routes: [
      route('limited', port, 'limited.test', be.port, { rateLimit: { enabled: true, maxRequests: 2, window: 60, errorMessage: 'slow down' } }),
      route('off', port, 'off.test', be.port, { rateLimit: { enabled: false, maxRequests: 1, window: 60 } }),
    ],
  });
  const get = (host: string) => httpRequest(port, { headers: { host } });
  assert.equal((await get('limited.test')).status, 200);
  assert.equal((await get('limited.test')).status, 200);
  const third = await get('limited.test');
  assert.equal(third.status, 429);
  assert.equal(third.body, 'slow down');
  const retry = Number(third.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${String(third.headers['retry-after'])}`);
  assert.equal((await get('limited.test')).status, 429, 'still limited within the window');
  assert.equal(be.requests, 2, 'refused requests never reach the backend');

  // enabled: false drops the block: no limit at all on that route (and the other route's window is its own)
  for (let i = 0; i < 5; i++) assert.equal((await get('off.test')).status, 200, `off.test request ${i + 1}`);
});

test('maxConnectionsPerIP on an HTTP route: the third concurrent connection gets 429; other routes unaffected; released on close', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  const proxy = await startProxy(t, {
    routes: [route('per-ip', port, 'limited.test', be.port, { maxConnectionsPerIP: 2 }), route('free', port, 'free.test', be.port, {})],
  });
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((s) => s.destroy()));
  const open = async (): Promise<net.Socket> => {
    const s = await connectTo(port);
    sockets.push(s);
    return s;
  };
  const a = await open();
  const b = await open();
  assert.equal((await rawGet(a, 'limited.test')).status, 200);
  assert.equal((await rawGet(b, 'limited.test')).status, 200);
  // both stay counted while kept alive: a second request on each still passes
  assert.equal((await rawGet(a, 'limited.test', '/again')).status, 200);

  const c = await open();
  const closed = readAll(c, { timeoutMs: 5000 });
  c.write('GET / HTTP/1.1\r\nHost: limited.test\r\n\r\n');
  const refused = (await closed).toString('utf8');
  assert.match(refused, /^HTTP\/1\.1 429 /, refused);

  // another route on the same port and the same client IP is not limited by it
  const d = await open();
  assert.equal((await rawGet(d, 'free.test')).status, 200);
  const e = await open();
  assert.equal((await rawGet(e, 'free.test')).status, 200);

  // one of the two closes: a new connection is admitted again
  a.destroy();
  await waitFor(() => proxy.getStats().connections.active() <= 3, 3000, { message: 'the closed connection is released' });
  const f = await open();
  assert.equal((await rawGet(f, 'limited.test')).status, 200);
  const g = await open();
  const g429 = await rawGet(g, 'limited.test').catch((err: Error) => ({ status: 0, headers: '', body: err.message }));
  assert.equal(g429.status, 429);
});

test('maxConnectionsPerIP on an L4 TCP route: the third connection is closed; other routes unaffected; released on close', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const [port, other] = await freePorts(2);
  await startProxy(t, {
    routes: [route('l4-limited', port!, undefined, echo.port, { maxConnectionsPerIP: 2 }), route('l4-free', other!, undefined, echo.port, {})],
  });
  const sockets: net.Socket[] = [];
  t.after(() => sockets.forEach((s) => s.destroy()));
  const openEcho = async (p: number, text: string): Promise<net.Socket> => {
    const s = await connectTo(p);
    sockets.push(s);
    const got = readUntil(s, (b) => b.toString() === text);
    s.write(text);
    await got;
    return s;
  };
  const a = await openEcho(port!, 'one');
  await openEcho(port!, 'two');
  await waitFor(() => echo.active === 2);

  const c = await connectTo(port!);
  sockets.push(c);
  const rest = readAll(c, { timeoutMs: 5000 });
  c.write('three');
  assert.equal((await rest).length, 0, 'the third connection is closed without data');
  assert.equal(echo.active, 2, 'and never reached the backend');

  await openEcho(other!, 'elsewhere');
  await openEcho(other!, 'elsewhere-2');

  a.destroy();
  await waitFor(() => echo.active === 3, 3000, { message: `backend connections: ${echo.active}` });
  await openEcho(port!, 'again');
});
