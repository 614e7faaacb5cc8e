import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCOUNT_KEY_FILE, CertDirectory } from '../../ts/acme/cert-directory.js';
import { domainSet } from '../../ts/acme/domain-set.js';
import { testCert } from '../helpers/certs.js';
import type { TestContextLike } from '../integration/harness.js';

function tempDir(t: TestContextLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'spx-certdir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'nested', 'certs');
}

describe('CertDirectory', () => {
  test('nothing stored: undefined, and the directory is not created by reading', async (t) => {
    const dir = new CertDirectory(tempDir(t));
    assert.equal(await dir.loadCertificate(domainSet(['a.test'])), undefined);
    assert.throws(() => statSync(dir.dir));
  });

  test('save then load: the same pair, names and dates; directory 0700, files 0600, no temporary files left', async (t) => {
    const dir = new CertDirectory(tempDir(t));
    const set = domainSet(['a.test', 'www.a.test']);
    const c = testCert(['a.test', 'www.a.test']);
    await dir.saveCertificate(set, { key: c.key, cert: c.cert });
    const loaded = await dir.loadCertificate(domainSet(['www.a.test', 'A.test']));
    assert.ok(loaded);
    assert.deepEqual(loaded.pair, { key: c.key, cert: c.cert });
    assert.deepEqual([...loaded.info.names].sort(), ['a.test', 'www.a.test']);
    assert.equal(statSync(dir.dir).mode & 0o777, 0o700);
    const files = readdirSync(dir.dir).sort();
    assert.equal(files.length, 2);
    assert.ok(files.every((f) => /\.(crt|key)$/.test(f)), files.join(','));
    for (const f of files) assert.equal(statSync(join(dir.dir, f)).mode & 0o777, 0o600, f);
  });

  test('saving again replaces the pair', async (t) => {
    const dir = new CertDirectory(tempDir(t));
    const set = domainSet(['b.test']);
    const one = testCert(['b.test']);
    const two = testCert(['b.test', 'x.b.test']);
    await dir.saveCertificate(set, one);
    await dir.saveCertificate(set, { key: two.key, cert: two.cert });
    assert.equal((await dir.loadCertificate(set))?.pair.cert, two.cert);
  });

  const unusable: Array<[string, (dir: CertDirectory) => void, RegExp]> = [
    ['a key that does not match the certificate', (d) => writeFileSync(d.keyPath(domainSet(['c.test'])), testCert('other.test').key), /mismatch|key/i],
    ['a certificate without one of the names', (d) => {
      const c = testCert('elsewhere.test');
      writeFileSync(d.keyPath(domainSet(['c.test'])), c.key);
      writeFileSync(d.certPath(domainSet(['c.test'])), c.cert);
    }, /does not cover c\.test/],
    ['garbage in the certificate file', (d) => writeFileSync(d.certPath(domainSet(['c.test'])), 'not a pem'), /./],
  ];
  for (const [what, spoil, message] of unusable) {
    test(`a stored pair with ${what}: load throws`, async (t) => {
      const dir = new CertDirectory(tempDir(t));
      const c = testCert('c.test');
      await dir.saveCertificate(domainSet(['c.test']), c);
      spoil(dir);
      await assert.rejects(dir.loadCertificate(domainSet(['c.test'])), message);
    });
  }

  test('account key: created once, then read back', async (t) => {
    const dir = new CertDirectory(tempDir(t));
    let made = 0;
    const create = async (): Promise<string> => `KEY-${++made}`;
    assert.equal(await dir.accountKey(create), 'KEY-1');
    assert.equal(await dir.accountKey(create), 'KEY-1');
    assert.equal(made, 1);
    assert.equal(statSync(join(dir.dir, ACCOUNT_KEY_FILE)).mode & 0o777, 0o600);
  });
});
