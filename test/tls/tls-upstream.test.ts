import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { connectTlsUpstream, type TlsConnectOptions, type TlsConnectResult } from '../../ts/forwarding/tls-upstream.js';
import { startTlsServer } from '../helpers/backends.js';
import { testCert } from '../helpers/certs.js';
import { readUntil } from '../helpers/clients.js';
import { createSelfSignedCertificate } from '../../ts/tls/self-signed.js';

/** Connect, giving up after `timeoutMs` as a caller's connect deadline would (abort). */
function connect(t: TestContext, o: Partial<TlsConnectOptions> & { port: number; timeoutMs?: number }): Promise<TlsConnectResult> {
  const { timeoutMs = 3000, ...rest } = o;
  return new Promise((resolve) => {
    const pending = connectTlsUpstream({ host: '127.0.0.1', noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000, ...rest }, (r) => {
      clearTimeout(timer);
      if (r.ok) t.after(() => r.socket.destroy());
      resolve(r);
    });
    const timer = setTimeout(() => pending.abort('connect_timeout', `not connected after ${timeoutMs} ms`), timeoutMs);
  });
}

async function backend(t: TestContext, pair: { key: string; cert: string }) {
  const b = await startTlsServer({ ...pair, name: 'b' });
  t.after(() => b.close());
  return b;
}

describe('connectTlsUpstream', () => {
  test('verification off by default: a self-signed backend is accepted; the client SNI is sent', async (t) => {
    const b = await backend(t, createSelfSignedCertificate(['backend.test']));
    const r = await connect(t, { port: b.port, servername: 'client-sni.test' });
    assert.ok(r.ok);
    assert.equal(r.socket.alpnProtocol, false); // the backend offers no ALPN
    const greeting = await readUntil(r.socket, (d) => d.includes('\n'));
    assert.equal(greeting.toString(), 'b sni=client-sni.test\n');
    assert.deepEqual(b.servernames, ['client-sni.test']);
  });

  test('ALPN offers http/1.1', async (t) => {
    const pair = createSelfSignedCertificate(['alpn.test']);
    const offered: string[][] = [];
    const srv = tls.createServer({ ...pair, ALPNCallback: ({ protocols }) => (offered.push(protocols), protocols[0]) }, (s) => s.destroy());
    srv.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    t.after(() => srv.close());
    const r = await connect(t, { port: (srv.address() as net.AddressInfo).port });
    assert.ok(r.ok);
    assert.equal(r.socket.alpnProtocol, 'http/1.1');
    assert.deepEqual(offered, [['http/1.1']]);
  });

  test('SNI defaults to the target host when it is a name, none for an IP', async (t) => {
    const b = await backend(t, testCert('localhost'));
    const byName = await connect(t, { host: 'localhost', port: b.port });
    if (!byName.ok && byName.reason === 'connect_refused') {
      t.skip('localhost does not resolve to the IPv4 listener here');
      return;
    }
    assert.ok(byName.ok);
    const byIp = await connect(t, { port: b.port });
    assert.ok(byIp.ok);
    await readUntil(byIp.socket, (d) => d.includes('\n'));
    assert.deepEqual(b.servernames, ['localhost', '']);
  });

  test('verification on: trusted CA and matching name pass, otherwise protocol_error', async (t) => {
    const c = testCert('backend.test');
    const b = await backend(t, c);
    const good = await connect(t, { port: b.port, servername: 'backend.test', rejectUnauthorized: true, ca: c.ca });
    assert.ok(good.ok);
    assert.equal(good.socket.authorized, true);
    const wrongName = await connect(t, { port: b.port, servername: 'other.test', rejectUnauthorized: true, ca: [c.ca] });
    assert.equal(wrongName.ok, false);
    assert.equal(!wrongName.ok && wrongName.reason, 'protocol_error');
    const untrusted = await connect(t, { port: b.port, servername: 'backend.test', rejectUnauthorized: true });
    assert.equal(untrusted.ok, false);
    assert.equal(!untrusted.ok && untrusted.reason, 'protocol_error');
  });

  test('nothing listening: connect_refused', async (t) => {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    const r = await connect(t, { port });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'connect_refused');
  });

  test('a backend that accepts TCP but never answers the handshake: connect_timeout', async (t) => {
    const held: net.Socket[] = [];
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      held.push(s);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of held) s.destroy();
      srv.close();
    });
    const started = Date.now();
    const r = await connect(t, { port: (srv.address() as net.AddressInfo).port, timeoutMs: 200 });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'connect_timeout');
    assert.ok(Date.now() - started >= 150);
  });

  test('a backend that is not TLS: protocol_error', async (t) => {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    t.after(() => srv.close());
    const r = await connect(t, { port: (srv.address() as net.AddressInfo).port });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'protocol_error');
  });
});
