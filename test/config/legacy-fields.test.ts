/**
 * Every 19.x option and route field this proxy maps, implements or warns about, one row each,
 * and the "silently wrong" configurations that now fail loudly or warn. Rows run through the
 * public constructor (options and routes validated, notes logged) with a logger that records
 * its warnings.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions } from '../../ts/core/options.js';
import { LETSENCRYPT_PRODUCTION, LETSENCRYPT_STAGING } from '../../ts/core/legacy-options.js';
import { compileRoutes } from '../../ts/routing/index.js';
import { SmartProxy, SmartProxyConfigError, SocketHandlers, createHttpToHttpsRedirect, createLoadBalancerRoute, createSocketHandlerRoute } from '../../ts/index.js';
import type { ILogger, IRouteConfig, ISmartProxyOptions } from '../../ts/index.js';
import { testCert } from '../helpers/certs.js';
import { freePort } from '../integration/harness.js';

/** A logger that keeps its warnings (message text and the fields object). */
function recorder(): { logger: ILogger; warnings: string[] } {
  const warnings: string[] = [];
  const noop = (): void => {};
  const logger: ILogger = {
    trace: noop,
    debug: noop,
    info: noop,
    error: noop,
    warn: (obj: object | string, msg?: string) => void warnings.push(typeof obj === 'string' ? obj : (msg ?? JSON.stringify(obj))),
    child: () => logger,
  };
  return { logger, warnings };
}

const forward = (port = 18080): IRouteConfig => ({ name: 'f', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: 9 } } });
const base = (extra: Record<string, unknown> = {}): ISmartProxyOptions => ({ routes: [forward()], ...extra }) as ISmartProxyOptions;

function construct(options: ISmartProxyOptions): { warnings: string[]; proxy: SmartProxy } {
  const r = recorder();
  const proxy = new SmartProxy({ ...options, logger: r.logger });
  return { warnings: r.warnings, proxy };
}

function configError(fn: () => unknown): SmartProxyConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SmartProxyConfigError, `expected a SmartProxyConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a config error');
}

describe('19.x options: mapped or implemented (no warning)', () => {
  const rows: Array<[string, Record<string, unknown>, (o: ReturnType<typeof resolveOptions>) => void]> = [
    ['acme.accountEmail -> acme.email', { acme: { accountEmail: 'ops@app.test' } }, (o) => assert.equal(o.acme?.email, 'ops@app.test')],
    ["acme.environment 'production'", { acme: { email: 'a@b.test', environment: 'production' } }, (o) => assert.equal(o.acme?.directoryUrl, LETSENCRYPT_PRODUCTION)],
    ["acme.environment 'staging'", { acme: { email: 'a@b.test', environment: 'staging' } }, (o) => assert.equal(o.acme?.directoryUrl, LETSENCRYPT_STAGING)],
    ['acme.useProduction false', { acme: { email: 'a@b.test', useProduction: false } }, (o) => assert.equal(o.acme?.directoryUrl, LETSENCRYPT_STAGING)],
    ['acme.autoRenew false', { acme: { email: 'a@b.test', autoRenew: false } }, (o) => assert.equal(o.acme?.autoRenew, false)],
    ['acme.skipConfiguredCerts true', { acme: { email: 'a@b.test', skipConfiguredCerts: true } }, (o) => assert.ok(o.acme)],
    ['acme.enabled false', { acme: { email: 'a@b.test', enabled: false } }, (o) => assert.equal(o.acme, undefined)],
    ['enableKeepAliveProbes -> keepAlive', { enableKeepAliveProbes: false }, (o) => assert.equal(o.keepAlive, false)],
    ['enableRandomizedTimeouts -> timeoutJitter', { enableRandomizedTimeouts: true }, (o) => assert.equal(o.timeoutJitter, true)],
    ['noDelay', { noDelay: false }, (o) => assert.equal(o.noDelay, false)],
    ['maxPendingDataSize', { maxPendingDataSize: 4096 }, (o) => assert.equal(o.maxPendingDataSize, 4096)],
    ['allowSessionTicket', { allowSessionTicket: false }, (o) => assert.equal(o.allowSessionTicket, false)],
    ['disableInactivityCheck', { disableInactivityCheck: true }, (o) => assert.equal(o.inactivityTimeout, Infinity)],
    ['certProvisionFallbackToAcme', { certProvisionFallbackToAcme: false }, (o) => assert.equal(o.certProvisionFallbackToAcme, false)],
    ['preserveSourceIP: false (asks for nothing)', { preserveSourceIP: false }, () => {}],
  ];
  for (const [what, extra, check] of rows) {
    test(what, () => {
      check(resolveOptions(base(extra)));
      assert.deepEqual(construct(base(extra)).warnings, [], 'no warning for a mapped or implemented field');
    });
  }

  test('key / cert (strings or Buffers) become the default certificate', () => {
    const c = testCert('default.test');
    assert.deepEqual(resolveOptions(base({ key: c.key, cert: c.cert })).tls.defaultCertificate, { key: c.key, cert: c.cert });
    const buf = resolveOptions(base({ key: Buffer.from(c.key), cert: Buffer.from(c.cert) })).tls.defaultCertificate as { key: Buffer };
    assert.ok(Buffer.isBuffer(buf.key));
    construct(base({ key: Buffer.from(c.key), cert: Buffer.from(c.cert) })); // loads
  });

  test('a route-level action.tls.acme configures ACME when options.acme is absent (one note)', () => {
    const c = testCert('x.test');
    const route: IRouteConfig = {
      name: 'auto',
      match: { ports: 18443, domains: 'x.test' },
      action: { type: 'forward', target: { host: '127.0.0.1', port: 9 }, tls: { mode: 'terminate', certificate: 'auto', acme: { email: 'r@x.test', useProduction: false, challengePort: 18081, renewBeforeDays: 20 } } },
    };
    const o = resolveOptions({ routes: [route] });
    assert.equal(o.acme?.email, 'r@x.test');
    assert.equal(o.acme?.directoryUrl, LETSENCRYPT_STAGING);
    assert.equal(o.acme?.port, 18081);
    assert.equal(o.acme?.renewThresholdDays, 20);
    const { warnings } = construct({ routes: [route, { ...forward(18444), action: { type: 'forward', target: { host: '127.0.0.1', port: 9 }, tls: { mode: 'terminate', certificate: { key: c.key, cert: c.cert } } } }] });
    assert.equal(warnings.filter((w) => w.includes('routes[0].action.tls.acme')).length, 1);
  });
});

describe('19.x options naming replaced machinery: accepted, one warning each', () => {
  const rows: Array<[string, Record<string, unknown>]> = [
    ['useHttpProxy', { useHttpProxy: [443] }],
    ['httpProxyPort', { httpProxyPort: 8443 }],
    ['networkProxyPort', { networkProxyPort: 8443 }],
    ['useNetworkProxy', { useNetworkProxy: [443] }],
    ['enableDetailedLogging', { enableDetailedLogging: true }],
    ['enableTlsDebugLogging', { enableTlsDebugLogging: true }],
    ['preserveSourceIP', { preserveSourceIP: true }],
    ['acme.routeForwards', { acme: { email: 'a@b.test', routeForwards: [] } }],
    ['acme.skipConfiguredCerts', { acme: { email: 'a@b.test', skipConfiguredCerts: false } }],
  ];
  for (const [field, extra] of rows) {
    test(`${field}: one warning naming it and what to do`, () => {
      const { warnings } = construct(base(extra));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.ok(warnings[0]!.startsWith(`${field}: `), warnings[0]);
      assert.ok(warnings[0]!.length > field.length + 30, 'says what to do instead');
    });
  }
});

describe('19.x route fields', () => {
  const compile = (r: Record<string, unknown>, logger?: ILogger) => compileRoutes([r as unknown as IRouteConfig], logger ? { logger } : {}).routes[0]!;
  const fwd = { type: 'forward', target: { host: '127.0.0.1', port: 9 } };

  test('websocket.pingInterval / pingTimeout -> pingIntervalMs / pingTimeoutMs', () => {
    const r = compile({ match: { ports: 80, domains: 'a.test' }, action: { ...fwd, websocket: { enabled: true, pingInterval: 1000, pingTimeout: 500 } } });
    assert.deepEqual({ ...r.config.action.websocket }, { enabled: true, pingIntervalMs: 1000, pingTimeoutMs: 500 });
  });
  test('rateLimit.window -> windowSeconds; errorMessage kept; enabled: true dropped', () => {
    const r = compile({ match: { ports: 80, domains: 'a.test' }, action: fwd, security: { rateLimit: { enabled: true, maxRequests: 5, window: 60, errorMessage: 'slow' } } });
    assert.deepEqual({ ...r.config.security?.rateLimit }, { maxRequests: 5, windowSeconds: 60, errorMessage: 'slow' });
  });
  for (const block of ['basicAuth', 'rateLimit', 'jwtAuth']) {
    test(`security.${block}.enabled: false drops the block`, () => {
      const r = compile({ match: { ports: 80, domains: 'a.test' }, action: fwd, security: { [block]: { enabled: false } } });
      assert.equal((r.config.security as Record<string, unknown>)[block], undefined);
    });
  }
  test('route-level headers merge into action.headers (the action wins)', () => {
    const r = compile({ match: { ports: 80, domains: 'a.test' }, action: { ...fwd, headers: { request: { 'x-a': 'action' } } }, headers: { request: { 'x-a': 'route', 'x-b': '{clientIp}' }, response: { 'x-c': 'c' } } });
    assert.deepEqual(JSON.parse(JSON.stringify(r.config.action.headers)), { request: { 'x-a': 'action', 'x-b': '{clientIp}' }, response: { 'x-c': 'c' } });
  });
  test('id, description, tags, security.maxConnectionsPerIP, basicAuth.excludePaths are kept', () => {
    const r = compile({ id: 'r1', description: 'd', tags: ['t'], match: { ports: 80, domains: 'a.test' }, action: fwd, security: { maxConnectionsPerIP: 3, basicAuth: { users: [{ username: 'u', password: 'p' }], excludePaths: ['/health'] } } });
    assert.equal(r.config.id, 'r1');
    assert.deepEqual([...r.config.tags!], ['t']);
    assert.equal(r.maxConnectionsPerIP, 3);
    assert.deepEqual([...r.config.security!.basicAuth!.excludePaths!], ['/health']);
  });
  test('tls.versions bounds a terminating route; on passthrough it is dropped with a warning', () => {
    const c = testCert('a.test');
    const t = compile({ match: { ports: 443, domains: 'a.test' }, action: { ...fwd, tls: { mode: 'terminate', certificate: { key: c.key, cert: c.cert }, versions: ['TLSv1.3'] } } });
    assert.deepEqual({ ...t.tlsVersionRange }, { min: 'TLSv1.3', max: 'TLSv1.3' });
    const r = recorder();
    const p = compile({ match: { ports: 443, domains: 'a.test' }, action: { ...fwd, tls: { mode: 'passthrough', versions: ['TLSv1.2'] } } }, r.logger);
    assert.equal(p.tlsVersionRange, undefined);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /action\.tls\.versions.*match\.tlsVersion/);
  });
  const warned: Array<[string, Record<string, unknown>, RegExp]> = [
    ["forwardingEngine: 'nftables'", { forwardingEngine: 'nftables' }, /forwardingEngine: 'nftables'/],
    ['nftables', { nftables: { preserveSourceIP: true } }, /action\.nftables: NFTables/],
    ['advanced.timeout', { advanced: { timeout: 5 } }, /advanced\.timeout: .*connectionTimeout/],
    ['advanced.urlRewrite', { advanced: { urlRewrite: { pattern: 'a', target: 'b' } } }, /advanced\.urlRewrite: .*target\.path/],
  ];
  for (const [what, extra, re] of warned) {
    test(`action.${what}: accepted, one warning`, () => {
      const r = recorder();
      compile({ match: { ports: 80 }, action: { ...fwd, ...extra } }, r.logger);
      assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
      assert.match(r.warnings[0]!, re);
    });
  }
  test("forwardingEngine 'node' is silent; anything else is an error", () => {
    const r = recorder();
    compile({ match: { ports: 80 }, action: { ...fwd, forwardingEngine: 'node' } }, r.logger);
    assert.deepEqual(r.warnings, []);
    assert.equal(configError(() => compile({ match: { ports: 80 }, action: { ...fwd, forwardingEngine: 'ebpf' } })).path, 'routes[0].action.forwardingEngine');
  });
  test('advanced.headers become request header rules', () => {
    const r = compile({ match: { ports: 80, domains: 'a.test' }, action: { ...fwd, advanced: { headers: { 'x-adv': '1' } } } });
    assert.equal(r.config.action.headers?.request?.['x-adv'], '1');
  });
  for (const type of ['redirect', 'block', 'static']) {
    test(`action.type '${type}' (removed in 19.5) is an error that says what to use`, () => {
      const err = configError(() => compile({ match: { ports: 80 }, action: { type } }));
      assert.equal(err.path, 'routes[0].action.type');
      assert.match(err.message, /SocketHandlers|createHttpToHttpsRedirect/);
    });
  }
});

describe('no silently wrong config', () => {
  test('domains on a plain-TCP socket-handler route: a warning that it can never match', () => {
    const { warnings } = construct({ routes: [createSocketHandlerRoute('tcp.example.com', 17001, SocketHandlers.echo)] });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /plain TCP clients never match/);
    assert.deepEqual(construct({ routes: [createSocketHandlerRoute('*', 17001, SocketHandlers.echo)] }).warnings, [], "'*' alone serves every client");
  });
  test('an unknown template variable is an error naming the known ones (and the nearest)', () => {
    const err = configError(() => new SmartProxy({ routes: [{ ...forward(), match: { ports: 80, domains: 'a.test' }, action: { type: 'forward', target: { host: 'h', port: 1 }, headers: { request: { 'x-real-ip': '{clientIP}' } } } }] }));
    assert.equal(err.path, 'routes[0].action.headers.request.x-real-ip');
    assert.match(err.message, /\{clientIP\}.*did you mean \{clientIp\}.*known: \{clientIp\}, \{clientPort\}/);
    const err2 = configError(() => new SmartProxy({ routes: [{ match: { ports: 80, domains: 'a.test', path: '/u/:id' }, action: { type: 'forward', target: { host: 'h', port: 1, path: '/users/{ID}' } } }] }));
    assert.equal(err2.path, 'routes[0].action.target.path');
    assert.match(err2.message, /\{ID\}.*did you mean \{id\}/);
  });
  test("a string where a number belongs says so ('8080')", () => {
    const err = configError(() => new SmartProxy({ routes: [{ match: { ports: '8080' as unknown as number }, action: { type: 'forward', target: { host: 'h', port: 1 } } }] }));
    assert.equal(err.path, 'routes[0].match.ports');
    assert.match(err.message, /the string '8080'/);
    const err2 = configError(() => new SmartProxy({ routes: [], connectionTimeout: '30000' as unknown as number }));
    assert.equal(err2.path, 'connectionTimeout');
    assert.match(err2.message, /the string '30000'/);
  });
  test('a bad PEM names the route and the part (key or cert)', () => {
    const c = testCert('a.test');
    const route = (key: string, cert: string): IRouteConfig => ({ match: { ports: 443, domains: 'a.test' }, action: { type: 'forward', target: { host: 'h', port: 1 }, tls: { mode: 'terminate', certificate: { key, cert } } } });
    assert.equal(configError(() => new SmartProxy({ routes: [forward(), route('junk', c.cert)] })).path, 'routes[1].action.tls.certificate.key');
    assert.equal(configError(() => new SmartProxy({ routes: [forward(), route(c.key, 'junk')] })).path, 'routes[1].action.tls.certificate.cert');
  });
  test('a typo suggests the nearest field; paths carry no options. prefix', () => {
    const e1 = configError(() => new SmartProxy({ routes: [], inactivityTimout: 5 } as unknown as ISmartProxyOptions));
    assert.equal(e1.path, 'inactivityTimout');
    assert.match(e1.message, /did you mean `inactivityTimeout`\?/);
    const e2 = configError(() => new SmartProxy({ routse: [] } as unknown as ISmartProxyOptions));
    assert.ok(['routse', 'routes'].includes(e2.path), e2.path);
    assert.ok(e2.errors.some((e) => e.path === 'routse' && /did you mean `routes`/.test(e.message)));
    const e3 = configError(() => new SmartProxy({ routes: [], acme: { emial: 'x' } } as unknown as ISmartProxyOptions));
    assert.ok(e3.errors.some((e) => e.path === 'acme.emial'));
  });
  test('every error of a table comes in one throw (error.errors)', () => {
    const routes = [
      { match: { ports: 0 }, action: { type: 'forward', target: { host: 'h', port: 1 } } },
      { match: { ports: 80 }, action: { type: 'forwrd' } },
      { match: { ports: 80, domains: 'a.test' }, action: { type: 'forward', target: { host: 'h', port: '1' } } },
    ] as unknown as IRouteConfig[];
    const err = configError(() => new SmartProxy({ routes, keepAliveTreatment: 'forever' } as unknown as ISmartProxyOptions));
    const paths = err.errors.map((e) => e.path);
    for (const p of ['keepAliveTreatment', 'routes[0].match.ports', 'routes[1].action.type', 'routes[2].action.target.port']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
  });
  test('createHttpToHttpsRedirect(domains, 443, { match: { ports } }) listens where it is told', () => {
    const r = createHttpToHttpsRedirect('a.test', 443, { match: { ports: 8080 } });
    assert.equal(r.match.ports, 8080);
    assert.equal(createHttpToHttpsRedirect('a.test', 8443).match.ports, 80);
  });
  test('createLoadBalancerRoute(..., { tls, healthCheck }) terminates TLS on 443 and keeps the health check', () => {
    const hc = { path: '/health', interval: 5000, timeout: 1000, unhealthyThreshold: 2, healthyThreshold: 2 };
    const r = createLoadBalancerRoute('lb.test', ['10.0.0.1', '10.0.0.2'], 8080, { tls: { mode: 'terminate', certificate: 'auto' }, healthCheck: hc });
    assert.equal(r.match.ports, 443);
    assert.equal(r.action.tls?.mode, 'terminate');
    assert.deepEqual(r.action.loadBalancing?.healthCheck, hc);
    const err = configError(() => createLoadBalancerRoute('lb.test', ['h'], 80, { healthchek: hc } as never));
    assert.equal(err.path, 'createLoadBalancerRoute(options).healthchek');
    assert.match(err.message, /did you mean `healthCheck`/);
  });
  test('loadBalancing.healthCheck: start() warns once that it is not active yet', async (t) => {
    const port = await freePort();
    const r = recorder();
    const proxy = new SmartProxy({ listenAddress: '127.0.0.1', gracefulShutdownTimeout: 0, logger: r.logger, routes: [createLoadBalancerRoute('*', ['127.0.0.1'], 9, { listenPort: port, healthCheck: { path: '/h' } })] });
    await proxy.start();
    t.after(() => proxy.stop());
    await proxy.updateRoutes([createLoadBalancerRoute('*', ['127.0.0.1'], 9, { listenPort: port, healthCheck: { path: '/h' } })]);
    const hc = r.warnings.filter((w) => /healthCheck is not active yet/.test(w));
    assert.equal(hc.length, 1, r.warnings.join('\n'));
  });
});
