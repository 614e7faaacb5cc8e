/**
 * A port whose routes terminate TLS never serves a plain HTTP request: it gets 400 (as nginx
 * answers "plain HTTP request sent to HTTPS port") and never reaches the backend, so TLS
 * cannot be bypassed by speaking HTTP to the HTTPS port. A plain route on the same port still
 * serves plain requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startProxy, freePort } from '../integration/harness.js';
import { startHttpServer } from '../helpers/backends.js';
import { runCurl } from '../helpers/clients.js';
import { testCert } from '../helpers/certs.js';
import { createHttpsTerminateRoute } from '../../ts/index.js';

function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let out = '';
    s.setEncoding('utf8').on('data', (d: string) => (out += d)).on('end', () => resolve(out)).on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('timeout')));
  });
}

test('plain HTTP to a terminating port: 400, the backend never sees it; TLS on the same port works', async (t) => {
  const backend = await startHttpServer();
  t.after(() => backend.close());
  const port = await freePort();
  const c = testCert('shop.test');
  await startProxy(t, { routes: [createHttpsTerminateRoute('shop.test', { host: '127.0.0.1', port: backend.port }, { certificate: { key: c.key, cert: c.cert }, httpsPort: port })] });
  for (const host of ['shop.test', 'other.test']) {
    const res = await rawRequest(port, `GET /cart HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 400 /, res);
    assert.match(res, /plain HTTP request was sent to an HTTPS port/);
  }
  assert.equal(backend.requests, 0, 'nothing reached the backend');
  const ok = await runCurl(['-k', '--resolve', `shop.test:${port}:127.0.0.1`, `https://shop.test:${port}/cart`]);
  assert.match(ok.stdout, /"url":"\/cart"/, ok.stderr);
  assert.equal(backend.requests, 1);
});

test('a plain route on the same port serves plain requests; the terminating route only TLS ones', async (t) => {
  const tlsBackend = await startHttpServer(undefined, { name: 'tls' });
  const plainBackend = await startHttpServer(undefined, { name: 'plain' });
  t.after(() => tlsBackend.close());
  t.after(() => plainBackend.close());
  const port = await freePort();
  const c = testCert('both.test');
  await startProxy(t, {
    routes: [
      createHttpsTerminateRoute('both.test', { host: '127.0.0.1', port: tlsBackend.port }, { certificate: { key: c.key, cert: c.cert }, httpsPort: port, priority: 10 }),
      { name: 'plain', match: { ports: port, domains: 'both.test' }, action: { type: 'forward', target: { host: '127.0.0.1', port: plainBackend.port } } },
    ],
  });
  const plain = await rawRequest(port, 'GET /p HTTP/1.1\r\nHost: both.test\r\nConnection: close\r\n\r\n');
  assert.match(plain, /"name":"plain"/);
  const secure = await runCurl(['-k', '--resolve', `both.test:${port}:127.0.0.1`, `https://both.test:${port}/s`]);
  assert.match(secure.stdout, /"name":"tls"/, secure.stderr);
});
