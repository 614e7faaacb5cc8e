import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  createCertificateAuthority,
  createSignedCertificate,
  createSelfSignedCertificate,
  type IPemPair,
} from '../../ts/tls/self-signed.js';

/** Starts a TLS server on 127.0.0.1:0 that writes "ok" to every client; closed by t.after. */
async function startServer(t: { after(fn: () => unknown): void }, pair: IPemPair): Promise<number> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ key: pair.key, cert: pair.cert }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.end('ok');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** Connects with the given trust anchors; resolves with the received text or rejects with the TLS error. */
function fetchOk(port: number, servername: string | undefined, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const opts: tls.ConnectionOptions = { host: '127.0.0.1', port, ca, timeout: 5000 };
    if (servername !== undefined) opts.servername = servername;
    const sock = tls.connect(opts);
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
    sock.on('timeout', () => {
      sock.destroy();
      reject(new Error('timeout'));
    });
  });
}

describe('self-signed certificates', { timeout: 30_000 }, () => {
  const ca = createCertificateAuthority({ commonName: 'Test CA' });
  const leaf = createSignedCertificate(ca, ['example.com', '*.wild.test', '127.0.0.1']);

  test('PEM shapes and certificate fields', () => {
    assert.match(ca.key, /^-----BEGIN (RSA )?PRIVATE KEY-----/);
    assert.match(leaf.cert, /^-----BEGIN CERTIFICATE-----/);
    const x = new X509Certificate(leaf.cert);
    const caX = new X509Certificate(ca.cert);
    assert.equal(x.checkIssued(caX), true);
    assert.equal(x.verify(caX.publicKey), true);
    assert.equal(caX.ca, true);
    assert.equal(x.ca, false);
    assert.match(x.subjectAltName ?? '', /DNS:example\.com/);
    assert.match(x.subjectAltName ?? '', /DNS:\*\.wild\.test/);
    assert.match(x.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']); // serverAuth EKU
    assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(x.checkHost('example.com'), 'example.com');
    assert.equal(x.checkHost('a.wild.test'), '*.wild.test'); // returns the matching SAN
    assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x.checkHost('other.test'), undefined);
  });

  test('validity honours notBefore and days', () => {
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const c = createSignedCertificate(ca, ['a.test'], { notBefore, days: 10 });
    const x = new X509Certificate(c.cert);
    assert.equal(new Date(x.validFrom).getTime(), notBefore.getTime());
    assert.equal(new Date(x.validTo).getTime(), notBefore.getTime() + 10 * 86_400_000);
  });

  test('rejects an empty domain list', () => {
    assert.throws(() => createSignedCertificate(ca, []), TypeError);
    assert.throws(() => createSelfSignedCertificate(['']), TypeError);
  });

  test('a tls client trusting the CA accepts names in the SAN', async (t) => {
    const port = await startServer(t, leaf);
    assert.equal(await fetchOk(port, 'example.com', [ca.cert]), 'ok');
    assert.equal(await fetchOk(port, 'x.wild.test', [ca.cert]), 'ok');
    // No SNI: node checks the host (127.0.0.1) against the IP SAN.
    assert.equal(await fetchOk(port, undefined, [ca.cert]), 'ok');
  });

  test('a tls client rejects a name that is not in the SAN', async (t) => {
    const port = await startServer(t, leaf);
    await assert.rejects(fetchOk(port, 'other.test', [ca.cert]), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      return true;
    });
    // A wildcard covers one label only, and never the bare parent.
    await assert.rejects(fetchOk(port, 'wild.test', [ca.cert]));
    await assert.rejects(fetchOk(port, 'a.b.wild.test', [ca.cert]));
  });

  test('a tls client not trusting the CA rejects the chain', async (t) => {
    const port = await startServer(t, leaf);
    const otherCa = createCertificateAuthority();
    await assert.rejects(fetchOk(port, 'example.com', [otherCa.cert]));
  });

  test('self-signed certificate is trusted only when given as its own anchor', async (t) => {
    const self = createSelfSignedCertificate(['self.test']);
    const port = await startServer(t, self);
    assert.equal(await fetchOk(port, 'self.test', [self.cert]), 'ok');
    await assert.rejects(fetchOk(port, 'self.test', [ca.cert]));
  });
});
