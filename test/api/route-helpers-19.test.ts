/**
 * The route helpers called the way 19.6 callers call them: one table row per call form (overloads
 * included) with the route it must build, and one row per helper for an option it does not take
 * (a config error naming the helper and the field, never dropped). Every route built passes the
 * route compiler.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes } from '../../ts/routing/index.js';
import {
  createCompleteHttpsServer,
  createHttpRoute,
  createHttpsPassthroughRoute,
  createHttpsTerminateRoute,
  createHttpToHttpsRedirect,
  createLoadBalancerRoute,
  createSocketHandlerRoute,
  createWebSocketRoute,
} from '../../ts/api/route-helpers.js';
import { createOffsetPortMappingRoute, createPortMappingRoute, createPortRange } from '../../ts/api/port-helpers.js';
import { SocketHandlers } from '../../ts/api/socket-handlers.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';
import type { IRouteConfig, IRouteContext } from '../../ts/types.js';

const target = { host: '127.0.0.1', port: 8080 };

/** [call, expected fields of the route (a deep subset), ...] */
type Row = [string, () => IRouteConfig | IRouteConfig[], (r: IRouteConfig[]) => void];

const rows: Row[] = [
  ['createHttpRoute(domains, target)', () => createHttpRoute('a.test', target), ([r]) => assert.deepEqual([r!.match.ports, r!.action.tls], [80, undefined])],
  ['createHttpsTerminateRoute(domains, target, { certificate: auto })', () => createHttpsTerminateRoute('a.test', target, { certificate: 'auto' }), ([r]) => {
    assert.deepEqual([r!.match.ports, r!.action.tls?.mode, r!.action.tls?.certificate], [443, 'terminate', 'auto']);
  }],
  ['createHttpsTerminateRoute(..., { reencrypt: true })', () => createHttpsTerminateRoute('a.test', target, { reencrypt: true }), ([r]) => assert.equal(r!.action.tls?.mode, 'terminate-and-reencrypt')],
  ['createHttpsPassthroughRoute(domains, target)', () => createHttpsPassthroughRoute('a.test', target), ([r]) => assert.deepEqual([r!.match.ports, r!.action.tls?.mode], [443, 'passthrough'])],
  ['createHttpToHttpsRedirect(domains)', () => createHttpToHttpsRedirect(['a.test', 'b.test']), ([r]) => {
    assert.equal(r!.match.ports, 80);
    assert.equal(r!.action.type, 'socket-handler');
  }],
  ['createHttpToHttpsRedirect(domains, 8443)', () => createHttpToHttpsRedirect('a.test', 8443), ([r]) => assert.equal(r!.match.ports, 80)],
  ['createHttpToHttpsRedirect(domains, 443, { match: { ports: 8080 } })', () => createHttpToHttpsRedirect('a.test', 443, { match: { ports: 8080 } }), ([r]) => assert.equal(r!.match.ports, 8080)],
  ['createHttpToHttpsRedirect(domains, { httpsPort, port })', () => createHttpToHttpsRedirect('a.test', { httpsPort: 8443, port: 8080 }), ([r]) => assert.equal(r!.match.ports, 8080)],
  ['createCompleteHttpsServer(domains, target, { certificate })', () => createCompleteHttpsServer('a.test', target, { certificate: 'auto' }), (rs) => {
    assert.equal(rs.length, 2);
    assert.deepEqual(rs.map((r) => r.match.ports), [443, 80]);
    assert.equal(rs[0]!.action.tls?.mode, 'terminate');
  }],
  ['createLoadBalancerRoute(domains, hosts, port)', () => createLoadBalancerRoute('lb.test', ['10.0.0.1', '10.0.0.2'], 8080), ([r]) => {
    assert.deepEqual(r!.action.target, { host: ['10.0.0.1', '10.0.0.2'], port: 8080 });
    assert.equal(r!.match.ports, 80);
  }],
  ['createLoadBalancerRoute(domains, hosts, port, { tls, healthCheck, algorithm })', () =>
    createLoadBalancerRoute('lb.test', ['10.0.0.1'], 8080, { tls: { mode: 'terminate', certificate: 'auto' }, healthCheck: { path: '/h' }, algorithm: 'round-robin' }), ([r]) => {
    assert.equal(r!.match.ports, 443);
    assert.equal(r!.action.tls?.mode, 'terminate');
    assert.deepEqual(r!.action.loadBalancing?.healthCheck, { path: '/h' });
  }],
  ['createLoadBalancerRoute(domains, [{ host, port }])', () => createLoadBalancerRoute('lb.test', [{ host: '10.0.0.1', port: 81 }, { host: '10.0.0.2', port: 81 }]), ([r]) => {
    assert.deepEqual(r!.action.target, { host: ['10.0.0.1', '10.0.0.2'], port: 81 });
  }],
  ["createSocketHandlerRoute('*', port, SocketHandlers.echo)", () => createSocketHandlerRoute('*', 7000, SocketHandlers.echo), ([r]) => {
    assert.deepEqual([r!.match.ports, r!.match.domains, r!.action.type], [7000, ['*'], 'socket-handler']);
  }],
  ['createWebSocketRoute(domains, path, target, { useTls, pingInterval })', () => createWebSocketRoute('ws.test', '/ws', target, { useTls: true, pingInterval: 5000, pingTimeout: 1000 }), ([r]) => {
    assert.deepEqual([r!.match.ports, r!.match.path, r!.action.tls?.mode], [443, '/ws', 'terminate']);
    assert.deepEqual(r!.action.websocket, { enabled: true, pingIntervalMs: 5000, pingTimeoutMs: 1000 });
  }],
  ['createWebSocketRoute(domains, target)', () => createWebSocketRoute('ws.test', target), ([r]) => assert.deepEqual([r!.match.ports, r!.match.path], [80, undefined])],
  ['createPortMappingRoute({ sourcePortRange, targetHost, portMapper })', () =>
    createPortMappingRoute({ sourcePortRange: createPortRange(8000, 8002), targetHost: '127.0.0.1', portMapper: (ctx: IRouteContext) => ctx.port + 1 }), ([r]) => {
    assert.deepEqual(r!.match.ports, [{ from: 8000, to: 8002 }]);
    assert.equal(typeof r!.action.target?.port, 'function');
  }],
  ['createOffsetPortMappingRoute({ ports, targetHost, offset })', () => createOffsetPortMappingRoute({ ports: [9000, 9001], targetHost: '127.0.0.1', offset: 1000 }), ([r]) => {
    const port = r!.action.target?.port as (ctx: IRouteContext) => number;
    assert.equal(port({ port: 9001 } as IRouteContext), 10001);
  }],
];

/** [helper, a call with an option it does not take, the error's path] */
const unknownOption: Array<[string, () => unknown, string]> = [
  ['createHttpRoute', () => createHttpRoute('a.test', target, { tls: {} } as never), 'createHttpRoute(options).tls'],
  ['createHttpsTerminateRoute', () => createHttpsTerminateRoute('a.test', target, { certifcate: 'auto' } as never), 'createHttpsTerminateRoute(options).certifcate'],
  ['createHttpsPassthroughRoute', () => createHttpsPassthroughRoute('a.test', target, { certificate: 'auto' } as never), 'createHttpsPassthroughRoute(options).certificate'],
  ['createHttpToHttpsRedirect', () => createHttpToHttpsRedirect('a.test', 443, { statuscode: 302 } as never), 'createHttpToHttpsRedirect(options).statuscode'],
  ['createCompleteHttpsServer', () => createCompleteHttpsServer('a.test', target, { httpport: 8080 } as never), 'createCompleteHttpsServer(options).httpport'],
  ['createLoadBalancerRoute', () => createLoadBalancerRoute('lb.test', ['h'], 80, { healthchek: {} } as never), 'createLoadBalancerRoute(options).healthchek'],
  ['createSocketHandlerRoute', () => createSocketHandlerRoute('a.test', 7000, SocketHandlers.echo, { tls: {} } as never), 'createSocketHandlerRoute(options).tls'],
  ['createWebSocketRoute', () => createWebSocketRoute('ws.test', '/ws', target, { pinginterval: 1 } as never), 'createWebSocketRoute(options).pinginterval'],
  ['createPortMappingRoute', () => createPortMappingRoute({ sourcePortRange: 8000, targetHost: 'h', portMapper: () => 1, offset: 1 } as never), 'createPortMappingRoute(options).offset'],
  ['createOffsetPortMappingRoute', () => createOffsetPortMappingRoute({ ports: 8000, targetHost: 'h', offset: 1, portMapper: () => 1 } as never), 'createOffsetPortMappingRoute(options).portMapper'],
];

describe('route helpers with their 19.6 signatures', () => {
  for (const [call, build, check] of rows) {
    test(call, () => {
      const built = build();
      const routes = Array.isArray(built) ? built : [built];
      check(routes);
      assert.doesNotThrow(() => compileRoutes(routes), 'the route compiler accepts what the helper built');
    });
  }
});

describe('an option a helper does not take is a config error naming it', () => {
  for (const [helper, call, path] of unknownOption) {
    test(helper, () => {
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof SmartProxyConfigError, String(e));
        assert.equal(e.path, path);
        return true;
      });
    });
  }
  test('a port given as a string says what it got', () => {
    assert.throws(() => createLoadBalancerRoute('lb.test', ['h'], '8080' as never), /got the string '8080'/);
    assert.throws(() => createPortRange('80' as never, 90), /createPortRange\(start\)/);
  });
});
