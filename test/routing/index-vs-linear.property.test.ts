import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileRoutes, linearMatch, type MatchInput, type MatchResult } from '../../ts/routing/index.js';
import type { IRouteConfig, PortSpec } from '../../ts/types.js';

const DOMAIN_PATTERNS = ['a.com', 'b.a.com', 'x.b.a.com', '*.a.com', '*.b.a.com', '*.com', '*', 'api.*.com', 'bücher.de', '*.bücher.de', 'other.org'];
const NAMES = ['a.com', 'A.COM.', 'b.a.com', 'x.b.a.com', 'y.a.com', 'api.a.com', 'com', 'z.com', 'bücher.de', 'shop.xn--bcher-kva.de', 'other.org', 'unknown.net', ''];
const PORTS: PortSpec[] = [80, 443, [80, 443], [{ from: 8000, to: 8002 }], [443, { from: 8001, to: 8001 }]];
const PATHS = ['/', '/api/*', '/api/v1/*', '/users/:id', '/users/me', '/static/*.css', '/*'];
const REQ_PATHS = ['/', '/api', '/api/v1/x', '/apix', '/users/7', '/users/me', '/static/a.css?v=1', '/other'];
const IPS = [['10.0.0.0/8'], ['10.0.0.1'], ['::1'], ['192.168.*'], ['10.0.0.1-10.0.0.5', '::1']];
const CLIENTS = ['10.0.0.1', '::ffff:10.0.0.3', '192.168.3.4', '::1', '8.8.8.8'];

const routeArb: fc.Arbitrary<IRouteConfig> = fc
  .record(
    {
      ports: fc.constantFrom(...PORTS),
      domains: fc.option(fc.subarray(DOMAIN_PATTERNS, { minLength: 1, maxLength: 3 }), { nil: undefined }),
      path: fc.option(fc.constantFrom(...PATHS), { nil: undefined }),
      clientIp: fc.option(fc.constantFrom(...IPS), { nil: undefined }),
      tlsVersion: fc.option(fc.constantFrom(['TLSv1.3'], ['TLSv1.2', 'TLSv1.3']), { nil: undefined }),
      headers: fc.option(fc.constantFrom({ 'x-a': '1' }, { 'x-a': /^[12]$/, 'x-b': 'y' }), { nil: undefined }),
      priority: fc.option(fc.constantFrom(-1, 0, 1, 2), { nil: undefined }),
      enabled: fc.option(fc.boolean(), { nil: undefined }),
    },
    { requiredKeys: ['ports'] },
  )
  .map((g) => {
    const match: IRouteConfig['match'] = { ports: g.ports };
    if (g.domains) match.domains = g.domains;
    if (g.path) match.path = g.path;
    if (g.clientIp) match.clientIp = g.clientIp;
    if (g.tlsVersion) match.tlsVersion = [...g.tlsVersion];
    if (g.headers) match.headers = { ...g.headers } as Record<string, string | RegExp>;
    const route: IRouteConfig = { match, action: { type: 'forward', target: { host: 'h', port: 1 } } };
    if (g.priority !== undefined) route.priority = g.priority;
    if (g.enabled !== undefined) route.enabled = g.enabled;
    return route;
  });

const inputArb: fc.Arbitrary<MatchInput> = fc
  .record({
    port: fc.constantFrom(80, 443, 8001, 8002, 9999),
    clientIp: fc.constantFrom(...CLIENTS),
    domain: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
    tlsVersion: fc.option(fc.constantFrom('TLSv1.2', 'TLSv1.3'), { nil: undefined }),
    path: fc.option(fc.constantFrom(...REQ_PATHS), { nil: undefined }),
    headers: fc.option(fc.constantFrom({ 'x-a': '1' }, { 'x-a': '2', 'x-b': 'y' }, {}), { nil: undefined }),
    phase: fc.constantFrom('connection' as const, 'request' as const),
  })
  .map((i) => {
    const input: MatchInput = { port: i.port, clientIp: i.clientIp, phase: i.phase };
    if (i.domain !== undefined) input.domain = i.domain;
    if (i.tlsVersion !== undefined) input.tlsVersion = i.tlsVersion;
    if (i.path !== undefined) input.path = i.path;
    if (i.headers !== undefined) input.headers = i.headers;
    return input;
  });

const view = (m: MatchResult | undefined) => (m ? { index: m.route.index, params: m.params ? { ...m.params } : undefined, remainder: m.remainder } : undefined);

describe('indexed lookup equals the linear scan', () => {
  test('random route sets and requests', () => {
    let matched = 0;
    let total = 0;
    fc.assert(
      fc.property(fc.array(routeArb, { maxLength: 25 }), fc.array(inputArb, { minLength: 1, maxLength: 20 }), (routes, inputs) => {
        const table = compileRoutes(routes);
        for (const input of inputs) {
          const got = view(table.match(input));
          assert.deepEqual(got, view(linearMatch(table.routes, input)));
          total++;
          if (got) matched++;
        }
      }),
      { numRuns: 600, seed: 42 },
    );
    // the generators must exercise both hits and misses
    assert.ok(matched > total * 0.1 && matched < total * 0.9, `${matched}/${total} matched`);
  });
  test('large random sets', () => {
    fc.assert(
      fc.property(fc.array(routeArb, { minLength: 100, maxLength: 300 }), fc.array(inputArb, { minLength: 50, maxLength: 50 }), (routes, inputs) => {
        const table = compileRoutes(routes);
        for (const input of inputs) assert.deepEqual(view(table.match(input)), view(linearMatch(table.routes, input)));
      }),
      { numRuns: 40 },
    );
  });
});
