import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, freePort } from './harness.js';
import { startHttpServer, type IEchoResponse } from '../helpers/backends.js';
import { connectTo, httpRequest, readAll, readUntil, runCurl } from '../helpers/clients.js';
import { requireCommand } from '../helpers/tools.js';
import { createHttpToHttpsRedirect, type IRouteConfig } from '../../ts/index.js';

function httpRoute(name: string, port: number, domains: string | string[], target: number, extra: Partial<IRouteConfig> = {}): IRouteConfig {
  return { name, match: { ports: port, domains }, action: { type: 'forward', target: { host: '127.0.0.1', port: target } }, ...extra };
}

test('per-request routing on Host and path over one kept-alive connection', async (t) => {
  const a = await startHttpServer(undefined, { name: 'a' });
  const b = await startHttpServer(undefined, { name: 'b' });
  const api = await startHttpServer(undefined, { name: 'api' });
  t.after(() => Promise.all([a.close(), b.close(), api.close()]));
  const port = await freePort();
  const proxy = await startProxy(t, {
    routes: [
      httpRoute('a', port, 'a.example.com', a.port),
      httpRoute('b', port, 'b.example.com', b.port),
      { name: 'api', match: { ports: port, domains: 'a.example.com', path: '/api/*' }, action: { type: 'forward', target: { host: '127.0.0.1', port: api.port } } },
    ],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const get = (host: string, path: string): Promise<{ status: number; body: IEchoResponse }> =>
    new Promise((resolve, reject) => {
      const req = http.get({ port, host: '127.0.0.1', path, headers: { host }, agent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()) as IEchoResponse }));
      });
      req.on('error', reject);
    });
  const r1 = await get('a.example.com', '/x?q=1');
  const r2 = await get('B.example.com:' + port, '/y');
  const r3 = await get('a.example.com', '/api/users/7');
  const r4 = await get('a.example.com', '/apix');
  assert.deepEqual([r1.body.name, r2.body.name, r3.body.name, r4.body.name], ['a', 'b', 'api', 'a']);
  assert.equal(r1.body.url, '/x?q=1');
  assert.equal(r3.body.url, '/api/users/7');
  assert.equal(r2.body.headers.host, 'B.example.com:' + port, 'Host passes through unchanged');
  const stats = proxy.getStats();
  assert.equal(stats.requests.total(), 4);
  assert.equal(stats.connections.total(), 1, 'one client connection for four requests');
  // The upstream side is pooled too: repeated requests to one backend reuse its connection.
  await get('a.example.com', '/again');
  assert.equal(a.connections, 1);
});

test('X-Forwarded-* from an untrusted peer replace incoming values; Host and path unchanged', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('fwd', port, 'fwd.example.com', be.port)] });
  const res = await httpRequest(port, { path: '/p/a%20b?x=1', headers: { host: `fwd.example.com:${port}`, 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' } });
  const body = JSON.parse(res.body) as IEchoResponse;
  assert.equal(body.url, '/p/a%20b?x=1');
  assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(body.headers['x-forwarded-proto'], 'http');
  assert.equal(body.headers['x-forwarded-host'], `fwd.example.com:${port}`);
  assert.equal(body.headers['x-forwarded-port'], String(port));
  assert.equal(body.headers.host, `fwd.example.com:${port}`);
});

test('X-Forwarded-For from a trusted proxy (proxyIPs) is appended to', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('fwd', port, 'fwd.example.com', be.port)], proxyIPs: ['127.0.0.1'] });
  const res = await httpRequest(port, { headers: { host: 'fwd.example.com', 'x-forwarded-for': '203.0.113.9' } });
  assert.equal((JSON.parse(res.body) as IEchoResponse).headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
});

test('hop-by-hop headers are stripped, including those named in Connection', async (t) => {
  const be = await startHttpServer((req, res) => {
    res.setHeader('x-hop', 'secret');
    res.setHeader('connection', 'x-hop');
    res.setHeader('keep-alive', 'timeout=5');
    res.end(JSON.stringify(req.headers));
  });
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('h', port, 'h.example.com', be.port)] });
  const c = await connectTo(port);
  c.write('GET / HTTP/1.1\r\nHost: h.example.com\r\nConnection: x-private, keep-alive\r\nX-Private: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\nProxy-Authorization: x\r\nX-Keep: yes\r\n\r\n');
  const raw = (await readUntil(c, (b) => /\r\n\r\n[\s\S]*\}/.test(b.toString()))).toString();
  c.destroy();
  const [head, body] = raw.split('\r\n\r\n') as [string, string];
  const seen = JSON.parse(body) as Record<string, string>;
  assert.equal(seen['x-private'], undefined);
  assert.equal(seen['keep-alive'], undefined);
  assert.equal(seen['te'], undefined);
  assert.equal(seen['proxy-authorization'], undefined);
  assert.equal(seen['x-keep'], 'yes');
  assert.doesNotMatch(head, /x-hop/i);
  assert.doesNotMatch(head, /keep-alive: timeout/i);
});

test('local answers: 404 without a route, 502 when the backend refuses, 504 when it does not answer', async (t) => {
  const dead = await freePort();
  // Reads (so it notices the proxy closing) but never answers.
  const silent = net.createServer((s) => s.on('error', () => {}).resume());
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => silent.close(() => r())));
  const port = await freePort();
  const misses: unknown[] = [];
  const proxy = await startProxy(t, {
    routes: [httpRoute('dead', port, 'dead.example.com', dead), httpRoute('slow', port, 'slow.example.com', (silent.address() as net.AddressInfo).port)],
    responseTimeout: 1000,
  });
  proxy.on('route:miss', (e) => misses.push(e));
  assert.equal((await httpRequest(port, { headers: { host: 'nope.example.com' } })).status, 404);
  assert.equal(misses.length, 1);
  assert.equal((await httpRequest(port, { headers: { host: 'dead.example.com' } })).status, 502);
  assert.equal((await httpRequest(port, { headers: { host: 'slow.example.com' }, timeoutMs: 5000 })).status, 504);
});

test('smuggling attempts are refused and never reach the backend', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('s', port, 's.example.com', be.port)] });
  const attempts = [
    'POST / HTTP/1.1\r\nHost: s.example.com\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: s.example.com\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
    'POST / HTTP/1.1\r\nHost: s.example.com\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: s.example.com\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: s.example.com\r\nHost: other\r\n\r\n',
    'GET / HTTP/1.1\nHost: s.example.com\n\n',
  ];
  for (const a of attempts) {
    const c = await connectTo(port);
    c.write(a);
    const res = (await readAll(c, { timeoutMs: 3000 })).toString();
    assert.match(res, /^HTTP\/1\.1 400 /, JSON.stringify(a));
  }
  assert.equal(be.requests, 0);
  // A malformed chunked body is only seen once the head went on: the client gets 400, the backend a cut request.
  const c = await connectTo(port);
  c.write('POST / HTTP/1.1\r\nHost: s.example.com\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n');
  assert.match((await readAll(c, { timeoutMs: 3000 })).toString(), /^HTTP\/1\.1 400 /);
});

test('chunked upload and chunked response with trailers stream through; Expect: 100-continue works (curl)', async (t) => {
  if (!requireCommand('curl', t)) return;
  const be = await startHttpServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-count' });
      res.write(`got ${n} bytes; `);
      res.addTrailers({ 'x-count': String(n) });
      res.end(`te=${req.headers['transfer-encoding'] ?? 'none'}`);
    });
  });
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('c', port, 'c.example.com', be.port)] });
  const file = join(mkdtempSync(join(tmpdir(), 'spx-upload-')), 'body');
  writeFileSync(file, 'x'.repeat(200_000));
  const r = await runCurl(['-sS', '-H', 'Transfer-Encoding: chunked', '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, '--resolve', `c.example.com:${port}:127.0.0.1`, `http://c.example.com:${port}/up`], { timeoutMs: 10_000 });
  assert.equal(r.stdout, 'got 200000 bytes; te=chunked', r.stderr);
});

test('HEAD, 204 and 304 have no body; the connection stays usable', async (t) => {
  const be = await startHttpServer((req, res) => {
    if (req.url === '/204') return void res.writeHead(204).end();
    if (req.url === '/304') return void res.writeHead(304, { etag: '"x"' }).end();
    res.writeHead(200, { 'content-length': '5' });
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  });
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('n', port, 'n.example.com', be.port)] });
  const c = await connectTo(port);
  c.write('HEAD / HTTP/1.1\r\nHost: n.example.com\r\n\r\nGET /204 HTTP/1.1\r\nHost: n.example.com\r\n\r\nGET /304 HTTP/1.1\r\nHost: n.example.com\r\n\r\nGET / HTTP/1.1\r\nHost: n.example.com\r\nConnection: close\r\n\r\n');
  const all = (await readAll(c, { timeoutMs: 5000 })).toString();
  const statuses = [...all.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '204', '304', '200']);
  assert.ok(all.endsWith('hello'), all);
});

test('half-close: a client that sends its request then FIN still gets the whole response', async (t) => {
  const be = await startHttpServer((_req, res) => setTimeout(() => res.end('late answer'), 50));
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('hc', port, 'hc.example.com', be.port)] });
  const c = await connectTo(port, { allowHalfOpen: true });
  c.end('GET / HTTP/1.1\r\nHost: hc.example.com\r\n\r\n');
  const res = (await readAll(c)).toString();
  assert.match(res, /late answer$/);
});

test('route header rules with templates, on request and response', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, {
    routes: [
      httpRoute('tpl', port, 'tpl.example.com', be.port, {
        action: {
          type: 'forward',
          target: { host: '127.0.0.1', port: be.port },
          headers: { request: { 'X-Client': '{clientIp}', 'X-Route': '{routeName}:{domain}{path}' }, response: { 'X-Served-By': 'smartproxy {routeName}' } },
        },
      }),
    ],
  });
  const res = await httpRequest(port, { path: '/a/b?c', headers: { host: 'tpl.example.com', 'x-client': 'spoofed' } });
  const body = JSON.parse(res.body) as IEchoResponse;
  assert.equal(body.headers['x-client'], '127.0.0.1');
  assert.equal(body.headers['x-route'], 'tpl:tpl.example.com/a/b');
  assert.equal(res.headers['x-served-by'], 'smartproxy tpl');
});

test('basic auth (401 then 200) and request rate limit (429)', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  const blocked: unknown[] = [];
  const proxy = await startProxy(t, {
    routes: [
      httpRoute('auth', port, 'auth.example.com', be.port, { security: { basicAuth: { users: [{ username: 'u', password: 'p' }], realm: 'R' } } }),
      httpRoute('rl', port, 'rl.example.com', be.port, { security: { rateLimit: { maxRequests: 2, windowSeconds: 60 } } }),
    ],
  });
  proxy.on('security:blocked', (e) => blocked.push(e));
  const no = await httpRequest(port, { headers: { host: 'auth.example.com' } });
  assert.equal(no.status, 401);
  assert.match(String(no.headers['www-authenticate']), /^Basic realm="R"/);
  const bad = await httpRequest(port, { headers: { host: 'auth.example.com', authorization: `Basic ${Buffer.from('u:x').toString('base64')}` } });
  assert.equal(bad.status, 401);
  const ok = await httpRequest(port, { headers: { host: 'auth.example.com', authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } });
  assert.equal(ok.status, 200);
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await httpRequest(port, { headers: { host: 'rl.example.com' } })).status);
  assert.deepEqual(codes, [200, 200, 429]);
  assert.equal(blocked.length, 3);
});

test('a response head with nothing to change reaches the client byte for byte; one with hop-by-hop fields is rebuilt', async (t) => {
  // A raw backend, so the exact bytes it sends are known: the first answer has odd but valid
  // spacing and no hop-by-hop field, the second a Keep-Alive field and an HTTP/1.0 status line.
  const answers = [
    'HTTP/1.1 200 OK\r\nX-Odd:   spaced  \r\nContent-Length:2\r\n\r\nhi',
    'HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nho',
  ];
  let n = 0;
  const be = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => {
      if (d.includes('\r\n\r\n')) s.write(answers[n++ % answers.length]!);
    });
  });
  await new Promise<void>((r) => be.listen(0, '127.0.0.1', r));
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('v', port, 'v.example.com', (be.address() as net.AddressInfo).port)] });
  const c = await connectTo(port);
  t.after(() => c.destroy());
  c.write('GET /a HTTP/1.1\r\nHost: v.example.com\r\n\r\n');
  const first = (await readUntil(c, (b) => b.toString().endsWith('hi'))).toString();
  assert.equal(first, answers[0]);
  c.write('GET /b HTTP/1.1\r\nHost: v.example.com\r\n\r\n');
  const second = (await readUntil(c, (b) => b.toString().endsWith('ho'))).toString();
  assert.match(second, /^HTTP\/1\.1 200 OK\r\n/);
  assert.doesNotMatch(second, /keep-alive/i);
  assert.match(second, /\r\nContent-Length: 2\r\n\r\nho$/);
});

test('a backend that resets a pooled connection: the idempotent request is retried once on a fresh connection', async (t) => {
  let served = 0;
  const be = await startHttpServer((_req, res) => {
    served++;
    res.end(`n${served}`);
    // After answering, the backend drops the idle keep-alive socket without notice.
    if (served === 1) setTimeout(() => res.socket?.resetAndDestroy(), 20);
  });
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('r', port, 'r.example.com', be.port)] });
  assert.equal((await httpRequest(port, { headers: { host: 'r.example.com' } })).body, 'n1');
  await new Promise((r) => setTimeout(r, 100));
  const second = await httpRequest(port, { headers: { host: 'r.example.com' } });
  assert.equal(second.status, 200);
  assert.equal(second.body, 'n2');
});

test('a pooled backend socket that sends bytes while idle is dropped; the next request gets a fresh connection', async (t) => {
  let connections = 0;
  const open = new Set<net.Socket>();
  const raw = net.createServer((s) => {
    connections++;
    const n = connections;
    open.add(s);
    s.on('error', () => {});
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      head = '';
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nc${n}`);
      // The first connection then misbehaves: bytes nobody asked for, on an idle keep-alive socket.
      if (n === 1) setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\njunk'), 30);
    });
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  // The second connection stays in the proxy's pool: close it from this side, not after the pool's idle sweep.
  t.after(() => new Promise<void>((r) => {
    for (const s of open) s.destroy();
    raw.close(() => r());
  }));
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('r', port, 'r.example.com', (raw.address() as net.AddressInfo).port)] });
  assert.equal((await httpRequest(port, { headers: { host: 'r.example.com' } })).body, 'c1');
  await new Promise((r) => setTimeout(r, 150));
  const second = await httpRequest(port, { headers: { host: 'r.example.com' } });
  assert.equal(second.status, 200);
  assert.equal(second.body, 'c2', 'served by a new backend connection, not the junk');
  assert.equal(connections, 2);
});

test('HTTP/1.0 client and pipelined requests are answered in order', async (t) => {
  const be = await startHttpServer((req, res) => res.end(`echo ${req.url}`));
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('p', port, 'p.example.com', be.port)] });
  const c = await connectTo(port);
  c.write('GET /1 HTTP/1.1\r\nHost: p.example.com\r\n\r\nGET /2 HTTP/1.1\r\nHost: p.example.com\r\n\r\nGET /3 HTTP/1.0\r\nHost: p.example.com\r\n\r\n');
  const all = (await readAll(c, { timeoutMs: 5000 })).toString();
  assert.deepEqual([...all.matchAll(/echo (\/\d)/g)].map((m) => m[1]), ['/1', '/2', '/3']);
  assert.match(all, /Connection: close/i);
});

test('createHttpToHttpsRedirect beside an HTTP route on one port: 301 with the https location, other paths proxied', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, {
    routes: [
      { name: 'api', priority: 10, match: { ports: port, domains: 'r.example.com', path: '/api/*' }, action: { type: 'forward', target: { host: '127.0.0.1', port: be.port } } },
      createHttpToHttpsRedirect('r.example.com', { port, httpsPort: 8443 }),
      createHttpToHttpsRedirect('s.example.com', { port }),
    ],
  });
  const api = await httpRequest(port, { path: '/api/x', headers: { host: 'r.example.com' } });
  assert.equal(api.status, 200);
  const red = await httpRequest(port, { path: '/p/q?x=1', headers: { host: `r.example.com:${port}` } });
  assert.equal(red.status, 301);
  assert.equal(red.headers.location, 'https://r.example.com:8443/p/q?x=1');
  const red443 = await httpRequest(port, { path: '/', headers: { host: 's.example.com' } });
  assert.equal(red443.headers.location, 'https://s.example.com/');
});

test('path rewriting from the match remainder and parameters (action.target.path); the query is kept', async (t) => {
  const be = await startHttpServer();
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, {
    routes: [
      { name: 'api', match: { ports: port, domains: 'rw.example.com', path: '/api/*' }, action: { type: 'forward', target: { host: '127.0.0.1', port: be.port, path: '/v2{remainder}' } } },
      { name: 'user', match: { ports: port, domains: 'rw.example.com', path: '/users/:id' }, action: { type: 'forward', target: { host: '127.0.0.1', port: be.port, path: '/people/{id}' } } },
    ],
  });
  const a = JSON.parse((await httpRequest(port, { path: '/api/items/3?x=1&y=2', headers: { host: 'rw.example.com' } })).body) as IEchoResponse;
  assert.equal(a.url, '/v2/items/3?x=1&y=2');
  const u = JSON.parse((await httpRequest(port, { path: '/users/42', headers: { host: 'rw.example.com' } })).body) as IEchoResponse;
  assert.equal(u.url, '/people/42');
  // Absolute-form requests reach the backend in origin form.
  const c = await connectTo(port);
  c.write(`GET http://rw.example.com/api/abs?q HTTP/1.1\r\nHost: rw.example.com\r\nConnection: close\r\n\r\n`);
  assert.match((await readAll(c)).toString(), /"url":"\/v2\/abs\?q"/);
});

test('a kept-alive client that stops in the middle of its next request head and sends FIN gets 400', async (t) => {
  const be = await startHttpServer((_req, res) => res.end('one'));
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('cut', port, 'cut.example.com', be.port)] });
  const c = await connectTo(port, { allowHalfOpen: true });
  c.write('GET / HTTP/1.1\r\nHost: cut.example.com\r\n\r\n');
  await readUntil(c, (b) => b.toString().endsWith('one'));
  c.write('GET /two HTTP/1.1\r\nHost: cut.example.com\r\n');
  await new Promise((r) => setTimeout(r, 50));
  c.end();
  assert.match((await readAll(c)).toString(), /^HTTP\/1\.1 400 /);
  assert.equal(be.requests, 1);
});

test('many kept-alive clients fetching large responses under backpressure all complete (pooled sockets reused)', { timeout: 60_000 }, async (t) => {
  const big = Buffer.alloc(256 * 1024, 0x61);
  const be = await startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-length': big.length });
    res.end(big);
  });
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('big', port, 'big.example.com', be.port)] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  t.after(() => agent.destroy());
  const fetchOne = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.get({ port, host: '127.0.0.1', path: '/', headers: { host: 'big.example.com' }, agent }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => resolve(n));
      });
      req.setTimeout(5000, () => req.destroy(new Error('stalled response')));
      req.on('error', reject);
    });
  const clients = Array.from({ length: 20 }, async () => {
    for (let i = 0; i < 15; i++) assert.equal(await fetchOne(), big.length);
  });
  await Promise.all(clients);
});
