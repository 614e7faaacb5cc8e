import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathPattern } from '../../ts/routing/matchers/path.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';

type Expect = false | { params?: Record<string, string>; remainder?: string };
// [pattern, path, expected match (false = no match)]
const CASES: Array<[string, string, Expect]> = [
  ['/about', '/about', { remainder: '' }],
  ['/about', '/about/', false],
  ['/about', '/About', false],
  ['/about', '/about?x=1', { remainder: '' }],
  ['/about', '/aboutx', false],
  ['/about', '/', false],
  ['/', '/', { remainder: '' }],
  ['/', '/x', false],
  ['/', '/?q', { remainder: '' }],
  ['/api/*', '/api', { remainder: '' }],
  ['/api/*', '/api/', { remainder: '/' }],
  ['/api/*', '/api/v1', { remainder: '/v1' }],
  ['/api/*', '/api/v1/users/7', { remainder: '/v1/users/7' }],
  ['/api/*', '/api/v1?page=2', { remainder: '/v1' }],
  ['/api/*', '/api?x', { remainder: '' }],
  ['/api/*', '/apix', false],
  ['/api/*', '/apix/y', false],
  ['/api/*', '/v1/api/x', false],
  ['/api/*', '/ap', false],
  ['/api/*', '/API/x', false],
  ['/*', '/', { remainder: '/' }],
  ['/*', '/anything/at/all', { remainder: '/anything/at/all' }],
  ['/*', '', false],
  ['/a/b/*', '/a/b/c', { remainder: '/c' }],
  ['/a/b/*', '/a/bc', false],
  ['/a/b/*', '/a', false],
  ['/users/:id', '/users/42', { params: { id: '42' }, remainder: '' }],
  ['/users/:id', '/users/42?full=1', { params: { id: '42' }, remainder: '' }],
  ['/users/:id', '/users/', false],
  ['/users/:id', '/users', false],
  ['/users/:id', '/users/42/posts', false],
  ['/users/:id', '/users/a%20b', { params: { id: 'a b' }, remainder: '' }],
  ['/users/:id', '/users/%E0%A4%A', { params: { id: '%E0%A4%A' }, remainder: '' }],
  ['/users/:id/posts/:post', '/users/1/posts/2', { params: { id: '1', post: '2' }, remainder: '' }],
  ['/users/:id/posts/:post', '/users/1/posts', false],
  ['/users/:id/*', '/users/1', { params: { id: '1' }, remainder: '' }],
  ['/users/:id/*', '/users/1/files/a.txt', { params: { id: '1' }, remainder: '/files/a.txt' }],
  ['/users/:id/*', '/users//x', false],
  ['/:tenant/api', '/acme/api', { params: { tenant: 'acme' }, remainder: '' }],
  ['/:tenant/api', '/acme/web', false],
  ['/static/*.css', '/static/site.css', { remainder: '' }],
  ['/static/*.css', '/static/.css', { remainder: '' }],
  ['/static/*.css', '/static/site.js', false],
  ['/static/*.css', '/static/dir/site.css', false],
  ['/static/*.css', '/static/site.css?v=3', { remainder: '' }],
  ['/img/*/thumb', '/img/cat/thumb', { remainder: '' }],
  ['/img/*/thumb', '/img/cat/dog/thumb', false],
  ['/v*/status', '/v2/status', { remainder: '' }],
  ['/v*/status', '/x2/status', false],
  ['/files/:name/*', '/files/a.b/c/d', { params: { name: 'a.b' }, remainder: '/c/d' }],
  ['/api/*', '/api//double', { remainder: '//double' }],
  ['/a', '/a#frag', false],
];

function toPlain(m: ReturnType<ReturnType<typeof compilePathPattern>['match']>): Expect {
  if (!m) return false;
  const out: { params?: Record<string, string>; remainder?: string } = { remainder: m.remainder };
  if (m.params) out.params = { ...m.params };
  return out;
}

describe('path matcher conformance', () => {
  for (const [pattern, path, expected] of CASES) {
    test(`${pattern} vs ${JSON.stringify(path)}`, () => {
      assert.deepEqual(toPlain(compilePathPattern(pattern).match(path)), expected);
    });
  }
  test('at least 40 cases', () => assert.ok(CASES.length >= 40));
});

describe('path specificity', () => {
  const len = (p: string): number => compilePathPattern(p).literalLength;
  test('longer literal prefix is more specific', () => assert.ok(len('/api/v1/*') > len('/api/*')));
  test('a literal segment beats a parameter', () => assert.ok(len('/users/me') > len('/users/:id')));
  test('/api/* counts /api', () => assert.equal(len('/api/*'), 4));
  test('/users/:id counts /users/', () => assert.equal(len('/users/:id'), 7));
});

describe('path pattern validation', () => {
  const bad = ['', 'api/*', '*', '/a b', '/a?x', '/users/:', '/users/:1x', '/a/:id/:id', '/x#y'];
  for (const p of bad) {
    test(`rejects ${JSON.stringify(p)}`, () => {
      assert.throws(
        () => compilePathPattern(p, 'routes[3].match.path'),
        (e: unknown) => e instanceof SmartProxyConfigError && e.path === 'routes[3].match.path' && e.code === 'SPX_ERR_ROUTE_INVALID',
      );
    });
  }
});
