import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePorts, portsMatch } from '../../ts/routing/matchers/port.js';
import { compileHeaderMatcher } from '../../ts/routing/matchers/header.js';
import { compileTlsVersions } from '../../ts/routing/matchers/tls-version.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';
import type { PortSpec } from '../../ts/types.js';

const isConfigError = (path: string) => (e: unknown) => e instanceof SmartProxyConfigError && e.path === path && e.message.startsWith(`${path}: `);

describe('ports', () => {
  const cases: Array<[PortSpec, number, boolean]> = [
    [80, 80, true],
    [80, 81, false],
    [[80, 443], 443, true],
    [[80, 443], 8080, false],
    [[{ from: 8000, to: 8010 }], 8000, true],
    [[{ from: 8000, to: 8010 }], 8010, true],
    [[{ from: 8000, to: 8010 }], 8011, false],
    [[80, { from: 9000, to: 9001 }], 9001, true],
    [[{ from: 1, to: 65535 }], 65535, true],
  ];
  for (const [spec, port, expected] of cases) {
    test(`${JSON.stringify(spec)} vs ${port}`, () => assert.equal(portsMatch(compilePorts(spec, 'p'), port), expected));
  }
  test('merges overlapping ranges', () => {
    assert.deepEqual(compilePorts([{ from: 10, to: 20 }, 21, { from: 15, to: 30 }, 5], 'p'), [[5, 5], [10, 30]]);
  });
  const bad: Array<[unknown, string]> = [
    [0, 'routes[0].match.ports'],
    [70000, 'routes[0].match.ports'],
    [80.5, 'routes[0].match.ports'],
    ['80', 'routes[0].match.ports'],
    [[], 'routes[0].match.ports'],
    [[80, 70000], 'routes[0].match.ports[1]'],
    [[{ from: 10, to: 5 }], 'routes[0].match.ports[0]'],
    [[{ from: 10 }], 'routes[0].match.ports[0].to'],
    [[{ from: 1, to: 2, step: 1 }], 'routes[0].match.ports[0].step'],
  ];
  for (const [spec, path] of bad) {
    test(`rejects ${JSON.stringify(spec)} at ${path}`, () => {
      assert.throws(() => compilePorts(spec as PortSpec, 'routes[0].match.ports'), isConfigError(path));
    });
  }
  test('message format', () => {
    assert.throws(() => compilePorts([80, 70000], 'routes[2].match.ports'), { message: 'routes[2].match.ports[1]: must be a port (an integer 1..65535), got 70000' });
  });
});

describe('headers', () => {
  const m = compileHeaderMatcher({ 'X-Env': 'prod', 'user-agent': /curl\//g }, 'h');
  const cases: Array<[Record<string, string | string[] | undefined> | undefined, boolean]> = [
    [{ 'x-env': 'prod', 'user-agent': 'curl/8.0' }, true],
    [{ 'x-env': 'prod', 'user-agent': 'curl/8.0' }, true], // a /g RegExp does not carry lastIndex between calls
    [{ 'x-env': 'Prod', 'user-agent': 'curl/8.0' }, false],
    [{ 'x-env': 'prod' }, false],
    [{ 'x-env': ['dev', 'prod'], 'user-agent': 'curl/8' }, true],
    [{ 'x-env': 'prod', 'user-agent': 'wget' }, false],
    [undefined, false],
  ];
  cases.forEach(([h, expected], i) => test(`case ${i}`, () => assert.equal(m.matches(h), expected)));
  test('rejects bad names and values', () => {
    assert.throws(() => compileHeaderMatcher({ 'bad name': 'x' }, 'r.h'), isConfigError('r.h.bad name'));
    assert.throws(() => compileHeaderMatcher({ a: 5 as unknown as string }, 'r.h'), isConfigError('r.h.a'));
    assert.throws(() => compileHeaderMatcher({ A: 'x', a: 'y' }, 'r.h'), isConfigError('r.h.a'));
  });
});

describe('TLS versions', () => {
  test('accepts known names', () => assert.deepEqual(compileTlsVersions(['TLSv1.2', 'TLSv1.3'], 't'), ['TLSv1.2', 'TLSv1.3']));
  test('rejects unknown', () => assert.throws(() => compileTlsVersions(['TLSv1.2', 'SSLv3'], 'r.t'), isConfigError('r.t[1]')));
  test('rejects empty', () => assert.throws(() => compileTlsVersions([], 'r.t'), isConfigError('r.t')));
});
