import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDomainMatcher, normalizeDomain } from '../../ts/routing/matchers/domain.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';

// [pattern(s), name, matches?]
const CASES: Array<[string | string[], string, boolean]> = [
  ['example.com', 'example.com', true],
  ['example.com', 'EXAMPLE.COM', true],
  ['example.com', 'Example.Com.', true],
  ['example.com.', 'example.com', true],
  ['EXAMPLE.com', 'example.com', true],
  ['example.com', 'www.example.com', false],
  ['example.com', 'example.co', false],
  ['example.com', 'example.com.au', false],
  ['example.com', 'xexample.com', false],
  ['*.example.com', 'www.example.com', true],
  ['*.example.com', 'a.b.c.example.com', true],
  ['*.example.com', 'WWW.Example.COM.', true],
  ['*.example.com', 'example.com', false],
  ['*.example.com', 'example.com.', false],
  ['*.example.com', '.example.com', false],
  ['*.example.com', 'badexample.com', false],
  ['*.example.com', 'www.example.com.evil.net', false],
  ['*.example.com', 'www.example.org', false],
  ['*.com', 'example.com', true],
  ['*.com', 'com', false],
  ['*', 'anything.at.all', true],
  ['*', 'localhost', true],
  ['*', 'xn--bcher-kva.de', true],
  ['bücher.de', 'xn--bcher-kva.de', true],
  ['bücher.de', 'BÜCHER.de', true],
  ['xn--bcher-kva.de', 'bücher.de', true],
  ['*.bücher.de', 'shop.xn--bcher-kva.de', true],
  ['*.bücher.de', 'shop.bücher.de', true],
  ['*.xn--bcher-kva.de', 'bücher.de', false],
  ['münchen.de', 'muenchen.de', false],
  [['a.com', 'b.com'], 'b.com', true],
  [['a.com', 'b.com'], 'c.com', false],
  [['a.com', '*.a.com'], 'a.com', true],
  [['a.com', '*.a.com'], 'x.a.com', true],
  ['api.*.example.com', 'api.eu.example.com', true],
  ['api.*.example.com', 'api.example.com', false],
  ['api.*.example.com', 'web.eu.example.com', false],
  ['*example.com', 'myexample.com', true],
  ['*example.com', 'example.org', false],
  ['localhost', 'LOCALHOST', true],
  ['127.0.0.1', '127.0.0.1', true],
  ['under_score.example', 'Under_Score.example', true],
  ['a-b.example', 'a-b.example', true],
  ['example.com', '', false],
  ['*', '.', false],
  ['sub.example.com', 'example.com', false],
];

describe('domain matcher conformance', () => {
  for (const [pattern, name, expected] of CASES) {
    test(`${JSON.stringify(pattern)} vs ${JSON.stringify(name)} -> ${expected}`, () => {
      const m = compileDomainMatcher(pattern, 'domains');
      const n = normalizeDomain(name);
      assert.equal(n !== undefined && m.score(n) >= 0, expected);
    });
  }
  test('at least 40 cases', () => assert.ok(CASES.length >= 40));
});

describe('domain specificity', () => {
  test('exact over wildcard, longer suffix over shorter, * lowest', () => {
    const exact = compileDomainMatcher('a.b.example.com', 'd').score('a.b.example.com');
    const long = compileDomainMatcher('*.b.example.com', 'd').score('a.b.example.com');
    const short = compileDomainMatcher('*.example.com', 'd').score('a.b.example.com');
    const any = compileDomainMatcher('*', 'd').score('a.b.example.com');
    assert.ok(exact > long && long > short && short > any && any >= 0);
  });
  test('a route with exact and wildcard patterns scores its best match', () => {
    const m = compileDomainMatcher(['*.example.com', 'www.example.com'], 'd');
    assert.equal(m.score('www.example.com'), compileDomainMatcher('www.example.com', 'd').score('www.example.com'));
  });
});

describe('normalizeDomain', () => {
  const cases: Array<[string, string | undefined]> = [
    ['Example.COM.', 'example.com'],
    ['example.com', 'example.com'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['', undefined],
    ['.', undefined],
    ['a b.com', 'a b.com'], // ASCII names are not validated on the hot path; they simply match nothing
    ['bad name.ü', undefined],
  ];
  for (const [input, out] of cases) test(`${JSON.stringify(input)} -> ${out}`, () => assert.equal(normalizeDomain(input), out));
  test('returns the same string when already canonical', () => {
    const s = 'already.canonical.example';
    assert.equal(normalizeDomain(s), s);
  });
});

describe('domain pattern validation', () => {
  const bad: Array<[unknown, string]> = [
    ['', 'routes[0].match.domains'],
    ['  ', 'routes[0].match.domains'],
    [[], 'routes[0].match.domains'],
    [['ok.com', ''], 'routes[0].match.domains[1]'],
    [['ok.com', 5], 'routes[0].match.domains[1]'],
    ['a..b', 'routes[0].match.domains'],
    ['a b.com', 'routes[0].match.domains'],
    ['http://x.com', 'routes[0].match.domains'],
  ];
  for (const [pattern, path] of bad) {
    test(`rejects ${JSON.stringify(pattern)} naming ${path}`, () => {
      assert.throws(
        () => compileDomainMatcher(pattern as string[], 'routes[0].match.domains'),
        (e: unknown) => e instanceof SmartProxyConfigError && e.path === path && e.message.startsWith(path),
      );
    });
  }
});
