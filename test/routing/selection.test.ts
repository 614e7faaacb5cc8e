import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, linearMatch, type MatchInput } from '../../ts/routing/index.js';
import type { IRouteConfig, IRouteMatch } from '../../ts/types.js';

function r(name: string, match: Partial<IRouteMatch>, extra: Partial<IRouteConfig> = {}): IRouteConfig {
  return { name, match: { ports: 80, ...match }, action: { type: 'forward', target: { host: name, port: 1 } }, ...extra };
}
const req = (domain: string | undefined, path?: string, more: Partial<MatchInput> = {}): MatchInput => ({
  port: 80,
  clientIp: '10.0.0.1',
  ...(domain !== undefined ? { domain } : {}),
  ...(path !== undefined ? { path } : {}),
  phase: 'request',
  ...more,
});

// [description, routes, input, expected winner name or undefined]
const CASES: Array<[string, IRouteConfig[], MatchInput, string | undefined]> = [
  ['exact domain over wildcard', [r('wild', { domains: '*.example.com' }), r('exact', { domains: 'www.example.com' })], req('www.example.com'), 'exact'],
  ['wildcard over no domain', [r('none', {}), r('wild', { domains: '*.example.com' })], req('a.example.com'), 'wild'],
  ['longer wildcard suffix over shorter', [r('short', { domains: '*.com' }), r('long', { domains: '*.example.com' })], req('a.example.com'), 'long'],
  ['named wildcard over *', [r('any', { domains: '*' }), r('wild', { domains: '*.example.com' })], req('a.example.com'), 'wild'],
  ['* over no domain', [r('none', {}), r('any', { domains: '*' })], req('x.org'), 'any'],
  ['no domain given never matches domain routes', [r('d', { domains: 'a.com' }), r('none', {})], req(undefined), 'none'],
  ['no domain given, only domain routes: miss', [r('d', { domains: ['a.com', '*.b.com'] })], req(undefined), undefined],
  ["'*' alone matches a connection without a name", [r('any', { domains: '*' })], req(undefined), 'any'],
  ["'*' among other patterns matches without a name too", [r('any', { domains: ['a.com', '*'] })], req(undefined), 'any'],
  ["without a name, '*' (a criterion) over no domain", [r('none', {}), r('any', { domains: '*' })], req(undefined), 'any'],
  ['priority beats specificity', [r('exact', { domains: 'a.example.com' }), r('wild', { domains: '*.example.com' }, { priority: 5 })], req('a.example.com'), 'wild'],
  ['negative priority loses to default', [r('low', { domains: 'a.com' }, { priority: -1 }), r('none', {})], req('a.com'), 'none'],
  ['domain specificity before path specificity', [r('wild-path', { domains: '*.a.com', path: '/api/*' }), r('exact', { domains: 'x.a.com' })], req('x.a.com', '/api/v'), 'exact'],
  ['longer literal path wins', [r('api', { path: '/api/*' }), r('v1', { path: '/api/v1/*' })], req('a.com', '/api/v1/x'), 'v1'],
  ['path over no path for same domain', [r('nopath', { domains: 'a.com' }), r('path', { domains: 'a.com', path: '/x' })], req('a.com', '/x'), 'path'],
  ['path route misses, falls back to pathless', [r('nopath', { domains: 'a.com' }), r('path', { domains: 'a.com', path: '/x' })], req('a.com', '/y'), 'nopath'],
  ['literal beats parameter', [r('param', { path: '/users/:id' }), r('me', { path: '/users/me' })], req('a.com', '/users/me'), 'me'],
  ['more criteria over fewer', [r('one', { domains: 'a.com' }), r('two', { domains: 'a.com', clientIp: ['10.0.0.0/8'] })], req('a.com'), 'two'],
  ['more headers over fewer', [r('h1', { headers: { a: '1' } }), r('h2', { headers: { a: '1', b: '2' } })], req('a.com', '/', { headers: { a: '1', b: '2' } }), 'h2'],
  ['declaration order breaks ties', [r('first', { domains: 'a.com' }), r('second', { domains: 'a.com' })], req('a.com'), 'first'],
  ['declaration order, wildcards', [r('first', { domains: '*.a.com' }), r('second', { domains: '*.a.com' })], req('b.a.com'), 'first'],
  ['disabled routes are skipped', [r('off', { domains: 'a.com' }, { enabled: false }), r('on', {})], req('a.com'), 'on'],
  ['all criteria must match (ip)', [r('ip', { domains: 'a.com', clientIp: ['192.168.0.0/16'] }), r('plain', {})], req('a.com'), 'plain'],
  ['all criteria must match (tls)', [r('tls13', { tlsVersion: ['TLSv1.3'] }), r('plain', {})], req('a.com', '/', { tlsVersion: 'TLSv1.2' }), 'plain'],
  ['tls criterion needs a version', [r('tls13', { tlsVersion: ['TLSv1.3'] })], req('a.com'), undefined],
  ['tls criterion matches', [r('plain', {}), r('tls13', { tlsVersion: ['TLSv1.3'] })], req('a.com', '/', { tlsVersion: 'TLSv1.3' }), 'tls13'],
  ['port must match', [r('p81', {}, { match: { ports: 81 } }), r('p80', {})], req('a.com'), 'p80'],
  ['port range', [r('range', {}, { match: { ports: [{ from: 8000, to: 9000 }] } })], req('a.com', '/', { port: 8500 }), 'range'],
  ['unknown port misses', [r('p80', {})], req('a.com', '/', { port: 81 }), undefined],
  ['connection phase ignores path', [r('path', { domains: 'a.com', path: '/api/*' })], { ...req('a.com'), phase: 'connection' }, 'path'],
  ['connection phase ignores headers', [r('h', { headers: { 'x-a': 'b' } })], { ...req('a.com'), phase: 'connection' }, 'h'],
  ['request phase without a path misses a path route', [r('path', { path: '/api/*' })], req('a.com'), undefined],
  ['case and trailing dot ignored', [r('exact', { domains: 'A.Example.COM' })], req('a.EXAMPLE.com.'), 'exact'],
  ['punycode equals unicode', [r('idn', { domains: 'bücher.de' })], req('XN--BCHER-KVA.DE'), 'idn'],
  ['mapped IPv6 client', [r('ip', { clientIp: ['10.0.0.1'] })], req('a.com', '/', { clientIp: '::ffff:10.0.0.1' }), 'ip'],
  ['query ignored', [r('exact', { path: '/a' })], req('a.com', '/a?b=c'), 'exact'],
  ['wildcard never matches apex', [r('wild', { domains: '*.a.com' })], req('a.com'), undefined],
  ['a route with exact and wildcard uses its best pattern', [r('both', { domains: ['*.a.com', 'x.a.com'] }, { priority: 0 }), r('exact', { domains: 'x.a.com', clientIp: ['10.0.0.0/8'] })], req('x.a.com'), 'exact'],
  ['same route via both patterns still wins over later exact', [r('both', { domains: ['*.a.com', 'x.a.com'] }), r('exact', { domains: 'x.a.com' })], req('x.a.com'), 'both'],
];

describe('selection table', () => {
  for (const [desc, routes, input, expected] of CASES) {
    test(desc, () => {
      const table = compileRoutes(routes);
      assert.equal(table.match(input)?.route.name, expected, 'indexed');
      assert.equal(linearMatch(table.routes, input)?.route.name, expected, 'linear');
    });
  }
});

describe('match result', () => {
  test('carries params and remainder in request phase', () => {
    const t = compileRoutes([r('u', { path: '/users/:id/*' })]);
    const m = t.match(req('a.com', '/users/7/avatar?size=2'));
    assert.deepEqual({ ...m!.params }, { id: '7' });
    assert.equal(m!.remainder, '/avatar');
  });
  test('params and remainder undefined without a path', () => {
    const m = compileRoutes([r('x', {})]).match(req('a.com', '/q'));
    assert.equal(m!.params, undefined);
    assert.equal(m!.remainder, undefined);
  });
});
