import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, RouteManager } from '../../ts/routing/index.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';
import type { ILogger, IRouteConfig } from '../../ts/types.js';

const target = { host: 'b', port: 1 };
const fwd = (match: Record<string, unknown>, extra: Record<string, unknown> = {}): IRouteConfig =>
  ({ match: { ports: 80, ...match }, action: { type: 'forward', target }, ...extra }) as IRouteConfig;

function throwsAt(routes: unknown[], path: string, opts: Parameters<typeof compileRoutes>[1] = {}, code = 'SPX_ERR_ROUTE_INVALID'): void {
  assert.throws(
    () => compileRoutes(routes as IRouteConfig[], opts),
    (e: unknown) => {
      assert.ok(e instanceof SmartProxyConfigError, `not a config error: ${String(e)}`);
      assert.equal(e.path, path);
      assert.equal(e.code, code);
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      return true;
    },
  );
}

describe('validation names the route and field', () => {
  const ok = fwd({});
  const cases: Array<[string, unknown, string]> = [
    ['route not an object', 5, 'routes[1]'],
    ['unknown route field', { ...ok, nmae: 'x' }, 'routes[1].nmae'],
    ['missing match', { action: ok.action }, 'routes[1].match'],
    ['unknown match field', fwd({ domain: 'x' }), 'routes[1].match.domain'],
    ['missing ports', { match: {}, action: ok.action }, 'routes[1].match.ports'],
    ['impossible port', fwd({ ports: [80, 70000] }), 'routes[1].match.ports[1]'],
    ['from > to', fwd({ ports: [{ from: 9, to: 3 }] }), 'routes[1].match.ports[0]'],
    ['empty domain', fwd({ domains: '' }), 'routes[1].match.domains'],
    ['empty domain in list', fwd({ domains: ['a.com', ''] }), 'routes[1].match.domains[1]'],
    ['path without slash', fwd({ path: 'api/*' }), 'routes[1].match.path'],
    ['malformed CIDR', fwd({ clientIp: ['10.0.0.0/99'] }), 'routes[1].match.clientIp[0]'],
    ['clientIp not array', fwd({ clientIp: '10.0.0.1' }), 'routes[1].match.clientIp'],
    ['bad tls version', fwd({ tlsVersion: ['TLSv9'] }), 'routes[1].match.tlsVersion[0]'],
    ['bad header rule', fwd({ headers: { a: 1 } }), 'routes[1].match.headers.a'],
    ['bad priority', fwd({}, { priority: 'high' }), 'routes[1].priority'],
    ['bad enabled', fwd({}, { enabled: 'yes' }), 'routes[1].enabled'],
    ['empty name', fwd({}, { name: '' }), 'routes[1].name'],
    ['bad action type', { match: { ports: 80 }, action: { type: 'redirect' } }, 'routes[1].action.type'],
    ['unknown action field', { match: { ports: 80 }, action: { type: 'forward', target, foo: 1 } }, 'routes[1].action.foo'],
    ['forward without target', { match: { ports: 80 }, action: { type: 'forward' } }, 'routes[1].action.target'],
    ['target port out of range', { match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: 0 } } }, 'routes[1].action.target.port'],
    ['target port string', { match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: '80' } } }, 'routes[1].action.target.port'],
    ['target host empty', { match: { ports: 80 }, action: { type: 'forward', target: { host: '', port: 1 } } }, 'routes[1].action.target.host'],
    ['target host array item', { match: { ports: 80 }, action: { type: 'forward', target: { host: ['a', 3], port: 1 } } }, 'routes[1].action.target.host[1]'],
    ['socket-handler without handler', { match: { ports: 80 }, action: { type: 'socket-handler' } }, 'routes[1].action.socketHandler'],
    ['socket-handler not a function', { match: { ports: 80 }, action: { type: 'socket-handler', socketHandler: 'x' } }, 'routes[1].action.socketHandler'],
    ['socketHandler on forward', { match: { ports: 80 }, action: { type: 'forward', target, socketHandler: () => {} } }, 'routes[1].action.socketHandler'],
    ['bad protocol', { match: { ports: 80 }, action: { type: 'forward', target, protocol: 'udp' } }, 'routes[1].action.protocol'],
    ['bad tls mode', { match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'offload' } } }, 'routes[1].action.tls.mode'],
    ['bad certificate', { match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'terminate', certificate: 'manual' } } }, 'routes[1].action.tls.certificate'],
    ['certificate without cert', { match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'terminate', certificate: { key: 'k' } } } }, 'routes[1].action.tls.certificate.cert'],
    ['websocket non-positive', { match: { ports: 80 }, action: { type: 'forward', target, websocket: { pingIntervalMs: 0 } } }, 'routes[1].action.websocket.pingIntervalMs'],
    ['bad lb algorithm', { match: { ports: 80 }, action: { type: 'forward', target, loadBalancing: { algorithm: 'random' } } }, 'routes[1].action.loadBalancing.algorithm'],
    ['header template not string', { match: { ports: 80 }, action: { type: 'forward', target, headers: { request: { a: 1 } } } }, 'routes[1].action.headers.request.a'],
    ['bad sendProxyProtocol', { match: { ports: 80 }, action: { type: 'forward', target, sendProxyProtocol: 'v3' } }, 'routes[1].action.sendProxyProtocol'],
    ['bad allow list', fwd({}, { security: { ipAllowList: ['1.2.3.4', 'nope'] } }), 'routes[1].security.ipAllowList[1]'],
    ['bad block list', fwd({}, { security: { ipBlockList: ['300.1.1.1'] } }), 'routes[1].security.ipBlockList[0]'],
    ['unknown security field', fwd({}, { security: { allow: [] } }), 'routes[1].security.allow'],
    ['negative maxConnections', fwd({}, { security: { maxConnections: -1 } }), 'routes[1].security.maxConnections'],
    ['rateLimit zero', fwd({}, { security: { rateLimit: { maxRequests: 0, windowSeconds: 1 } } }), 'routes[1].security.rateLimit.maxRequests'],
    ['rateLimit header without name', fwd({}, { security: { rateLimit: { maxRequests: 1, windowSeconds: 1, keyBy: 'header' } } }), 'routes[1].security.rateLimit.headerName'],
    ['basicAuth no users', fwd({}, { security: { basicAuth: { users: [] } } }), 'routes[1].security.basicAuth.users'],
    ['basicAuth colon', fwd({}, { security: { basicAuth: { users: [{ username: 'a:b', password: 'x' }] } } }), 'routes[1].security.basicAuth.users[0].username'],
  ];
  for (const [desc, route, path] of cases) test(desc, () => throwsAt([ok, route], path));

  test('message format for ports', () => {
    assert.throws(() => compileRoutes([ok, ok, fwd({ ports: [80, 70000] })]), {
      message: 'routes[2].match.ports[1]: must be a port (an integer 1..65535), got 70000',
    });
  });
  test('duplicate explicit names', () => {
    throwsAt([fwd({}, { name: 'a' }), fwd({}, { name: 'a' })], 'routes[1].name', {}, 'SPX_ERR_ROUTE_DUPLICATE_NAME');
  });
  test('disabled routes are validated too', () => throwsAt([ok, fwd({ ports: 0 }, { enabled: false })], 'routes[1].match.ports'));
  test('terminate without certificate and without a provider', () => {
    const t = { match: { ports: 443, domains: 'a.com' }, action: { type: 'forward', target, tls: { mode: 'terminate' } } };
    throwsAt([ok, t], 'routes[1].action.tls.certificate', { hasCertificateProvider: false });
    assert.doesNotThrow(() => compileRoutes([t as IRouteConfig], { hasCertificateProvider: true }));
    assert.doesNotThrow(() => compileRoutes([t as IRouteConfig]));
  });
  test('defaults.target satisfies forward and is validated', () => {
    const r = { match: { ports: 80 }, action: { type: 'forward' } } as IRouteConfig;
    const table = compileRoutes([r], { defaults: { target: { host: 'd', port: 9 } } });
    assert.deepEqual(table.routes[0]!.config.action.target, { host: 'd', port: 9 });
    assert.throws(() => compileRoutes([r], { defaults: { target: { host: 'd', port: 0 } } }), { path: 'defaults.target.port', code: 'SPX_ERR_OPTION_INVALID' });
  });
});

describe('compiled table', () => {
  test('names: explicit or route-<index>, disabled counted, unique', () => {
    const t = compileRoutes([fwd({}, { enabled: false }), fwd({}), fwd({}, { name: 'route-3' }), fwd({})]);
    assert.deepEqual(t.routes.map((r) => [r.index, r.name]), [[1, 'route-1'], [2, 'route-3'], [3, 'route-3-2']]);
  });
  test('config is a deep-frozen copy with defaults, functions kept', () => {
    const handler = (): void => {};
    const input = { match: { ports: 80 }, action: { type: 'socket-handler', socketHandler: handler } } as IRouteConfig;
    const t = compileRoutes([input], { defaults: { security: { ipBlockList: ['1.2.3.4'] } } });
    const c = t.routes[0]!.config;
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.match) && Object.isFrozen(c.security!.ipBlockList));
    assert.equal(c.action.socketHandler, handler);
    assert.notEqual(c, input);
    assert.equal(t.routes[0]!.blockIp!.matches('::ffff:1.2.3.4'), true);
    assert.equal(input.security, undefined);
  });
  test('layers', () => {
    const cases: Array<[IRouteConfig, 'l4' | 'http']> = [
      [fwd({}), 'l4'],
      [fwd({ domains: 'a.com' }), 'http'],
      [fwd({ path: '/x' }), 'http'],
      [fwd({}, { security: { rateLimit: { maxRequests: 1, windowSeconds: 1 } } }), 'http'],
      [fwd({}, { security: { ipAllowList: ['1.1.1.1'] } }), 'l4'],
      [{ match: { ports: 443, domains: 'a.com' }, action: { type: 'forward', target, tls: { mode: 'passthrough' } } }, 'l4'],
      [{ match: { ports: 443, domains: 'a.com' }, action: { type: 'forward', target, tls: { mode: 'terminate', certificate: 'auto' } } }, 'http'],
      [{ match: { ports: 80, domains: 'a.com' }, action: { type: 'forward', target, protocol: 'tcp' } }, 'l4'],
      [{ match: { ports: 80 }, action: { type: 'forward', target, protocol: 'http' } }, 'http'],
      [{ match: { ports: 80 }, action: { type: 'forward', target, websocket: { enabled: true } } }, 'http'],
      [{ match: { ports: 80, domains: 'a.com' }, action: { type: 'socket-handler', socketHandler: () => {} } }, 'l4'],
    ];
    cases.forEach(([route, layer], i) => assert.equal(compileRoutes([route]).routes[0]!.layer, layer, `case ${i}`));
  });
  test('relays-only ports: every route on the port is an L4 forward', () => {
    const passthrough: IRouteConfig = { match: { ports: 80, domains: 'a.com' }, action: { type: 'forward', target, tls: { mode: 'passthrough' } } };
    const handler: IRouteConfig = { match: { ports: 80 }, action: { type: 'socket-handler', socketHandler: () => {} } };
    const cases: Array<[string, IRouteConfig[], boolean]> = [
      ['plain forward', [fwd({})], true],
      ['TLS passthrough by SNI', [passthrough], true],
      ['forward with protocol tcp and domains', [{ match: { ports: 80, domains: 'a.com' }, action: { type: 'forward', target, protocol: 'tcp' } }], true],
      ['forward and passthrough together', [fwd({}), passthrough], true],
      ['HTTP-layer forward', [fwd({ domains: 'a.com' })], false],
      ['TLS termination', [{ match: { ports: 80, domains: 'a.com' }, action: { type: 'forward', target, tls: { mode: 'terminate', certificate: 'auto' } } }], false],
      ['socket handler', [handler], false],
      ['one socket handler beside a forward', [fwd({}), handler], false],
      ['disabled HTTP route does not count', [fwd({}), fwd({ path: '/x' }, { enabled: false })], true],
    ];
    for (const [what, routes, expected] of cases) {
      assert.equal(compileRoutes(routes, { hasCertificateProvider: true }).portRelaysOnly(80), expected, what);
    }
    assert.equal(compileRoutes([fwd({})]).portRelaysOnly(81), false, 'a port no route names');
  });
  test('ports, routesOnPort, sniff and http flags', () => {
    const t = compileRoutes([
      fwd({ ports: [443, { from: 8000, to: 8002 }], domains: 'a.com' }),
      fwd({ ports: 22 }),
      fwd({ ports: 8001, tlsVersion: ['TLSv1.3'] }, { enabled: false }),
    ]);
    assert.deepEqual(t.ports, [22, 443, 8000, 8001, 8002]);
    assert.equal(t.routesOnPort(8001).length, 1);
    assert.equal(t.routesOnPort(9999).length, 0);
    assert.equal(t.portNeedsSniff(22), false);
    assert.equal(t.portNeedsSniff(443), true);
    assert.equal(t.portHasHttpRoutes(8002), true);
    assert.equal(t.portHasHttpRoutes(22), false);
    assert.ok(Object.isFrozen(t) && Object.isFrozen(t.routes) && Object.isFrozen(t.ports));
  });
  test('identical match and priority warns through the logger', () => {
    const warnings: unknown[] = [];
    const noop = (): void => {};
    const logger: ILogger = { trace: noop, debug: noop, info: noop, error: noop, warn: (o) => warnings.push(o), child: () => logger };
    compileRoutes([fwd({ domains: ['b.com', 'a.com'] }), fwd({ domains: ['A.com', 'b.com'] }), fwd({ domains: 'a.com' }, { priority: 1 })], { logger });
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0], { route: 'route-1', other: 'route-0' });
  });
});

describe('RouteManager', () => {
  test('update compiles first and swaps only on success', () => {
    const m = new RouteManager([fwd({}, { name: 'one' })]);
    const before = m.table;
    assert.throws(() => m.update([fwd({ ports: 0 })]), SmartProxyConfigError);
    assert.equal(m.table, before);
    const next = m.update([fwd({ ports: 81 }, { name: 'two' })]);
    assert.equal(m.table, next);
    assert.equal(m.match({ port: 81, clientIp: '1.1.1.1', phase: 'connection' })?.route.name, 'two');
    assert.equal(m.match({ port: 80, clientIp: '1.1.1.1', phase: 'connection' }), undefined);
  });
  test('compile + swap', () => {
    const m = new RouteManager([]);
    const t = m.compile([fwd({})]);
    assert.equal(m.table.routes.length, 0);
    m.swap(t);
    assert.equal(m.table.routes.length, 1);
  });
});
