/**
 * Type tests of the public API, as a user of the package sees it: everything is imported from
 * the package root ('@smartproxy/core' = dist_ts/index.d.ts, through package.json `exports`),
 * so these check the emitted declarations, not the sources. Checked by tsc
 * (test/types/tsconfig.json), never run; test/types/types.test.ts runs the checker and reports
 * each `#region` below as one test.
 *
 * Positive assertions: expect-type's expectTypeOf(...) and plain calls / assignments that must
 * compile. Negative ones: `// @ts-expect-error <why>` on the line before a statement that must
 * NOT compile (an unused directive is itself an error, so a negative that starts compiling fails).
 * Each negative is one line with one fault, so the directive cannot be satisfied by another error.
 *
 * Sources: ../../../shared/api-contract.md (the contract), the @push.rocks/smartproxy 19.6 dossier
 * (section 1 for options, 2 for routes and helpers). A region titled `[todo] ...` would be reported
 * as a node:test todo (never failing the run): for assertions of features not in scope yet.
 */
import type { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import type { KeyObject } from 'node:crypto';
import { expectTypeOf } from 'expect-type';
import {
  SmartProxy,
  SmartProxyError,
  SmartProxyConfigError,
  CLOSE_REASONS,
  SocketHandlers,
  createHttpRoute,
  createHttpsTerminateRoute,
  createHttpsPassthroughRoute,
  createHttpToHttpsRedirect,
  createCompleteHttpsServer,
  createLoadBalancerRoute,
  createSocketHandlerRoute,
  type ISmartProxyOptions,
  type IRouteConfig,
  type IRouteContext,
  type IRouteMatch,
  type IRouteAction,
  type IRouteTarget,
  type IRouteSecurity,
  type IMetrics,
  type ILogger,
  type CloseReason,
  type CloseSide,
  type ISmartProxyEvents,
  type IConnectionOpenEvent,
  type IConnectionCloseEvent,
  type IConnectionErrorEvent,
  type IRouteMissEvent,
  type ISecurityBlockedEvent,
  type SmartProxyErrorCode,
  type ICertificateStatus,
  type ICertificateEventInfo,
  type CertificateSource,
} from '@smartproxy/core';

/** What a socket handler is (the contract's `action.socketHandler`). */
type Handler = (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;
/** Accepts exactly the public options type: each call below is one statement, so one fault each. */
const opts = (o: ISmartProxyOptions): ISmartProxyOptions => o;
/** Accepts exactly the public route type. */
const route = (r: IRouteConfig): IRouteConfig => r;
const target = { host: 'backend', port: 8080 };
const routes: IRouteConfig[] = [createHttpRoute('a.example.com', target)];
const options: ISmartProxyOptions = { routes };
const proxy = new SmartProxy(options);
declare const socket: net.Socket;
declare const ctx: IRouteContext;

// #region constructor takes ISmartProxyOptions only (no internals)
expectTypeOf(SmartProxy).toBeConstructibleWith({ routes: [] });
expectTypeOf(SmartProxy).toBeConstructibleWith(options);
expectTypeOf(proxy).toEqualTypeOf<SmartProxy>();
expectTypeOf(proxy).toExtend<EventEmitter>();
// The issue takes internals (clock, ticker) out of the public constructor signature: these two
// changed with it (the constructor was `(options, internals?: SmartProxyInternals)`).
expectTypeOf(SmartProxy).constructorParameters.toEqualTypeOf<[options: ISmartProxyOptions]>();
// @ts-expect-error internals (clock, ticker) are not a public constructor argument
new SmartProxy(options, {});
// @ts-expect-error the internals type is not exported from the package root
import type { SmartProxyInternals } from '@smartproxy/core';
// @ts-expect-error options are required
new SmartProxy();
// @ts-expect-error `routes` is required
new SmartProxy({});
// @ts-expect-error an unknown (misspelt) option is rejected
new SmartProxy({ routes: [], routse: [] });
// @ts-expect-error routes is an array of routes
new SmartProxy({ routes: createHttpRoute('a.example.com', target) });
// #endregion

// #region lifecycle and port methods
expectTypeOf(proxy.start).toEqualTypeOf<() => Promise<void>>();
expectTypeOf(proxy.stop).toEqualTypeOf<() => Promise<void>>();
expectTypeOf(proxy.updateRoutes).parameters.toEqualTypeOf<[routes: IRouteConfig[]]>();
expectTypeOf(proxy.updateRoutes).returns.toEqualTypeOf<Promise<void>>();
expectTypeOf(proxy.addListeningPort).toEqualTypeOf<(port: number) => Promise<void>>();
expectTypeOf(proxy.removeListeningPort).toEqualTypeOf<(port: number) => Promise<void>>();
expectTypeOf(proxy.getListeningPorts).toEqualTypeOf<() => number[]>();
expectTypeOf(proxy.getPrometheusMetrics).toEqualTypeOf<() => Promise<string>>();
void proxy.updateRoutes([...routes, createHttpsPassthroughRoute('b.example.com', target)]);
// @ts-expect-error updateRoutes takes the whole table (an array), not one route
void proxy.updateRoutes(createHttpRoute('a.example.com', target));
// @ts-expect-error a port is a number
void proxy.addListeningPort('8080');
// #endregion

// #region metrics: getStats() / getMetrics() return IMetrics
const stats = proxy.getStats();
expectTypeOf(proxy.getStats).toEqualTypeOf<() => IMetrics>();
expectTypeOf(proxy.getMetrics).toEqualTypeOf<() => IMetrics>();
expectTypeOf(stats).not.toBeAny();
// connections
expectTypeOf(stats.connections.active).toEqualTypeOf<() => number>();
expectTypeOf(stats.connections.total).toEqualTypeOf<() => number>();
expectTypeOf(stats.connections.byRoute).toEqualTypeOf<() => Map<string, number>>();
expectTypeOf(stats.connections.byIP).toEqualTypeOf<() => Map<string, number>>();
expectTypeOf(stats.connections.topIPs).toEqualTypeOf<(limit?: number) => Array<{ ip: string; count: number }>>();
// throughput: bytes per second, {in, out}
expectTypeOf(stats.throughput.instant).toEqualTypeOf<() => { in: number; out: number }>();
expectTypeOf(stats.throughput.recent).toEqualTypeOf<() => { in: number; out: number }>();
expectTypeOf(stats.throughput.average).toEqualTypeOf<() => { in: number; out: number }>();
expectTypeOf(stats.throughput.custom).toEqualTypeOf<(seconds: number) => { in: number; out: number }>();
expectTypeOf(stats.throughput.history).toEqualTypeOf<(seconds: number) => Array<{ timestamp: number; in: number; out: number }>>();
expectTypeOf(stats.throughput.byRoute).toEqualTypeOf<(windowSeconds?: number) => Map<string, { in: number; out: number }>>();
expectTypeOf(stats.throughput.byIP).toEqualTypeOf<(windowSeconds?: number) => Map<string, { in: number; out: number }>>();
// requests
expectTypeOf(stats.requests.perSecond).toEqualTypeOf<() => number>();
expectTypeOf(stats.requests.perMinute).toEqualTypeOf<() => number>();
expectTypeOf(stats.requests.total).toEqualTypeOf<() => number>();
// totals
expectTypeOf(stats.totals.bytesIn).toEqualTypeOf<() => number>();
expectTypeOf(stats.totals.bytesOut).toEqualTypeOf<() => number>();
expectTypeOf(stats.totals.connections).toEqualTypeOf<() => number>();
// percentiles
expectTypeOf(stats.percentiles.connectionDuration).toEqualTypeOf<() => { p50: number; p95: number; p99: number }>();
expectTypeOf(stats.percentiles.bytesTransferred).toEqualTypeOf<
  () => { in: { p50: number; p95: number; p99: number }; out: { p50: number; p95: number; p99: number } }
>();
// @ts-expect-error members are functions computed on call, not values
const activeNow: number = stats.connections.active;
// @ts-expect-error custom() needs its window
stats.throughput.custom();
// #endregion

// #region certificates: getCertificateStatus(routeName)
expectTypeOf(proxy.getCertificateStatus).parameters.toEqualTypeOf<[routeName: string]>();
expectTypeOf(proxy.getCertificateStatus).returns.toEqualTypeOf<ICertificateStatus | undefined>();
const cert = proxy.getCertificateStatus('https-terminate:a.example.com:443');
if (cert) {
  expectTypeOf(cert.domain).toEqualTypeOf<string>();
  expectTypeOf(cert.domains).toEqualTypeOf<string[]>();
  expectTypeOf(cert.status).not.toBeAny();
  expectTypeOf(cert.status).toExtend<string>();
  expectTypeOf(cert.expiryDate).toEqualTypeOf<Date | undefined>();
  expectTypeOf(cert.issueDate).toEqualTypeOf<Date | undefined>();
  expectTypeOf(cert.source).toEqualTypeOf<CertificateSource>();
  expectTypeOf(cert.error).toEqualTypeOf<string | undefined>();
}
// @ts-expect-error the route name is required
proxy.getCertificateStatus();
// @ts-expect-error the result may be undefined (a route that terminates nothing): narrow first
proxy.getCertificateStatus('r').domain;
// #endregion

// #region events: typed payloads, any other name as on an EventEmitter
expectTypeOf<
  'connection:open' | 'connection:close' | 'connection:error' | 'route:miss' | 'security:blocked' | 'certificate:issued' | 'certificate:renewed' | 'certificate:failed'
>().toExtend<keyof ISmartProxyEvents>();
expectTypeOf<ISmartProxyEvents['connection:close']>().toEqualTypeOf<IConnectionCloseEvent>();
proxy.on('connection:close', (e) => {
  expectTypeOf(e).toEqualTypeOf<IConnectionCloseEvent>();
  expectTypeOf(e.reason).toEqualTypeOf<CloseReason>();
  expectTypeOf(e.side).toEqualTypeOf<CloseSide>();
  expectTypeOf(e.connectionId).toEqualTypeOf<string>();
  expectTypeOf(e.bytesIn).toEqualTypeOf<number>();
  expectTypeOf(e.bytesOut).toEqualTypeOf<number>();
  expectTypeOf(e.durationMs).toEqualTypeOf<number>();
  expectTypeOf(e.route).toEqualTypeOf<string | undefined>();
  expectTypeOf(e.error).toEqualTypeOf<string | undefined>();
});
proxy.on('connection:open', (e) => expectTypeOf(e).toEqualTypeOf<IConnectionOpenEvent>());
proxy.on('connection:error', (e) => expectTypeOf(e).toEqualTypeOf<IConnectionErrorEvent>());
proxy.on('route:miss', (e) => expectTypeOf(e).toEqualTypeOf<IRouteMissEvent>());
proxy.on('security:blocked', (e) => expectTypeOf(e).toEqualTypeOf<ISecurityBlockedEvent>());
proxy.on('certificate:issued', (e) => expectTypeOf(e).toEqualTypeOf<ICertificateEventInfo>());
proxy.on('certificate:renewed', (e) => expectTypeOf(e).toEqualTypeOf<ICertificateEventInfo>());
proxy.on('certificate:failed', (e) => expectTypeOf(e).toEqualTypeOf<ICertificateEventInfo>());
// chaining: on() returns the proxy
expectTypeOf(proxy.on('connection:close', () => {})).toEqualTypeOf<SmartProxy>();
// unknown names are still allowed (EventEmitter), with listeners of any arity
proxy.on('my:event', (a: string, b: number) => void [a, b]);
proxy.on(Symbol('mine'), () => {});
expectTypeOf(proxy.on('my:event', () => {})).toEqualTypeOf<SmartProxy>();
expectTypeOf(proxy.emit('my:event', 1, 2)).toEqualTypeOf<boolean>();
// @ts-expect-error the payload is typed, not any: no such property
proxy.on('connection:close', (e) => e.nope);
// @ts-expect-error a CloseReason is one of the listed reasons
proxy.on('connection:close', (e) => e.reason === 'timeout');
// A known event name takes only its own listener type. (One way: the catch-all overload's event
// type excludes the known names, e.g. `E extends keyof ISmartProxyEvents ? never : E`.)
// @ts-expect-error a listener for 'connection:close' must take an IConnectionCloseEvent
proxy.on('connection:close', (e: IConnectionOpenEvent) => void e.sni);
// once() is typed like on() (EventEmitter's own once() gives the listener `...args: any[]`).
proxy.once('connection:close', (e) => {
  expectTypeOf(e).not.toBeAny();
  expectTypeOf(e).toEqualTypeOf<IConnectionCloseEvent>();
});
// #endregion

// #region errors and constants
expectTypeOf<SmartProxyError>().toExtend<Error>();
expectTypeOf<SmartProxyConfigError>().toExtend<SmartProxyError>();
expectTypeOf<SmartProxyError['code']>().toEqualTypeOf<SmartProxyErrorCode>();
expectTypeOf<SmartProxyErrorCode>().toExtend<`SPX_ERR_${string}`>();
expectTypeOf<SmartProxyConfigError['path']>().toEqualTypeOf<string>();
expectTypeOf<'SPX_ERR_ROUTE_INVALID' | 'SPX_ERR_LISTEN'>().toExtend<SmartProxyErrorCode>();
expectTypeOf(CLOSE_REASONS).toEqualTypeOf<readonly CloseReason[]>();
declare const caught: unknown;
if (caught instanceof SmartProxyConfigError) {
  expectTypeOf(caught.code).toEqualTypeOf<SmartProxyErrorCode>();
  expectTypeOf(caught.path).toEqualTypeOf<string>();
}
// #endregion

// #region options: every contract option accepted, wrong types rejected
const logger: ILogger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => logger,
};
const everyOption: ISmartProxyOptions = {
  routes,
  defaults: {
    target: { host: 'fallback', port: 80 },
    security: { ipAllowList: ['10.0.0.0/8'], ipBlockList: ['10.0.0.66'], maxConnections: 100 },
    preserveSourceIP: false,
  },
  initialDataTimeout: 60_000,
  connectionTimeout: 30_000,
  socketTimeout: 3_600_000,
  inactivityTimeout: 14_400_000,
  maxConnectionLifetime: 86_400_000,
  keepAliveTreatment: 'extended',
  keepAliveInactivityMultiplier: 6,
  extendedKeepAliveLifetime: 604_800_000,
  keepAlive: true,
  keepAliveInitialDelay: 10_000,
  inactivityCheckInterval: 60_000,
  gracefulShutdownTimeout: 30_000,
  maxConnectionsPerIP: 100,
  connectionRateLimitPerMinute: 300,
  maxConnections: 0,
  acceptProxyProtocol: false,
  proxyIPs: ['10.0.0.1', '10.1.0.0/16'],
  sendProxyProtocol: 'v2',
  acme: {
    email: 'ops@example.com',
    directoryUrl: 'https://acme.example/dir',
    port: 80,
    certificateStore: './certs',
    renewThresholdDays: 30,
    renewCheckIntervalHours: 24,
    caCertificates: ['-----BEGIN CERTIFICATE-----'],
  },
  certProvisionFunction: async (domain) => {
    expectTypeOf(domain).toEqualTypeOf<string>();
    return domain.endsWith('.internal') ? { key: 'k', cert: 'c' } : 'http01';
  },
  metrics: { enabled: true, sampleIntervalMs: 1000, retentionSeconds: 3600 },
  listenAddress: '::',
  responseTimeout: 60_000,
  headersTimeout: 30_000,
  halfCloseTimeout: 60_000,
  logger,
};
opts(everyOption);
opts({ routes, keepAliveTreatment: 'standard' });
opts({ routes, keepAliveTreatment: 'immortal' });
opts({ routes, sendProxyProtocol: false });
opts({ routes, sendProxyProtocol: 'v1' });
opts({ routes, sendProxyProtocol: true });
expectTypeOf<ISmartProxyOptions['routes']>().toEqualTypeOf<IRouteConfig[]>();
expectTypeOf<ISmartProxyOptions['socketTimeout']>().toEqualTypeOf<number | undefined>();
// @ts-expect-error socketTimeout is a number of ms, not a string
opts({ routes, socketTimeout: '1000' });
// @ts-expect-error initialDataTimeout is a number
opts({ routes, initialDataTimeout: '60s' });
// @ts-expect-error keepAliveTreatment is 'standard' | 'extended' | 'immortal'
opts({ routes, keepAliveTreatment: 'forever' });
// @ts-expect-error sendProxyProtocol is false | 'v1' | 'v2' (true = 'v1')
opts({ routes, sendProxyProtocol: 'v3' });
// @ts-expect-error proxyIPs is a list
opts({ routes, proxyIPs: '10.0.0.1' });
// @ts-expect-error maxConnectionsPerIP is a number
opts({ routes, maxConnectionsPerIP: '100' });
// @ts-expect-error acme.email is a string
opts({ routes, acme: { email: 42 } });
// @ts-expect-error acme.caCertificates is string[] of PEM
opts({ routes, acme: { email: 'a@b.c', caCertificates: '-----BEGIN CERTIFICATE-----' } });
// @ts-expect-error metrics.enabled is a boolean
opts({ routes, metrics: { enabled: 'yes' } });
// @ts-expect-error listenAddress is a string
opts({ routes, listenAddress: 0 });
// @ts-expect-error certProvisionFunction answers a PEM pair or 'http01'
opts({ routes, certProvisionFunction: async () => 'dns01' });
// @ts-expect-error a logger needs child() (console is not pino-compatible)
opts({ routes, logger: console });
// @ts-expect-error defaults.target.port follows the route target type
opts({ routes, defaults: { target: { host: 'h', port: '80' } } });
// #endregion

// #region options: 19.6 field names accepted (dossier section 1)
// 1a: fields of 19.6's ISmartProxyOptions .d.ts
opts({ routes, preserveSourceIP: true });
opts({ routes, pfx: Buffer.from('') });
opts({ routes, key: '-----BEGIN PRIVATE KEY-----' });
opts({ routes, cert: '-----BEGIN CERTIFICATE-----' });
opts({ routes, passphrase: 'secret' });
opts({ routes, acme: { accountEmail: 'ops@example.com', enabled: true, useProduction: false } });
opts({ routes, acme: { email: 'ops@example.com', environment: 'staging', autoRenew: true, skipConfiguredCerts: true } });
opts({ routes, acme: { email: 'ops@example.com', routeForwards: [] } });
// 1b: the remaining option groups
opts({ routes, noDelay: true });
opts({ routes, maxPendingDataSize: 10 * 1024 * 1024 });
opts({ routes, disableInactivityCheck: false });
opts({ routes, enableKeepAliveProbes: true });
opts({ routes, enableDetailedLogging: false });
opts({ routes, enableTlsDebugLogging: false });
opts({ routes, enableRandomizedTimeouts: false });
opts({ routes, allowSessionTicket: true });
opts({ routes, useHttpProxy: [443] });
opts({ routes, httpProxyPort: 8443 });
opts({ routes, certProvisionFallbackToAcme: true });
// @ts-expect-error 19.6 types still apply: useHttpProxy is a list of ports
opts({ routes, useHttpProxy: 443 });
// @ts-expect-error 19.6 types still apply: enableDetailedLogging is a boolean
opts({ routes, enableDetailedLogging: 'debug' });
// @ts-expect-error acme.environment is 'production' | 'staging'
opts({ routes, acme: { email: 'ops@example.com', environment: 'prod' } });
// #endregion

// #region routes: match / action / security shape
const fullRoute: IRouteConfig = {
  name: 'full',
  priority: 10,
  enabled: true,
  match: {
    ports: [80, 443],
    domains: ['a.example.com', '*.example.com'],
    path: '/api/*',
    clientIp: ['10.0.0.0/8', '192.168.1.*', '::1', '::ffff:1.2.3.4'],
    tlsVersion: ['TLSv1.2', 'TLSv1.3'],
    headers: { 'x-api-version': 'v2', 'user-agent': /curl\//i },
  },
  action: {
    type: 'forward',
    protocol: 'http',
    target: { host: ['10.0.0.1', '10.0.0.2'], port: 'preserve' },
    tls: { mode: 'terminate', certificate: 'auto' },
    websocket: { enabled: true, pingIntervalMs: 30_000, pingTimeoutMs: 10_000 },
    loadBalancing: {
      algorithm: 'least-connections',
      healthCheck: { type: 'http', path: '/health', interval: 5000, timeout: 1000, unhealthyThreshold: 3, healthyThreshold: 2, expectStatus: [200] },
    },
    headers: { request: { 'X-Client-IP': '{clientIp}' }, response: { 'X-Served-By': '{domain}' } },
    sendProxyProtocol: 'v1',
  },
  security: {
    ipAllowList: ['10.0.0.0/8'],
    ipBlockList: ['10.0.0.66'],
    maxConnections: 1000,
    basicAuth: { users: [{ username: 'u', password: 'p' }], realm: 'r' },
    rateLimit: { maxRequests: 100, windowSeconds: 60, keyBy: 'header', headerName: 'x-api-key' },
  },
};
route(fullRoute);
// ports: number | number[] | Array<{ from, to }>
route({ match: { ports: 80 }, action: { type: 'forward', target } });
route({ match: { ports: [80, 8080] }, action: { type: 'forward', target } });
route({ match: { ports: [{ from: 8000, to: 8010 }] }, action: { type: 'forward', target } });
route({ match: { ports: 443, domains: 'a.example.com' }, action: { type: 'forward', target, tls: { mode: 'passthrough' } } });
// target.port: number | 'preserve' | (ctx) => number; target.host: string | string[] | (ctx) => string | string[]
route({ match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: 8080 } } });
route({ match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: 'preserve' } } });
route({
  match: { ports: 80 },
  action: {
    type: 'forward',
    target: {
      host: (c) => {
        expectTypeOf(c).toEqualTypeOf<IRouteContext>();
        return c.domain === 'a.example.com' ? 'a' : ['b', 'c'];
      },
      port: (c) => {
        expectTypeOf(c).toEqualTypeOf<IRouteContext>();
        return c.port + 1000;
      },
    },
  },
});
expectTypeOf<IRouteTarget['port']>().toEqualTypeOf<number | 'preserve' | ((ctx: IRouteContext) => number)>();
expectTypeOf<IRouteTarget['host']>().toEqualTypeOf<string | string[] | ((ctx: IRouteContext) => string | string[])>();
// tls.certificate: 'auto' | { key, cert }; the three modes
route({ match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'terminate', certificate: { key: 'k', cert: 'c' } } } });
route({ match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'terminate-and-reencrypt', certificate: 'auto' } } });
expectTypeOf<NonNullable<NonNullable<IRouteAction['tls']>['certificate']>>().toEqualTypeOf<'auto' | { key: string; cert: string }>();
expectTypeOf<NonNullable<IRouteAction['tls']>['mode']>().toEqualTypeOf<'passthrough' | 'terminate' | 'terminate-and-reencrypt'>();
expectTypeOf<IRouteAction['type']>().toEqualTypeOf<'forward' | 'socket-handler'>();
expectTypeOf<IRouteMatch['ports']>().not.toBeAny();
expectTypeOf<IRouteSecurity['ipAllowList']>().toEqualTypeOf<string[] | undefined>();
// socket-handler routes: (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>
route({
  match: { ports: 7 },
  action: {
    type: 'socket-handler',
    socketHandler: (s, c) => {
      expectTypeOf(s).toEqualTypeOf<net.Socket>();
      expectTypeOf(c).toEqualTypeOf<IRouteContext>();
      s.end();
    },
  },
});
route({ match: { ports: 7 }, action: { type: 'socket-handler', socketHandler: async (s) => void s.end() } });
expectTypeOf<NonNullable<IRouteAction['socketHandler']>>().toEqualTypeOf<Handler>();
// @ts-expect-error match is required
route({ action: { type: 'forward', target } });
// @ts-expect-error action is required
route({ match: { ports: 80 } });
// @ts-expect-error ports are numbers, not strings
route({ match: { ports: '80' }, action: { type: 'forward', target } });
// @ts-expect-error a port range needs both ends
route({ match: { ports: [{ from: 8000 }] }, action: { type: 'forward', target } });
// @ts-expect-error action types 'redirect' / 'block' / 'static' were removed in 19.5 (use SocketHandlers)
route({ match: { ports: 80 }, action: { type: 'redirect', target } });
// @ts-expect-error target.port is a number, 'preserve' or a function
route({ match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: '8080' } } });
// @ts-expect-error 'preserve' is the only keyword
route({ match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: 'keep' } } });
// @ts-expect-error a port function returns a number
route({ match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: () => '8080' } } });
// @ts-expect-error target.host is a string, a list or a function
route({ match: { ports: 80 }, action: { type: 'forward', target: { host: 10, port: 80 } } });
// @ts-expect-error target needs a port
route({ match: { ports: 80 }, action: { type: 'forward', target: { host: 'h' } } });
// @ts-expect-error tls.certificate is 'auto' or a PEM pair
route({ match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'terminate', certificate: 'manual' } } });
// @ts-expect-error a PEM pair needs the cert too
route({ match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'terminate', certificate: { key: 'k' } } } });
// @ts-expect-error no such TLS mode
route({ match: { ports: 443 }, action: { type: 'forward', target, tls: { mode: 'terminate-only' } } });
// @ts-expect-error sendProxyProtocol is false | 'v1' | 'v2'
route({ match: { ports: 80 }, action: { type: 'forward', target, sendProxyProtocol: 'v3' } });
// @ts-expect-error match.headers values are strings or RegExps
route({ match: { ports: 80, headers: { 'x-a': 1 } }, action: { type: 'forward', target } });
// @ts-expect-error security.maxConnections is a number
route({ match: { ports: 80 }, action: { type: 'forward', target }, security: { maxConnections: '10' } });
// @ts-expect-error basicAuth users need a password
route({ match: { ports: 80 }, action: { type: 'forward', target }, security: { basicAuth: { users: [{ username: 'u' }] } } });
// @ts-expect-error rateLimit.maxRequests is a number
route({ match: { ports: 80 }, action: { type: 'forward', target }, security: { rateLimit: { maxRequests: '100', windowSeconds: 60 } } });
// @ts-expect-error ipAllowList is a list
route({ match: { ports: 80 }, action: { type: 'forward', target }, security: { ipAllowList: '10.0.0.0/8' } });
// @ts-expect-error a socket handler takes (socket, ctx), nothing more
route({ match: { ports: 7 }, action: { type: 'socket-handler', socketHandler: (s: net.Socket, c: IRouteContext, extra: string) => void [s, c, extra] } });
// #endregion

// #region route context (IRouteContext)
expectTypeOf(ctx).not.toBeAny();
expectTypeOf(ctx.connectionId).toEqualTypeOf<string>();
expectTypeOf(ctx.port).toEqualTypeOf<number>();
expectTypeOf(ctx.domain).toEqualTypeOf<string | undefined>();
expectTypeOf(ctx.clientIp).toEqualTypeOf<string>();
expectTypeOf(ctx.serverIp).toEqualTypeOf<string>();
expectTypeOf(ctx.isTls).toEqualTypeOf<boolean>();
expectTypeOf(ctx.tlsVersion).toEqualTypeOf<string | undefined>();
expectTypeOf(ctx.routeName).toEqualTypeOf<string | undefined>();
expectTypeOf(ctx.timestamp).toEqualTypeOf<number>();
expectTypeOf(ctx.path).toEqualTypeOf<string | undefined>();
expectTypeOf(ctx.query).toEqualTypeOf<string | undefined>();
expectTypeOf(ctx.headers).not.toBeAny();
expectTypeOf(ctx.headers).toExtend<Readonly<Record<string, string | string[] | undefined>> | undefined>();
// 19.6's IRouteContext (dossier 2c) has `routeId?` (the route's `id`)
expectTypeOf(ctx).toHaveProperty('routeId');
// @ts-expect-error the context is read-only
ctx.port = 1;
// @ts-expect-error no such member (the context is typed, not any)
ctx.nope;
// #endregion

// #region helper: createHttpRoute(domains, target, options?)
expectTypeOf(createHttpRoute('a.example.com', target)).toEqualTypeOf<IRouteConfig>();
expectTypeOf(createHttpRoute(['a.example.com', 'b.example.com'], { host: ['h1', 'h2'], port: 'preserve' })).toEqualTypeOf<IRouteConfig>();
createHttpRoute('a.example.com', { host: 'h', port: (c) => c.port });
createHttpRoute('a.example.com', target, { name: 'web', priority: 5, security: { ipAllowList: ['10.0.0.0/8'] } });
createHttpRoute('a.example.com', target, { match: { ports: 8080, path: '/api/*' }, action: { type: 'forward', websocket: { enabled: true } } });
// 19.6 types options as Partial<IRouteConfig>: every route-level field may be given
createHttpRoute('a.example.com', target, { id: 'web-1', description: 'the site', tags: ['public'], enabled: false });
createHttpRoute('a.example.com', target, { headers: { response: { 'X-Frame-Options': 'DENY' } } });
// @ts-expect-error target is required
createHttpRoute('a.example.com');
// @ts-expect-error domains are strings
createHttpRoute(80, target);
// @ts-expect-error target.port is a number, 'preserve' or a function
createHttpRoute('a.example.com', { host: 'h', port: '80' });
// @ts-expect-error target needs a host
createHttpRoute('a.example.com', { port: 80 });
// @ts-expect-error priority is a number
createHttpRoute('a.example.com', target, { priority: 'high' });
// #endregion

// #region helper: createHttpsTerminateRoute(domains, target, { certificate, reencrypt })
expectTypeOf(createHttpsTerminateRoute('a.example.com', target)).toEqualTypeOf<IRouteConfig>();
createHttpsTerminateRoute('a.example.com', target, { certificate: 'auto' });
createHttpsTerminateRoute('a.example.com', target, { certificate: { key: 'k', cert: 'c' } });
createHttpsTerminateRoute(['a.example.com', 'b.example.com'], target, { reencrypt: true });
createHttpsTerminateRoute('a.example.com', target, { certificate: 'auto', reencrypt: false, httpsPort: 8443, name: 'tls', priority: 1 });
// @ts-expect-error certificate is 'auto' or a PEM pair
createHttpsTerminateRoute('a.example.com', target, { certificate: 'self-signed' });
// @ts-expect-error a PEM pair needs the key too
createHttpsTerminateRoute('a.example.com', target, { certificate: { cert: 'c' } });
// @ts-expect-error reencrypt is a boolean
createHttpsTerminateRoute('a.example.com', target, { reencrypt: 'yes' });
// @ts-expect-error target is required
createHttpsTerminateRoute('a.example.com');
// #endregion

// #region helper: createHttpsPassthroughRoute(domains, target, options?)
expectTypeOf(createHttpsPassthroughRoute('a.example.com', target)).toEqualTypeOf<IRouteConfig>();
createHttpsPassthroughRoute(['a.example.com', '*.b.example.com'], { host: ['h1', 'h2'], port: 443 });
createHttpsPassthroughRoute('a.example.com', target, { name: 'sni', priority: 2 });
createHttpsPassthroughRoute('a.example.com', target, { match: { ports: 8443 } });
// @ts-expect-error target is required
createHttpsPassthroughRoute('a.example.com');
// @ts-expect-error target.port is a number, 'preserve' or a function
createHttpsPassthroughRoute('a.example.com', { host: 'h', port: '443' });
// #endregion

// #region helper: createHttpToHttpsRedirect(domains, httpsPort?, options?) | (domains, { port, httpsPort })
expectTypeOf(createHttpToHttpsRedirect('a.example.com')).toEqualTypeOf<IRouteConfig>();
// the 19.6 positional form
expectTypeOf(createHttpToHttpsRedirect('a.example.com', 8443)).toEqualTypeOf<IRouteConfig>();
expectTypeOf(createHttpToHttpsRedirect(['a.example.com', 'b.example.com'], 443, { name: 'to-https', priority: 100 })).toEqualTypeOf<IRouteConfig>();
// the contract's object form
expectTypeOf(createHttpToHttpsRedirect('a.example.com', { port: 8080, httpsPort: 8443 })).toEqualTypeOf<IRouteConfig>();
expectTypeOf(createHttpToHttpsRedirect('a.example.com', { httpsPort: 8443 })).toEqualTypeOf<IRouteConfig>();
expectTypeOf(createHttpToHttpsRedirect('a.example.com', {})).toEqualTypeOf<IRouteConfig>();
expectTypeOf(createHttpToHttpsRedirect).toBeCallableWith('a.example.com', 8443);
expectTypeOf(createHttpToHttpsRedirect).toBeCallableWith('a.example.com', { port: 80, httpsPort: 443 });
// @ts-expect-error httpsPort is a number
createHttpToHttpsRedirect('a.example.com', '8443');
// @ts-expect-error the object form's ports are numbers
createHttpToHttpsRedirect('a.example.com', { port: '80' });
// @ts-expect-error the positional form's options are an object
createHttpToHttpsRedirect('a.example.com', 8443, 'to-https');
// @ts-expect-error the object form takes no third argument (it already holds the options)
createHttpToHttpsRedirect('a.example.com', { httpsPort: 8443 }, { name: 'x' });
// @ts-expect-error domains are required
createHttpToHttpsRedirect();
// #endregion

// #region helper: createCompleteHttpsServer(domains, target, options?) -> [https, redirect]
const complete = createCompleteHttpsServer('a.example.com', target);
expectTypeOf(complete).toExtend<IRouteConfig[]>();
expectTypeOf(complete[0]).toEqualTypeOf<IRouteConfig>();
const completeTable: IRouteConfig[] = createCompleteHttpsServer(['a.example.com', 'b.example.com'], target, {
  certificate: 'auto',
  httpPort: 8080,
  httpsPort: 8443,
});
void completeTable;
createCompleteHttpsServer('a.example.com', target, { certificate: { key: 'k', cert: 'c' }, reencrypt: true });
// @ts-expect-error target is required
createCompleteHttpsServer('a.example.com');
// @ts-expect-error certificate is 'auto' or a PEM pair
createCompleteHttpsServer('a.example.com', target, { certificate: 'letsencrypt' });
// @ts-expect-error httpPort is a number
createCompleteHttpsServer('a.example.com', target, { httpPort: '80' });
// @ts-expect-error the result is a list of routes, not one route
const notOne: IRouteConfig = createCompleteHttpsServer('a.example.com', target);
// #endregion

// #region helper: createLoadBalancerRoute(domains, hosts, port, { tls, healthCheck, ... })
expectTypeOf(createLoadBalancerRoute('a.example.com', ['10.0.0.1', '10.0.0.2'], 8080)).toEqualTypeOf<IRouteConfig>();
createLoadBalancerRoute('a.example.com', ['h1', 'h2'], 8080, { algorithm: 'least-connections' });
createLoadBalancerRoute('a.example.com', ['h1', 'h2'], 8080, { algorithm: 'ip-hash', name: 'lb', priority: 3 });
// 19.6: `tls` as in a route's action, and active health checks
createLoadBalancerRoute('a.example.com', ['h1', 'h2'], 8080, { tls: { mode: 'terminate', certificate: 'auto' } });
createLoadBalancerRoute('a.example.com', ['h1', 'h2'], 443, { tls: { mode: 'passthrough' } });
createLoadBalancerRoute('a.example.com', ['h1', 'h2'], 8443, { tls: { mode: 'terminate-and-reencrypt', certificate: { key: 'k', cert: 'c' } } });
createLoadBalancerRoute('a.example.com', ['h1', 'h2'], 8080, {
  healthCheck: { path: '/health', interval: 5000, timeout: 1000, unhealthyThreshold: 3, healthyThreshold: 2 },
});
createLoadBalancerRoute('a.example.com', ['h1', 'h2'], 8080, {
  tls: { mode: 'terminate', certificate: 'auto' },
  healthCheck: { type: 'tcp', interval: 10_000 },
  algorithm: 'round-robin',
});
// 19.6's other form: backends as { host, port } (one port for all), no port argument
expectTypeOf(createLoadBalancerRoute('a.example.com', [{ host: 'h1', port: 8080 }, { host: 'h2', port: 8080 }])).toEqualTypeOf<IRouteConfig>();
// @ts-expect-error hosts are a list
createLoadBalancerRoute('a.example.com', 'h1', 8080);
// @ts-expect-error the backend port is a number
createLoadBalancerRoute('a.example.com', ['h1'], '8080');
// Host names carry no port, so the port argument is required with them (an overload per form;
// one signature with `port?` lets this compile and throw at run time).
// @ts-expect-error the backend port is required with host names
createLoadBalancerRoute('a.example.com', ['h1']);
// @ts-expect-error a backend object needs its port
createLoadBalancerRoute('a.example.com', [{ host: 'h1' }]);
// @ts-expect-error no such TLS mode
createLoadBalancerRoute('a.example.com', ['h1'], 8080, { tls: { mode: 'offload' } });
// @ts-expect-error health-check intervals are ms (numbers)
createLoadBalancerRoute('a.example.com', ['h1'], 8080, { healthCheck: { interval: '5s' } });
// @ts-expect-error no such algorithm
createLoadBalancerRoute('a.example.com', ['h1'], 8080, { algorithm: 'random' });
// #endregion

// #region helper: createSocketHandlerRoute(domains, ports, handler, options?)
expectTypeOf(createSocketHandlerRoute('a.example.com', 7, SocketHandlers.echo)).toEqualTypeOf<IRouteConfig>();
createSocketHandlerRoute('*', [7000, 7001], (s, c) => {
  expectTypeOf(s).toEqualTypeOf<net.Socket>();
  expectTypeOf(c).toEqualTypeOf<IRouteContext>();
  s.end(`hello ${c.clientIp}`);
});
createSocketHandlerRoute(['a.example.com', 'b.example.com'], [{ from: 7100, to: 7110 }], async (s) => void s.end());
createSocketHandlerRoute('a.example.com', 7, SocketHandlers.block('bye'), { name: 'bye', priority: 1 });
// @ts-expect-error the handler is required
createSocketHandlerRoute('a.example.com', 7);
// @ts-expect-error ports are numbers or ranges
createSocketHandlerRoute('a.example.com', '7', SocketHandlers.echo);
// @ts-expect-error the handler is a function, not a handler name
createSocketHandlerRoute('a.example.com', 7, 'echo');
// @ts-expect-error a handler takes (socket, ctx), nothing more
createSocketHandlerRoute('a.example.com', 7, (s: net.Socket, c: IRouteContext, extra: string) => void [s, c, extra]);
// #endregion

// #region helper: createPortRange (19.6)
// 19.6's createPortRange(ports: number | number[] | string | { from, to }) turns '8000-9000' or '80,443'
// into a port spec usable as match.ports.
import { createPortRange } from '@smartproxy/core';
expectTypeOf(createPortRange('8000-9000')).toExtend<IRouteMatch['ports']>();
expectTypeOf(createPortRange('80,443')).toExtend<IRouteMatch['ports']>();
expectTypeOf(createPortRange(80)).toExtend<IRouteMatch['ports']>();
expectTypeOf(createPortRange([80, 443])).toExtend<IRouteMatch['ports']>();
expectTypeOf(createPortRange({ from: 8000, to: 9000 })).toExtend<IRouteMatch['ports']>();
// and createPortRange(start, end)
expectTypeOf(createPortRange(8000, 9000)).toExtend<IRouteMatch['ports']>();
expectTypeOf(createPortRange('8000-9000')).not.toBeAny();
route({ match: { ports: createPortRange('8000-8010') }, action: { type: 'forward', target: { host: 'h', port: 'preserve' } } });
// @ts-expect-error a port range is a number, a list, a string or { from, to }
createPortRange(true);
// @ts-expect-error createPortRange(start, end): both are numbers
createPortRange(8000, '9000');
// #endregion

// #region helper: createWebSocketRoute (19.6)
// 19.6: createWebSocketRoute(domains, wsPath, target, { useTls?, certificate?, httpPort?, httpsPort?, pingInterval?, pingTimeout?, name? })
import { createWebSocketRoute } from '@smartproxy/core';
expectTypeOf(createWebSocketRoute('ws.example.com', '/ws', { host: 'h', port: 9000 })).toEqualTypeOf<IRouteConfig>();
createWebSocketRoute(['ws.example.com'], '/socket', { host: ['h1', 'h2'], port: 9000 }, { useTls: true, certificate: 'auto' });
createWebSocketRoute('ws.example.com', '/ws', { host: 'h', port: 9000 }, { pingInterval: 30_000, pingTimeout: 10_000, name: 'ws' });
// and without a path: (domains, target, options?)
expectTypeOf(createWebSocketRoute('ws.example.com', { host: 'h', port: 9000 }, { useTls: true })).toEqualTypeOf<IRouteConfig>();
// @ts-expect-error the target port is a number
createWebSocketRoute('ws.example.com', '/ws', { host: 'h', port: '9000' });
// @ts-expect-error ping intervals are ms (numbers)
createWebSocketRoute('ws.example.com', '/ws', { host: 'h', port: 9000 }, { pingInterval: '30s' });
// #endregion

// #region helper: createPortMappingRoute / createOffsetPortMappingRoute (19.6)
import { createPortMappingRoute, createOffsetPortMappingRoute } from '@smartproxy/core';
expectTypeOf(
  createPortMappingRoute({
    sourcePortRange: createPortRange(8000, 8100),
    targetHost: 'backend',
    portMapper: (c) => {
      expectTypeOf(c).toEqualTypeOf<IRouteContext>();
      return c.port + 1000;
    },
  }),
).toEqualTypeOf<IRouteConfig>();
createPortMappingRoute({ sourcePortRange: [8000, 8001], targetHost: ['h1', 'h2'], portMapper: (c) => c.port, domains: 'a.example.com', name: 'map', priority: 2 });
expectTypeOf(createOffsetPortMappingRoute({ ports: [{ from: 8000, to: 8100 }], targetHost: 'backend', offset: 1000 })).toEqualTypeOf<IRouteConfig>();
// @ts-expect-error portMapper answers a port number
createPortMappingRoute({ sourcePortRange: 8000, targetHost: 'h', portMapper: () => '9000' });
// @ts-expect-error portMapper is required
createPortMappingRoute({ sourcePortRange: 8000, targetHost: 'h' });
// @ts-expect-error the offset is a number
createOffsetPortMappingRoute({ ports: 8000, targetHost: 'h', offset: '1000' });
// #endregion

// #region SocketHandlers.{echo, proxy, lineProtocol, httpServer, httpRedirect, httpResponse, block, httpBlock}
expectTypeOf(SocketHandlers).not.toBeAny();
// echo is a handler itself; the others make one
expectTypeOf(SocketHandlers.echo).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.proxy('backend', 8080)).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.httpRedirect('https://{domain}{path}')).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.httpRedirect('https://{domain}:8443{path}', 302)).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.httpResponse({ statusCode: 200, headers: { 'Content-Type': 'text/plain' }, body: 'ok' })).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.block()).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.block('go away')).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.httpBlock()).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.httpBlock(403)).toEqualTypeOf<Handler>();
expectTypeOf(SocketHandlers.httpBlock(451, 'Unavailable')).toEqualTypeOf<Handler>();
// 19.6: lineProtocol(handler: (line: string, socket: net.Socket) => void)
expectTypeOf(
  SocketHandlers.lineProtocol((line, s) => {
    expectTypeOf(line).toEqualTypeOf<string>();
    expectTypeOf(s).toEqualTypeOf<net.Socket>();
    s.write(`${line}\n`);
  }),
).toEqualTypeOf<Handler>();
// 19.6: httpServer(handler: (req: { method, url, headers, body? }, res: { status, header, send, end }) => void)
expectTypeOf(
  SocketHandlers.httpServer((req, res) => {
    expectTypeOf(req).not.toBeAny();
    expectTypeOf(res).not.toBeAny();
    expectTypeOf(req.method).toEqualTypeOf<string>();
    expectTypeOf(req.url).toEqualTypeOf<string>();
    expectTypeOf(req.headers).not.toBeAny();
    res.status(200);
    res.header('Content-Type', 'text/plain');
    res.send(`you asked for ${req.url}`);
    res.end();
  }),
).toEqualTypeOf<Handler>();
// every handler fits a socket-handler route
route({ match: { ports: 80 }, action: { type: 'socket-handler', socketHandler: SocketHandlers.httpBlock(403) } });
void SocketHandlers.echo(socket, ctx);
// @ts-expect-error proxy(host, port): the port is a number
SocketHandlers.proxy('backend', '8080');
// @ts-expect-error proxy needs a host
SocketHandlers.proxy(8080);
// @ts-expect-error echo is already a handler, not a factory
SocketHandlers.echo();
// @ts-expect-error httpRedirect takes a location template first
SocketHandlers.httpRedirect(301);
// @ts-expect-error httpResponse needs a statusCode
SocketHandlers.httpResponse({ body: 'ok' });
// @ts-expect-error block(message?): the message is a string
SocketHandlers.block(403);
// @ts-expect-error httpBlock(statusCode?, message?): the status is a number
SocketHandlers.httpBlock('403');
// @ts-expect-error lineProtocol takes a line handler
SocketHandlers.lineProtocol('\n');
// @ts-expect-error the handlers are frozen (read-only)
SocketHandlers.echo = SocketHandlers.block();
// #endregion

// #region no any in public types
/** true when T is any. */
type IsAny<T> = 0 extends 1 & T ? true : false;
/** Node's and the standard library's classes: not entered (their own members use any). */
type ForeignLeaf = net.Socket | EventEmitter | Date | RegExp | Error | Uint8Array | ArrayBuffer | KeyObject | URL;
/**
 * The paths (e.g. 'match.ports', 'on().payload') where `any` hides in T, a few levels deep:
 * properties, function parameters and results, arrays, Maps, Sets and Promises.
 */
type AnyPaths<T, P extends string = '', D extends unknown[] = []> = D['length'] extends 6
  ? never
  : IsAny<T> extends true
    ? P extends ''
      ? '(root)'
      : P
    : T extends ForeignLeaf | string | number | boolean | bigint | symbol | null | undefined
      ? never
      : T extends (...args: infer A) => infer R
        ? ParamPaths<A, P, D> | AnyPaths<R, `${P}()`, [...D, 0]>
        : T extends ReadonlyMap<infer K, infer V>
          ? AnyPaths<K, `${P}<key>`, [...D, 0]> | AnyPaths<V, `${P}<value>`, [...D, 0]>
          : T extends ReadonlySet<infer E>
          ? AnyPaths<E, `${P}<item>`, [...D, 0]>
          : T extends Promise<infer V>
            ? AnyPaths<V, `${P}<resolved>`, [...D, 0]>
            : T extends readonly (infer E)[]
              ? AnyPaths<E, `${P}[]`, [...D, 0]>
              : T extends object
                ? { [K in keyof T & string]-?: AnyPaths<T[K], P extends '' ? K : `${P}.${K}`, [...D, 0]> }[keyof T & string]
                : never;
/** Parameters: each of a tuple's, or the element of a rest parameter (`...args: any[]`). */
type ParamPaths<A extends readonly unknown[], P extends string, D extends unknown[]> = number extends A['length']
  ? AnyPaths<A[number], `${P}(...args)`, [...D, 0]>
  : { [I in keyof A & `${number}`]: AnyPaths<A[I], `${P}(arg${I})`, [...D, 0]> }[keyof A & `${number}`];
expectTypeOf<AnyPaths<ISmartProxyOptions>>().toBeNever();
expectTypeOf<AnyPaths<IRouteConfig>>().toBeNever();
expectTypeOf<AnyPaths<IRouteContext>>().toBeNever();
expectTypeOf<AnyPaths<IMetrics>>().toBeNever();
expectTypeOf<AnyPaths<ISmartProxyEvents>>().toBeNever();
expectTypeOf<AnyPaths<ICertificateStatus>>().toBeNever();
expectTypeOf<AnyPaths<ILogger>>().toBeNever();
expectTypeOf<AnyPaths<typeof SocketHandlers>>().toBeNever();
// the helpers: parameters (the last overload) and results
expectTypeOf<AnyPaths<typeof createHttpRoute>>().toBeNever();
expectTypeOf<AnyPaths<typeof createHttpsTerminateRoute>>().toBeNever();
expectTypeOf<AnyPaths<typeof createHttpsPassthroughRoute>>().toBeNever();
expectTypeOf<AnyPaths<typeof createHttpToHttpsRedirect>>().toBeNever();
expectTypeOf<AnyPaths<typeof createCompleteHttpsServer>>().toBeNever();
expectTypeOf<AnyPaths<typeof createLoadBalancerRoute>>().toBeNever();
expectTypeOf<AnyPaths<typeof createSocketHandlerRoute>>().toBeNever();
expectTypeOf<AnyPaths<typeof createPortRange>>().toBeNever();
expectTypeOf<AnyPaths<typeof createWebSocketRoute>>().toBeNever();
// the exported helper option types
import type {
  RouteOptions,
  HttpsTerminateOptions,
  HttpsPassthroughOptions,
  RedirectRouteOptions,
  CompleteHttpsServerOptions,
  LoadBalancerOptions,
  SocketHandlerRouteOptions,
  WebSocketRouteOptions,
  PortMappingRouteOptions,
  OffsetPortMappingRouteOptions,
  IHttpServerRequest,
  IHttpServerResponse,
} from '@smartproxy/core';
expectTypeOf<RouteOptions>().not.toBeAny();
expectTypeOf<AnyPaths<RouteOptions>>().toBeNever();
expectTypeOf<AnyPaths<HttpsTerminateOptions>>().toBeNever();
expectTypeOf<AnyPaths<HttpsPassthroughOptions>>().toBeNever();
expectTypeOf<AnyPaths<RedirectRouteOptions>>().toBeNever();
expectTypeOf<AnyPaths<CompleteHttpsServerOptions>>().toBeNever();
expectTypeOf<AnyPaths<LoadBalancerOptions>>().toBeNever();
expectTypeOf<AnyPaths<SocketHandlerRouteOptions>>().toBeNever();
expectTypeOf<AnyPaths<WebSocketRouteOptions>>().toBeNever();
expectTypeOf<AnyPaths<PortMappingRouteOptions>>().toBeNever();
expectTypeOf<AnyPaths<OffsetPortMappingRouteOptions>>().toBeNever();
expectTypeOf<AnyPaths<IHttpServerRequest>>().toBeNever();
expectTypeOf<AnyPaths<IHttpServerResponse>>().toBeNever();
expectTypeOf<AnyPaths<typeof createPortMappingRoute>>().toBeNever();
expectTypeOf<AnyPaths<typeof createOffsetPortMappingRoute>>().toBeNever();
// each overload's options, one by one
expectTypeOf<AnyPaths<Parameters<typeof createHttpsTerminateRoute>[2]>>().toBeNever();
expectTypeOf<AnyPaths<Parameters<typeof createLoadBalancerRoute>[3]>>().toBeNever();
expectTypeOf(createHttpToHttpsRedirect).parameter(1).not.toBeAny();
expectTypeOf(createHttpToHttpsRedirect).parameter(2).not.toBeAny();
// the proxy's own public methods
expectTypeOf<AnyPaths<Pick<SmartProxy, 'start' | 'stop' | 'updateRoutes' | 'getStats' | 'getMetrics' | 'getCertificateStatus' | 'getListeningPorts'>>>().toBeNever();
expectTypeOf<IRouteContext>().not.toBeAny();
expectTypeOf<IMetrics>().not.toBeAny();
expectTypeOf<ISmartProxyEvents>().not.toBeAny();
expectTypeOf<ISmartProxyOptions>().not.toBeAny();
// #endregion
