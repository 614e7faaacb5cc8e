/**
 * terminateTls + CertStore through real clients (openssl s_client, curl, node tls) against the
 * small terminating echo server in ./terminator.ts.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as crypto from 'node:crypto';
import { connectTls, connectTo, readUntil, runCurl, runOpenssl } from '../helpers/clients.js';
import { testCaFile, testCert } from '../helpers/certs.js';
import { waitFor } from '../helpers/leaks.js';
import { requireCommand } from '../helpers/tools.js';
import { compile, startTerminator, terminateRoute, type Terminator } from './terminator.js';

const FIXTURE = new URL('../fixtures/client-hellos/openssl-sni-tls13.bin', import.meta.url);

/** Routes: exact, wildcard SAN (on a route that names another host), auto (self-signed), catch-all. */
function selectionRoutes() {
  return [
    terminateRoute('exact', 'www.site.test', testCert('www.site.test')),
    terminateRoute('wild-cert', 'wildhost.test', testCert('*.site.test')),
    terminateRoute('auto', 'auto.test', 'auto'),
    terminateRoute('default', undefined, testCert('default.test')),
  ];
}

interface SClient {
  subject: string;
  protocol: string;
  verify: string;
  alpn: string;
  ok: boolean;
  stdout: string;
}

async function sClient(port: number, args: string[]): Promise<SClient> {
  const r = await runOpenssl(['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', testCaFile(), ...args], {
    timeoutMs: 8000,
  });
  const out = r.stdout + r.stderr;
  return {
    subject: /^subject=(.*)$/m.exec(out)?.[1]?.trim() ?? '',
    protocol: /^New, (TLSv[\d.]+), Cipher/m.exec(out)?.[1] ?? '',
    verify: /Verify return code: (\d+)/.exec(out)?.[1] ?? '',
    alpn: /ALPN protocol: (\S+)/.exec(out)?.[1] ?? (/No ALPN negotiated/.test(out) ? 'none' : ''),
    ok: r.code === 0 && !r.timedOut,
    stdout: out,
  };
}

async function terminator(t: TestContext, opts: Parameters<typeof startTerminator>[2] = {}): Promise<Terminator> {
  return startTerminator(t, selectionRoutes(), opts);
}

describe('certificate selection by SNI (openssl s_client)', () => {
  const cases: Array<[string, string | undefined, RegExp, string]> = [
    ['exact SAN name', 'www.site.test', /CN\s*=\s*www\.site\.test/, '0'],
    ['exact SAN name, other case', 'WWW.Site.Test', /CN\s*=\s*www\.site\.test/, '0'],
    ['wildcard SAN, one label', 'a.site.test', /CN\s*=\s*\*\.site\.test/, '0'],
    ['wildcard does not cover two labels: the matched route (catch-all) certificate', 'a.b.site.test', /CN\s*=\s*default\.test/, '0'],
    ['wildcard does not cover the apex', 'site.test', /CN\s*=\s*default\.test/, '0'],
    ['unknown name: the route certificate', 'other.test', /CN\s*=\s*default\.test/, '0'],
    ['no SNI: the route certificate', undefined, /CN\s*=\s*default\.test/, '0'],
    ['auto without a provider: self-signed fallback', 'auto.test', /CN\s*=\s*auto\.test/, '18'],
  ];
  for (const [what, sni, subject, verify] of cases) {
    test(what, async (t) => {
      if (!requireCommand('openssl', t)) return;
      const term = await terminator(t);
      const r = await sClient(term.port, sni === undefined ? ['-noservername'] : ['-servername', sni]);
      assert.match(r.subject, subject, r.stdout);
      assert.equal(r.verify, verify, r.stdout);
      assert.equal(term.failures.length, 0);
    });
  }
});

describe('protocol versions and ALPN', () => {
  for (const [flag, version] of [['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']] as const) {
    test(`openssl ${flag}`, async (t) => {
      if (!requireCommand('openssl', t)) return;
      const term = await terminator(t);
      const r = await sClient(term.port, ['-servername', 'www.site.test', flag, '-alpn', 'h2,http/1.1']);
      assert.equal(r.protocol, version, r.stdout);
      assert.equal(r.verify, '0', r.stdout);
      assert.equal(r.alpn, 'http/1.1', r.stdout);
    });
  }

  test('node client: echo through the terminated connection, ALPN http/1.1 chosen over h2', async (t) => {
    const term = await terminator(t);
    const c = await connectTls(term.port, { servername: 'www.site.test', ca: [testCert('www.site.test').ca], ALPNProtocols: ['h2', 'http/1.1'] });
    t.after(() => c.destroy());
    assert.equal(c.alpnProtocol, 'http/1.1');
    c.write('ping\n');
    assert.equal((await readUntil(c, (b) => b.includes('\n'))).toString(), 'ping\n');
    const secure = term.secured[0]!;
    assert.equal(secure.servername, 'www.site.test');
    assert.equal(secure.alpnProtocol, 'http/1.1');
  });

  test('a TLS 1.1 client is refused and costs only its own connection', async (t) => {
    const term = await terminator(t);
    const raw = await connectTo(term.port);
    const old = tls.connect({ socket: raw, servername: 'www.site.test', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false });
    const err = await new Promise<Error>((resolve) => {
      old.once('error', resolve);
      old.once('secureConnect', () => resolve(new Error('unexpected handshake')));
    });
    old.destroy();
    assert.match(err.message, /protocol version|unsupported|alert/i);
    await waitFor(() => term.failures.length === 1, 3000);
    await term.allClosed();
    const ok = await connectTls(term.port, { servername: 'www.site.test', ca: [testCert('www.site.test').ca] });
    ok.destroy();
  });
});

describe('verification with curl', () => {
  test('curl --cacert verifies the exact certificate (ALPN http/1.1)', async (t) => {
    if (!requireCommand('curl', t)) return;
    const term = await terminator(t, { respond: 'http' });
    const r = await runCurl(['-v', '--cacert', testCaFile(), '--resolve', `www.site.test:${term.port}:127.0.0.1`, `https://www.site.test:${term.port}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok');
    assert.match(r.stderr, /ALPN: server accepted http\/1\.1/);
  });

  test('curl --cacert verifies a name under the wildcard certificate', async (t) => {
    if (!requireCommand('curl', t)) return;
    const term = await terminator(t, { respond: 'http' });
    const r = await runCurl(['--cacert', testCaFile(), '--resolve', `x.site.test:${term.port}:127.0.0.1`, `https://x.site.test:${term.port}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok');
  });

  test('curl refuses two labels under the wildcard (certificate does not match, exit 60)', async (t) => {
    if (!requireCommand('curl', t)) return;
    const term = await terminator(t, { respond: 'http' });
    const r = await runCurl(['--cacert', testCaFile(), '--resolve', `a.b.site.test:${term.port}:127.0.0.1`, `https://a.b.site.test:${term.port}/`]);
    assert.equal(r.code, 60, r.stderr);
  });
});

describe('handshake failures cost one connection', () => {
  const hello = readFileSync(FIXTURE);

  async function rawClient(port: number): Promise<net.Socket> {
    const s = await connectTo(port);
    s.resume();
    return s;
  }

  test('garbage after a valid ClientHello', async (t) => {
    const term = await terminator(t);
    const s = await rawClient(term.port);
    s.write(hello);
    s.write(Buffer.alloc(64, 0x42));
    await waitFor(() => term.failures.length === 1, 3000);
    await term.allClosed();
    assert.match(term.failures[0]!.message, /wrong version|record|unexpected|packet|alert/i);
    s.destroy();
    const ok = await connectTls(term.port, { servername: 'www.site.test', ca: [testCert('www.site.test').ca] });
    ok.destroy();
  });

  test('a client that stops after its ClientHello: handshake timeout', async (t) => {
    const term = await terminator(t, { handshakeTimeoutMs: 300 });
    const s = await rawClient(term.port);
    t.after(() => s.destroy());
    const started = Date.now();
    s.write(hello);
    await waitFor(() => term.failures.length === 1, 3000);
    assert.match(term.failures[0]!.message, /^tls_handshake_timeout/);
    assert.ok(Date.now() - started >= 250);
    await term.allClosed();
  });

  test('a client that leaves during the handshake', async (t) => {
    const term = await terminator(t);
    const s = await rawClient(term.port);
    s.write(hello);
    await waitFor(() => term.records.length === 1 && term.records[0]!.facts !== undefined, 3000);
    s.destroy();
    await waitFor(() => term.failures.length === 1, 3000);
    await term.allClosed();
  });
});

describe('provisioned and updated certificates', () => {
  test('certProvisionFunction certificate is served and verifies', async (t) => {
    if (!requireCommand('openssl', t)) return;
    const calls: string[] = [];
    const term = await startTerminator(t, [terminateRoute('prov', ['prov.test', 'www.prov.test'], 'auto')], {
      certProvisionFunction: async (domain) => {
        calls.push(domain);
        const c = testCert(['prov.test', 'www.prov.test']);
        return { key: c.key, cert: c.cert };
      },
    });
    assert.deepEqual(calls, ['prov.test']);
    const r = await sClient(term.port, ['-servername', 'www.prov.test', '-verify_hostname', 'www.prov.test']);
    assert.match(r.subject, /CN\s*=\s*prov\.test/, r.stdout);
    assert.equal(r.verify, '0', r.stdout);
    assert.equal(term.store.status('prov')!.source, 'provision');
  });

  test('certProvisionFunction failure: self-signed served, status error, handshake works', async (t) => {
    const term = await startTerminator(t, [terminateRoute('prov', 'prov.test', 'auto')], {
      certProvisionFunction: async () => {
        throw new Error('no certificate today');
      },
    });
    const c = await connectTls(term.port, { servername: 'prov.test', rejectUnauthorized: false });
    const peer = c.getPeerCertificate();
    c.destroy();
    assert.equal(peer.subject.CN, 'prov.test');
    assert.equal(peer.issuer.CN, 'prov.test'); // self-signed
    assert.equal(term.store.status('prov')!.status, 'error');
  });

  test('updateRoutes: a new certificate for a name is served to new connections; same certificates reuse contexts', async (t) => {
    const first = testCert(['swap.test']);
    const second = testCert(['swap.test', 'alt.swap.test']);
    const term = await startTerminator(t, [terminateRoute('swap', 'swap.test', first)]);
    const ca = [first.ca];
    const c1 = await connectTls(term.port, { servername: 'swap.test', ca });
    assert.equal(c1.getPeerCertificate().fingerprint256, new crypto.X509Certificate(first.cert).fingerprint256);
    const created = term.store.stats().contextsCreated;
    await term.setTable(compile([terminateRoute('swap', 'swap.test', first)]));
    assert.equal(term.store.stats().contextsCreated, created);
    await term.setTable(compile([terminateRoute('swap', 'swap.test', second)]));
    const c2 = await connectTls(term.port, { servername: 'swap.test', ca });
    assert.equal(c2.getPeerCertificate().fingerprint256, new crypto.X509Certificate(second.cert).fingerprint256);
    // the connection made before the update is untouched
    c1.write('still here\n');
    assert.equal((await readUntil(c1, (b) => b.includes('\n'))).toString(), 'still here\n');
    c1.destroy();
    c2.destroy();
  });
});
