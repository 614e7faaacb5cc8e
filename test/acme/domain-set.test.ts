import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acmeProblem, domainSet, storeFileStem } from '../../ts/acme/domain-set.js';

describe('domainSet', () => {
  const cases: Array<[string[], string[], string]> = [
    [['app.test'], ['app.test'], 'app.test'],
    [['App.Test.', 'www.app.test'], ['app.test', 'www.app.test'], 'app.test,www.app.test'],
    [['www.app.test', 'app.test'], ['www.app.test', 'app.test'], 'app.test,www.app.test'],
    [['a.test', 'A.TEST', 'a.test.'], ['a.test'], 'a.test'],
    [['bücher.test'], ['xn--bcher-kva.test'], 'xn--bcher-kva.test'],
  ];
  for (const [input, names, key] of cases) {
    test(`${JSON.stringify(input)} -> names ${JSON.stringify(names)}, key ${key}`, () => {
      const set = domainSet(input);
      assert.deepEqual(set.names, names);
      assert.equal(set.key, key);
    });
  }
});

describe('acmeProblem', () => {
  const cases: Array<[string[], RegExp | undefined]> = [
    [['app.test'], undefined],
    [['app.test', 'www.app.test', 'api.app.test'], undefined],
    [['a-b.c-d.example'], undefined],
    [[], /no domain/],
    [['*.app.test'], /wildcard/],
    [['app.test', 'api*.app.test'], /wildcard/],
    [['127.0.0.1'], /IP address/],
    [['::1'], /IP address/],
    [['localhost'], /not a public DNS name/],
    [['-bad.test'], /not a public DNS name/],
    [['under_score.test'], /not a public DNS name/],
    [[`${'a'.repeat(64)}.test`], /not a public DNS name/],
    [Array.from({ length: 101 }, (_, i) => `n${i}.test`), /at most 100/],
  ];
  for (const [names, problem] of cases) {
    test(`${names.length > 3 ? `${names.length} names` : JSON.stringify(names)} -> ${problem ?? 'ok'}`, () => {
      const p = acmeProblem(domainSet(names));
      if (problem === undefined) assert.equal(p, undefined);
      else assert.match(p ?? '', problem);
    });
  }
});

describe('storeFileStem', () => {
  test('readable first name, count of the others, hash of the whole set', () => {
    assert.match(storeFileStem(domainSet(['app.test'])), /^app\.test-[0-9a-f]{12}$/);
    assert.match(storeFileStem(domainSet(['www.app.test', 'app.test'])), /^app\.test\+1-[0-9a-f]{12}$/);
  });
  test('order and case of the names do not matter; a different set gets a different stem', () => {
    const a = storeFileStem(domainSet(['app.test', 'www.app.test']));
    assert.equal(storeFileStem(domainSet(['WWW.app.test', 'app.test.'])), a);
    assert.notEqual(storeFileStem(domainSet(['app.test', 'api.app.test'])), a);
    assert.notEqual(storeFileStem(domainSet(['app.test'])), a);
  });
  test('only file-system safe characters', () => {
    for (const names of [['app.test'], ['xn--bcher-kva.test'], ['*.app.test'], ['a/b.test'], ['..']]) {
      assert.match(storeFileStem(domainSet(names)), /^[a-z0-9._+-]+$/, JSON.stringify(names));
      assert.ok(!storeFileStem(domainSet(names)).includes('/'));
    }
  });
});
