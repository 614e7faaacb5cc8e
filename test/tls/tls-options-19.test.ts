/**
 * 19.x TLS options through SmartProxy and real clients (openssl s_client, node tls):
 * (a) a terminating route's action.tls.versions bounds its own handshakes (by SNI) and no other
 *     route's on the same port;
 * (b) allowSessionTicket: false stops TLS 1.2 session resumption; the default resumes;
 * (c) the top-level key/cert (strings or Buffers, an encrypted key with passphrase) and
 *     pfx + passphrase become the default certificate, served to a client without SNI;
 *     a wrong passphrase is a config error naming the part.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, freePort, silentLogger } from '../integration/harness.js';
import { startHttpServer } from '../helpers/backends.js';
import { connectTls, runOpenssl } from '../helpers/clients.js';
import { testCert, type ITestCert } from '../helpers/certs.js';
import { requireCommand } from '../helpers/tools.js';
import { SmartProxy, SmartProxyConfigError, type IRouteConfig, type ISmartProxyOptions } from '../../ts/index.js';

const dir = mkdtempSync(join(tmpdir(), 'spx-tls19-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

function terminate(name: string, port: number, domain: string, cert: ITestCert, backend: number, versions?: string[]): IRouteConfig {
  return {
    name,
    match: { ports: port, domains: domain },
    action: {
      type: 'forward',
      target: { host: '127.0.0.1', port: backend },
      tls: { mode: 'terminate', certificate: { key: cert.key, cert: cert.cert }, ...(versions ? { versions } : {}) },
    },
  } as IRouteConfig;
}

interface SClient {
  ok: boolean;
  /** 'New' or 'Reused' */
  kind: string;
  protocol: string;
  out: string;
}

async function sClient(port: number, args: string[]): Promise<SClient> {
  const r = await runOpenssl(['s_client', '-connect', `127.0.0.1:${port}`, ...args], { timeoutMs: 8000 });
  const out = r.stdout + r.stderr;
  const m = /^(New|Reused), (TLSv[\d.]+), Cipher is (\S+)/m.exec(out);
  return { ok: r.code === 0 && !r.timedOut && m !== null && m[3] !== '(NONE)', kind: m?.[1] ?? '', protocol: m?.[2] ?? '', out };
}

async function backend(t: TestContext): Promise<number> {
  const be = await startHttpServer();
  t.after(() => be.close());
  return be.port;
}

test('action.tls.versions bounds the route it is on, chosen by SNI; other routes on the port keep TLS 1.3', async (t) => {
  if (!requireCommand('openssl', t)) return;
  const be = await backend(t);
  const port = await freePort();
  await startProxy(t, {
    routes: [
      terminate('only13', port, 'v13.test', testCert('v13.test'), be, ['TLSv1.3']),
      terminate('only12', port, 'v12.test', testCert('v12.test'), be, ['TLSv1.2']),
      terminate('any', port, 'any.test', testCert('any.test'), be),
    ],
  });
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['v13.test', '-tls1_2', undefined],
    ['v13.test', '-tls1_3', 'TLSv1.3'],
    ['v13.test', undefined, 'TLSv1.3'],
    ['v12.test', '-tls1_3', undefined],
    ['v12.test', '-tls1_2', 'TLSv1.2'],
    ['v12.test', undefined, 'TLSv1.2'],
    ['any.test', '-tls1_3', 'TLSv1.3'],
    ['any.test', '-tls1_2', 'TLSv1.2'],
    ['any.test', undefined, 'TLSv1.3'],
  ];
  const results = await Promise.all(cases.map(([sni, flag]) => sClient(port, ['-servername', sni, ...(flag ? [flag] : [])])));
  cases.forEach(([sni, flag, want], i) => {
    const r = results[i]!;
    const what = `${sni} ${flag ?? '(any version)'}`;
    if (want === undefined) assert.equal(r.ok, false, `${what}: handshake should fail\n${r.out}`);
    else {
      assert.ok(r.ok, `${what}: handshake failed\n${r.out}`);
      assert.equal(r.protocol, want, what);
    }
  });
  // the same through node's client: a 1.2-capped client is refused on the 1.3-only route
  await assert.rejects(connectTls(port, { servername: 'v13.test', rejectUnauthorized: false, maxVersion: 'TLSv1.2' }));
  const s = await connectTls(port, { servername: 'v12.test', rejectUnauthorized: false });
  t.after(() => s.destroy());
  assert.equal(s.getProtocol(), 'TLSv1.2');
});

describe('allowSessionTicket (TLS 1.2 resumption with openssl -sess_out / -sess_in)', () => {
  const rows: Array<[string, boolean | undefined, 'Reused' | 'New']> = [
    ['default (true): the second handshake is resumed', undefined, 'Reused'],
    ['true: resumed', true, 'Reused'],
    ['false: no ticket, a full handshake again', false, 'New'],
  ];
  for (const [what, allow, second] of rows) {
    test(what, async (t) => {
      if (!requireCommand('openssl', t)) return;
      const be = await backend(t);
      const port = await freePort();
      await startProxy(t, {
        routes: [terminate('t', port, 'ticket.test', testCert('ticket.test'), be)],
        ...(allow !== undefined ? { allowSessionTicket: allow } : {}),
      });
      const sess = join(dir, `sess-${port}.pem`);
      const args = ['-servername', 'ticket.test', '-tls1_2'];
      const first = await sClient(port, [...args, '-sess_out', sess]);
      assert.ok(first.ok, first.out);
      assert.equal(first.kind, 'New');
      assert.equal(/TLS session ticket lifetime hint/.test(first.out), allow !== false, 'a ticket is sent only when allowed');
      const again = await sClient(port, [...args, '-sess_in', sess]);
      assert.ok(again.ok, again.out);
      assert.equal(again.kind, second, again.out);
      assert.equal(again.protocol, 'TLSv1.2');
    });
  }
});

// ---------------------------------------------------------------------------------------------
// (c) the default certificate from 19.x's top-level key / cert / pfx / passphrase
// ---------------------------------------------------------------------------------------------

const PASS = 'correct horse';

function encryptedKey(pem: string): string {
  return createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
}

/** A PKCS#12 bundle of a test certificate made by `openssl pkcs12 -export` (OpenSSL 3 defaults: AES-256, PBKDF2, SHA-256 MAC). */
async function pkcs12(cert: ITestCert, extra: string[] = []): Promise<Buffer> {
  const base = join(dir, `p12-${cert.domains[0]}-${extra.length}`);
  writeFileSync(`${base}.key`, cert.key, { mode: 0o600 });
  writeFileSync(`${base}.pem`, cert.cert + cert.ca);
  const r = await runOpenssl(['pkcs12', '-export', '-inkey', `${base}.key`, '-in', `${base}.pem`, '-passout', `pass:${PASS}`, '-out', `${base}.p12`, ...extra], { timeoutMs: 8000 });
  assert.equal(r.code, 0, r.stderr);
  return readFileSync(`${base}.p12`);
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('top-level key / cert / pfx serve as the default certificate', () => {
  const dflt = testCert('default19.test');
  const named = testCert('named19.test');
  const rows: Array<[string, () => Promise<Partial<ISmartProxyOptions>> | Partial<ISmartProxyOptions>]> = [
    ['key + cert (PEM strings)', () => ({ key: dflt.key, cert: dflt.cert })],
    ['key + cert (Buffers)', () => ({ key: Buffer.from(dflt.key), cert: Buffer.from(dflt.cert) })],
    ['encrypted key + passphrase', () => ({ key: encryptedKey(dflt.key), cert: dflt.cert, passphrase: PASS })],
    ['pfx (Buffer, OpenSSL 3 defaults) + passphrase', async () => ({ pfx: await pkcs12(dflt), passphrase: PASS })],
    ['pfx (base64 string, -legacy) + passphrase', async () => ({ pfx: (await pkcs12(dflt, ['-legacy'])).toString('base64'), passphrase: PASS })],
  ];
  for (const [what, options] of rows) {
    test(what, async (t) => {
      if (!requireCommand('openssl', t)) return;
      const be = await backend(t);
      const port = await freePort();
      await startProxy(t, { routes: [terminate('named', port, 'named19.test', named, be)], ...(await options()) } as ISmartProxyOptions);
      const peer = async (servername?: string): Promise<string> => {
        const s = await connectTls(port, { rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) });
        try {
          const c = s.getPeerCertificate();
          assert.ok(c.subject !== undefined);
          return c.fingerprint256;
        } finally {
          s.destroy();
        }
      };
      assert.equal(await peer(), fingerprint(dflt.cert), 'no SNI: the default certificate');
      assert.equal(await peer('unknown19.test'), fingerprint(dflt.cert), 'an SNI no route names: the default certificate');
      assert.equal(await peer('named19.test'), fingerprint(named.cert), 'a named route keeps its own');
      // and openssl without SNI sees its subject
      const r = await sClient(port, ['-noservername']);
      assert.ok(r.ok, r.out);
      assert.match(r.out, /subject=.*CN\s*=\s*default19\.test/);
    });
  }
});

describe('a default certificate that does not load is a config error naming the part', () => {
  const c = testCert('default19.test');
  const other = testCert('other19.test');
  const rows: Array<[string, () => Promise<Record<string, unknown>> | Record<string, unknown>, string]> = [
    ['encrypted key, wrong passphrase', () => ({ key: encryptedKey(c.key), cert: c.cert, passphrase: 'wrong' }), 'tls.defaultCertificate.key'],
    ['encrypted key, no passphrase', () => ({ key: encryptedKey(c.key), cert: c.cert }), 'tls.defaultCertificate.key'],
    ['key of another certificate', () => ({ key: other.key, cert: c.cert }), 'tls.defaultCertificate.key'],
    ['cert not PEM', () => ({ key: c.key, cert: 'nope' }), 'tls.defaultCertificate.cert'],
    ['pfx, wrong passphrase', async () => ({ pfx: await pkcs12(c), passphrase: 'wrong' }), 'tls.defaultCertificate.pfx'],
    ['pfx, not PKCS#12', () => ({ pfx: Buffer.from('not a bundle'), passphrase: PASS }), 'tls.defaultCertificate.pfx'],
  ];
  for (const [what, options, path] of rows) {
    test(what, async (t) => {
      if (!requireCommand('openssl', t)) return;
      const opts = { routes: [terminate('named', 18443, 'named19.test', testCert('named19.test'), 9)], logger: silentLogger, ...(await options()) } as ISmartProxyOptions;
      assert.throws(
        () => new SmartProxy(opts),
        (err: unknown) => {
          assert.ok(err instanceof SmartProxyConfigError, String(err));
          assert.equal(err.path, path, err.message);
          return true;
        },
      );
    });
  }
});
