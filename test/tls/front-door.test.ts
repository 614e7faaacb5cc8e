/**
 * The TLS front door of terminating routes, held to nginx's bar: the server's cipher order wins,
 * HTTP/1.0-only ALPN clients are served, and options `tls.{ciphers, minVersion, ecdhCurve,
 * sessionTimeout, defaultCertificate}` reach every cached secure context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { startProxy, freePort } from '../integration/harness.js';
import { testCert } from '../helpers/certs.js';
import { waitFor } from '../helpers/leaks.js';
import type { IRouteConfig, ISmartProxyOptions } from '../../ts/index.js';

async function backend(t: { after(fn: () => unknown): void }): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^GET (\S+) [^\r]*\r\n(?:[\s\S]*?\r\n)?Host: ([^\r]*)\r\n/i.exec(got);
      if (!got.includes('\r\n\r\n') || !m) return;
      const body = `${m[2]} ${m[1]}`;
      s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

async function proxyWith(t: { after(fn: () => unknown): void }, extra: Omit<ISmartProxyOptions, 'routes'> = {}, domains: string | undefined = 'front.test') {
  const cert = testCert(domains ?? 'front.test');
  const port = await freePort();
  const be = await backend(t);
  const proxy = await startProxy(t, {
    ...extra,
    routes: [
      {
        name: 'front',
        match: { ports: port, ...(domains !== undefined ? { domains } : {}) },
        action: { type: 'forward', target: { host: '127.0.0.1', port: be }, tls: { mode: 'terminate', certificate: { key: cert.key, cert: cert.cert } } },
      },
    ],
  });
  return { proxy, port, cert };
}

function connect(port: number, o: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...o });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

async function get(s: tls.TLSSocket, host: string, path = '/'): Promise<string> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((r) => s.once('end', () => r()));
  s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  await ended;
  return Buffer.concat(chunks).toString('latin1');
}

test("the server's cipher order wins: a client that prefers AES128-SHA gets ECDHE with AES-GCM", async (t) => {
  const { port } = await proxyWith(t);
  const s = await connect(port, { servername: 'front.test', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' });
  t.after(() => s.destroy());
  assert.match(s.getCipher().name, /^ECDHE-RSA-AES(128|256)-GCM-SHA(256|384)$/);
  s.destroy();
});

test('ALPN: an HTTP/1.0-only client is served (no alert 120); HTTP/1.1 is preferred when offered', async (t) => {
  const { port } = await proxyWith(t);
  const old = await connect(port, { servername: 'front.test', ALPNProtocols: ['http/1.0'] });
  t.after(() => old.destroy());
  assert.equal(old.alpnProtocol, 'http/1.0');
  assert.match(await get(old, 'front.test'), /^HTTP\/1\.1 200 /);
  const both = await connect(port, { servername: 'front.test', ALPNProtocols: ['http/1.0', 'http/1.1'] });
  t.after(() => both.destroy());
  assert.equal(both.alpnProtocol, 'http/1.1');
  both.destroy();
});

test('tls.minVersion TLSv1.3 refuses a TLS 1.2 client; tls.ciphers limits the TLS 1.2 suites', async (t) => {
  const a = await proxyWith(t, { tls: { minVersion: 'TLSv1.3' } });
  await assert.rejects(connect(a.port, { servername: 'front.test', maxVersion: 'TLSv1.2' }));
  const ok = await connect(a.port, { servername: 'front.test' });
  assert.equal(ok.getProtocol(), 'TLSv1.3');
  ok.destroy();

  const b = await proxyWith(t, { tls: { ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' } });
  await assert.rejects(connect(b.port, { servername: 'front.test', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }));
  const c = await connect(b.port, { servername: 'front.test', maxVersion: 'TLSv1.2' });
  assert.equal(c.getCipher().name, 'ECDHE-RSA-AES256-GCM-SHA384');
  c.destroy();
});

test('tls.ecdhCurve picks the key-exchange group; tls.sessionTimeout is accepted and resumption works', async (t) => {
  const { port } = await proxyWith(t, { tls: { ecdhCurve: 'P-384', sessionTimeout: 120 } });
  const s = await connect(port, { servername: 'front.test', maxVersion: 'TLSv1.2' });
  assert.equal((s.getEphemeralKeyInfo() as { name?: string }).name, 'secp384r1');
  const session = await new Promise<Buffer>((resolve) => {
    const got = s.getSession();
    if (got) resolve(got);
    else s.once('session', resolve);
  });
  s.destroy();
  const again = await connect(port, { servername: 'front.test', maxVersion: 'TLSv1.2', session });
  assert.equal(again.isSessionReused(), true);
  again.destroy();
});

test('tls.defaultCertificate serves clients without SNI or with an unknown name (routed by Host); without it they are closed', async (t) => {
  const fallback = testCert('default.test');
  const { port, proxy } = await proxyWith(t, { tls: { defaultCertificate: { key: fallback.key, cert: fallback.cert } } });
  for (const servername of [undefined, 'other.test']) {
    const s = await connect(port, servername === undefined ? {} : { servername });
    t.after(() => s.destroy());
    assert.match(s.getPeerX509Certificate()!.subject, /default\.test/, `${servername ?? 'no SNI'}: the default certificate`);
    const res = await get(s, 'front.test', '/by-host');
    assert.match(res, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nfront\.test \/by-host$/, `${servername ?? 'no SNI'}: routed by Host`);
  }
  const miss = await connect(port, {});
  t.after(() => miss.destroy());
  assert.match(await get(miss, 'nobody.test'), /^HTTP\/1\.1 404 /);
  await waitFor(() => proxy.getStats().connections.active() === 0, 3000);

  const plain = await proxyWith(t);
  await assert.rejects(connect(plain.port, {}), 'no default certificate: a client without SNI is closed');
});

test('a bad tls.defaultCertificate is a config error naming the part (cert, then key)', async (t) => {
  const port = await freePort();
  const routes: IRouteConfig[] = [{ name: 'x', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: 9 } } }];
  await assert.rejects(
    startProxy(t, { tls: { defaultCertificate: { key: 'nope', cert: 'nope' } }, routes }),
    (err: Error & { code?: string; path?: string }) => err.code === 'SPX_ERR_OPTION_INVALID' && err.path === 'tls.defaultCertificate.cert',
  );
  const good = testCert('default.test');
  await assert.rejects(
    startProxy(t, { tls: { defaultCertificate: { key: 'nope', cert: good.cert } }, routes }),
    (err: Error & { code?: string; path?: string }) => err.code === 'SPX_ERR_OPTION_INVALID' && err.path === 'tls.defaultCertificate.key',
  );
});
