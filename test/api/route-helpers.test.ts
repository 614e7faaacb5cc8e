import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { compileRoutes } from '../../ts/routing/index.js';
import {
  createCompleteHttpsServer,
  createHttpRoute,
  createHttpsPassthroughRoute,
  createHttpsTerminateRoute,
  createHttpToHttpsRedirect,
  createLoadBalancerRoute,
  createSocketHandlerRoute,
} from '../../ts/api/route-helpers.js';
import { locationParts, renderLocation } from '../../ts/engines/http/one-shot.js';
import type { IRouteConfig, IRouteContext } from '../../ts/types.js';

const target = { host: 'backend', port: 8080 };

describe('route helpers', () => {
  test('shapes', () => {
    const http = createHttpRoute(['a.com', 'b.com'], target);
    assert.deepEqual(http.match, { ports: 80, domains: ['a.com', 'b.com'] });
    assert.deepEqual(http.action, { type: 'forward', target });

    const term = createHttpsTerminateRoute('a.com', target, { certificate: { key: 'k', cert: 'c' }, httpsPort: 8443 });
    assert.deepEqual(term.action.tls, { mode: 'terminate', certificate: { key: 'k', cert: 'c' } });
    assert.equal(term.match.ports, 8443);
    assert.equal(createHttpsTerminateRoute('a.com', target, { reencrypt: true }).action.tls!.mode, 'terminate-and-reencrypt');
    assert.equal(createHttpsTerminateRoute('a.com', target).action.tls!.certificate, 'auto');

    const pass = createHttpsPassthroughRoute('a.com', target, { port: 8443 });
    assert.deepEqual([pass.match.ports, pass.action.tls], [8443, { mode: 'passthrough' }]);

    const redirect = createHttpToHttpsRedirect('a.com');
    assert.equal(redirect.action.type, 'socket-handler');
    assert.equal(typeof redirect.action.socketHandler, 'function');
    assert.equal(redirect.match.ports, 80);

    const [https, redir] = createCompleteHttpsServer('a.com', target, { certificate: 'auto' });
    assert.equal(https.action.tls!.mode, 'terminate');
    assert.equal(redir.match.ports, 80);

    const lb = createLoadBalancerRoute('a.com', ['10.0.0.1', '10.0.0.2'], 9000, { algorithm: 'least-connections' });
    assert.deepEqual(lb.action.target, { host: ['10.0.0.1', '10.0.0.2'], port: 9000 });
    assert.deepEqual(lb.action.loadBalancing, { algorithm: 'least-connections' });
    assert.equal(lb.match.ports, 80);
    assert.equal(createLoadBalancerRoute('a.com', ['h'], 1, { useTls: true }).match.ports, 443);

    const sh = createSocketHandlerRoute('a.com', [7000, { from: 7100, to: 7101 }], () => {}, { priority: 3 });
    assert.equal(sh.priority, 3);
    assert.equal(sh.action.type, 'socket-handler');
  });

  test('options merge into match and action', () => {
    const r = createHttpRoute('a.com', target, { match: { path: '/api/*', ports: 8080 }, action: { websocket: { enabled: true } }, priority: 2 });
    assert.deepEqual(r.match, { ports: 8080, domains: ['a.com'], path: '/api/*' });
    assert.deepEqual(r.action.websocket, { enabled: true });
    assert.equal(r.priority, 2);
  });

  test('every helper passes validation, all together, and names never collide', () => {
    const routes: IRouteConfig[] = [
      createHttpRoute('a.com', target),
      createHttpRoute('a.com', target, { match: { path: '/api/*' } }),
      createHttpRoute('b.com', target),
      createHttpsTerminateRoute('a.com', target),
      createHttpsTerminateRoute('a.com', target, { reencrypt: true, httpsPort: 8443 }),
      createHttpsPassthroughRoute('c.com', target),
      createHttpToHttpsRedirect('b.com'),
      ...createCompleteHttpsServer('d.com', target),
      ...createCompleteHttpsServer(['e.com', 'f.com'], target, { httpPort: 8080, httpsPort: 8443 }),
      createLoadBalancerRoute('g.com', ['h1', 'h2'], 80),
      createSocketHandlerRoute('h.com', 7000, () => {}),
    ];
    const table = compileRoutes(routes, { hasCertificateProvider: true });
    assert.equal(table.routes.length, routes.length);
    assert.equal(new Set(routes.map((r) => r.name)).size, routes.length);
    assert.equal(routes[0]!.name, 'http:a.com:80');
    assert.equal(routes[1]!.name, 'http:a.com:80:/api/*');
  });
});

describe('redirect location rendering', () => {
  test('templates: {path} is the target with its query (as 19.x), {domain} from Host else SNI, {port}, {clientIp}', () => {
    const ctx = { port: 80, clientIp: '10.0.0.1' };
    const parts = locationParts({ host: 'a.com:8080', path: '/p?q=1' }, ctx);
    assert.deepEqual(parts, { domain: 'a.com', path: '/p?q=1', port: 80, clientIp: '10.0.0.1' });
    assert.equal(renderLocation('https://{domain}{path}', parts), 'https://a.com/p?q=1');
    const noHost = locationParts({ host: undefined, path: '/p?q=1' }, { ...ctx, domain: 'sni.com' });
    assert.equal(renderLocation('https://{domain}:8443{path}', noHost), 'https://sni.com:8443/p?q=1');
    assert.equal(renderLocation('https://{domain}/', locationParts({ host: undefined, path: '/' }, ctx)), undefined);
    assert.equal(renderLocation('https://x{path}:{port}?from={clientIp}', locationParts({ host: '[::1]:80', path: '/' }, { port: 81, clientIp: '::1' })), 'https://x/:81?from=::1');
  });
});

async function exchange(handler: (s: net.Socket, c: IRouteContext) => void, request: string, t: { after(fn: () => void): void }): Promise<string> {
  const server = net.createServer((socket) => {
    const ctx = { connectionId: '1', port: 80, clientIp: '127.0.0.1', clientPort: 1, serverIp: '127.0.0.1', isTls: false, timestamp: 0 } as IRouteContext;
    handler(socket, ctx);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('timeout'));
    }, 3000);
    c.on('data', (d) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    c.write(request.slice(0, 10));
    setTimeout(() => c.write(request.slice(10)), 20); // the head arrives in two pieces
  });
}

describe('redirect handler on a real socket', () => {
  test('301 to https without port 443', async (t) => {
    const route = createHttpToHttpsRedirect('a.com');
    const res = await exchange(route.action.socketHandler!, 'GET /path/x?y=1 HTTP/1.1\r\nHost: A.com\r\n\r\n', t);
    assert.match(res, /^HTTP\/1\.1 301 Moved Permanently\r\n/);
    assert.match(res, /\r\nLocation: https:\/\/a\.com\/path\/x\?y=1\r\n/);
  });
  test('non-443 https port is kept', async (t) => {
    const route = createHttpToHttpsRedirect('a.com', { httpsPort: 8443 });
    const res = await exchange(route.action.socketHandler!, 'GET / HTTP/1.1\r\nHost: a.com:80\r\n\r\n', t);
    assert.match(res, /\r\nLocation: https:\/\/a\.com:8443\/\r\n/);
  });
  test('malformed request gets 400', async (t) => {
    const route = createHttpToHttpsRedirect('a.com');
    const res = await exchange(route.action.socketHandler!, 'NOT HTTP AT ALL\r\n\r\n', t);
    assert.match(res, /^HTTP\/1\.1 400 /);
  });
  test('oversized head gets 431', async (t) => {
    const route = createHttpToHttpsRedirect('a.com');
    const res = await exchange(route.action.socketHandler!, `GET / HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, t);
    assert.match(res, /^HTTP\/1\.1 431 /);
  });
});
