import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyNames, commonNameOf, inspectCertificate, splitSubjectAltName } from '../../ts/tls/cert-info.js';
import { SniIndex } from '../../ts/tls/sni-index.js';
import type { CertInfo } from '../../ts/tls/cert-info.js';
import { createSelfSignedCertificate } from '../../ts/tls/self-signed.js';
import { testCert } from '../helpers/certs.js';

describe('splitSubjectAltName', () => {
  const cases: Array<[string | undefined, Array<[string, string]>]> = [
    [undefined, []],
    ['', []],
    ['DNS:a.com', [['DNS', 'a.com']]],
    ['DNS:a.com, DNS:*.b.com, IP Address:127.0.0.1', [['DNS', 'a.com'], ['DNS', '*.b.com'], ['IP Address', '127.0.0.1']]],
    ['DNS:"a, b.com", DNS:c.com', [['DNS', 'a, b.com'], ['DNS', 'c.com']]],
    ['DNS:"q\\"x", DNS:y', [['DNS', 'q"x'], ['DNS', 'y']]],
    ['URI:http://x/, DNS:z.com', [['URI', 'http://x/'], ['DNS', 'z.com']]],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => assert.deepEqual(splitSubjectAltName(input), expected));
  }
});

describe('classifyNames', () => {
  const cases: Array<[string[], string[], string[]]> = [
    [['a.com'], ['a.com'], []],
    [['A.Com.', 'a.com'], ['a.com'], []],
    [['*.b.com'], [], ['b.com']],
    [['*.B.com', '*.b.com.'], [], ['b.com']],
    [['*'], [], []],
    [['a*.b.com', 'x.*.c.com'], [], []],
    [['*.*.c.com'], [], []],
    [['a.com', '*.a.com'], ['a.com'], ['a.com']],
  ];
  for (const [input, names, wild] of cases) {
    test(JSON.stringify(input), () => assert.deepEqual(classifyNames(input), { names, wildcardSuffixes: wild }));
  }
});

test('commonNameOf', () => {
  assert.equal(commonNameOf('C=DE\nCN=x.example\nO=y'), 'x.example');
  assert.equal(commonNameOf('O=y'), undefined);
});

test('inspectCertificate: SAN names, wildcards, validity', () => {
  const c = testCert(['site.test', '*.site.test', 'Other.Test']);
  const info = inspectCertificate(c.cert);
  assert.deepEqual([...info.names].sort(), ['other.test', 'site.test']);
  assert.deepEqual(info.wildcardSuffixes, ['site.test']);
  assert.ok(info.notBefore.getTime() < Date.now());
  assert.ok(info.notAfter.getTime() > Date.now() + 86_400_000 * 800);
  assert.throws(() => inspectCertificate('not a pem'));
});

test('inspectCertificate: IP SANs are not SNI names', () => {
  const info = inspectCertificate(createSelfSignedCertificate(['127.0.0.1', 'ip.test']).cert);
  assert.deepEqual(info.names, ['ip.test']);
});

function info(names: string[], wild: string[], notAfter = Date.now() + 1e9): CertInfo {
  return { names, wildcardSuffixes: wild, notBefore: new Date(0), notAfter: new Date(notAfter) };
}

describe('SniIndex.lookup', () => {
  const idx = new SniIndex(
    [
      { value: 'exact', info: info(['a.example.com', 'example.com'], []) },
      { value: 'wild', info: info([], ['example.com']) },
      { value: 'deep', info: info([], ['b.example.com']) },
    ],
    Date.now(),
  );
  const cases: Array<[string | undefined, string | undefined]> = [
    ['a.example.com', 'exact'],
    ['A.EXAMPLE.COM.', 'exact'],
    ['example.com', 'exact'],
    ['x.example.com', 'wild'],
    ['X.Example.Com', 'wild'],
    ['y.b.example.com', 'deep'], // one label under b.example.com
    ['y.c.example.com', undefined], // two labels under example.com: no wildcard covers it
    ['b.example.com', 'wild'],
    ['other.org', undefined],
    ['com', undefined],
    ['', undefined],
    [undefined, undefined],
    ['.example.com', undefined],
  ];
  for (const [name, expected] of cases) {
    test(`${JSON.stringify(name)} -> ${expected}`, () => assert.equal(idx.lookup(name), expected));
  }
});

test('SniIndex: same name in two certificates prefers the valid one, then the later expiry, then the first', () => {
  const now = Date.now();
  const expiredFirst = new SniIndex(
    [
      { value: 'expired', info: info(['a.test'], ['a.test'], now - 1000) },
      { value: 'valid', info: info(['a.test'], ['a.test'], now + 1000) },
    ],
    now,
  );
  assert.equal(expiredFirst.lookup('a.test'), 'valid');
  assert.equal(expiredFirst.lookup('x.a.test'), 'valid');
  const later = new SniIndex(
    [
      { value: 'soon', info: info(['a.test'], [], now + 1000) },
      { value: 'later', info: info(['a.test'], [], now + 5000) },
    ],
    now,
  );
  assert.equal(later.lookup('a.test'), 'later');
  const tie = new SniIndex(
    [
      { value: 'first', info: info(['a.test'], [], now + 1000) },
      { value: 'second', info: info(['a.test'], [], now + 1000) },
    ],
    now,
  );
  assert.equal(tie.lookup('a.test'), 'first');
});
