import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SmartProxyConfigError } from '../../ts/core/errors.js';
import { CertStore, type CertificateEventName, type ICertificateEventInfo } from '../../ts/tls/cert-store.js';
import { createSignedCertificate } from '../../ts/tls/self-signed.js';
import type { ISmartProxyOptions } from '../../ts/types.js';
import { testCa, testCert } from '../helpers/certs.js';
import { compile, silentLogger, terminateRoute } from './terminator.js';

type ProvisionFn = NonNullable<ISmartProxyOptions['certProvisionFunction']>;

function store(fn?: ProvisionFn, extra: { provisionTimeoutMs?: number; events?: Array<[CertificateEventName, ICertificateEventInfo]> } = {}): CertStore {
  return new CertStore({
    logger: silentLogger,
    certProvisionFunction: fn,
    provisionTimeoutMs: extra.provisionTimeoutMs,
    onEvent: extra.events ? (e, i) => extra.events!.push([e, i]) : undefined,
  });
}

describe('CertStore status', () => {
  test('static certificate: valid, dates from the certificate, domains as written', async () => {
    const c = testCert(['a.test', '*.a.test']);
    const s = store();
    await s.prepare(compile([terminateRoute('r1', ['a.test', '*.a.test'], c)], false));
    const st = s.status('r1');
    assert.ok(st);
    assert.equal(st.domain, 'a.test');
    assert.deepEqual(st.domains, ['a.test', '*.a.test']);
    assert.equal(st.status, 'valid');
    assert.equal(st.source, 'static');
    assert.equal(st.error, undefined);
    assert.ok(st.expiryDate instanceof Date && st.expiryDate.getTime() > Date.now());
    assert.ok(st.issueDate instanceof Date && st.issueDate.getTime() < Date.now());
    assert.equal(s.status('nope'), undefined);
    // a copy each call: callers cannot change the store's state
    st.domains.push('x');
    assert.deepEqual(s.status('r1')!.domains, ['a.test', '*.a.test']);
  });

  test('expired static certificate: status expired (still served)', async () => {
    const old = createSignedCertificate(testCa(), ['old.test'], { notBefore: new Date(Date.now() - 10 * 86_400_000), days: 2 });
    const s = store();
    await s.prepare(compile([terminateRoute('old', 'old.test', old)], false));
    assert.equal(s.status('old')!.status, 'expired');
    assert.equal(s.status('old')!.source, 'static');
  });

  test('status follows the clock: valid then expired', async () => {
    let now = Date.now();
    const s = new CertStore({ logger: silentLogger, now: () => now });
    await s.prepare(compile([terminateRoute('r', 'a.test', testCert('a.test'))], false));
    assert.equal(s.status('r')!.status, 'valid');
    now = s.status('r')!.expiryDate!.getTime() + 1;
    assert.equal(s.status('r')!.status, 'expired');
  });

  test("'auto' without a provision function: self-signed, pending", async () => {
    const s = store();
    await s.prepare(compile([terminateRoute('auto', ['p.test', 'q.test'], 'auto')]));
    const st = s.status('auto')!;
    assert.equal(st.status, 'pending');
    assert.equal(st.source, 'self-signed');
    assert.equal(st.domain, 'p.test');
    assert.deepEqual(st.domains, ['p.test', 'q.test']);
    assert.ok(st.expiryDate);
  });

  test('provision function: called once per first domain, result served as source provision', async () => {
    const calls: string[] = [];
    const events: Array<[CertificateEventName, ICertificateEventInfo]> = [];
    const s = store(async (domain) => {
      calls.push(domain);
      const c = testCert(['prov.test', 'www.prov.test']);
      return { key: c.key, cert: c.cert };
    }, { events });
    await s.prepare(
      compile([
        terminateRoute('p1', ['prov.test', 'www.prov.test'], 'auto'),
        { ...terminateRoute('p2', ['prov.test'], 'auto'), priority: 5 },
      ]),
    );
    assert.deepEqual(calls, ['prov.test']);
    for (const name of ['p1', 'p2']) {
      const st = s.status(name)!;
      assert.equal(st.status, 'valid');
      assert.equal(st.source, 'provision');
      assert.equal(st.error, undefined);
    }
    assert.deepEqual(
      events.map(([e, i]) => [e, i.routeName, i.domain]),
      [
        ['certificate:issued', 'p1', 'prov.test'],
        ['certificate:issued', 'p2', 'prov.test'],
      ],
    );
  });

  test('events across prepares: issued once, nothing when unchanged, renewed when the certificate changes', async () => {
    const events: Array<[CertificateEventName, ICertificateEventInfo]> = [];
    let pair = testCert('ev.test');
    const s = store(async () => ({ key: pair.key, cert: pair.cert }), { events });
    const table = compile([terminateRoute('ev', 'ev.test', 'auto')]);
    await s.prepare(table);
    await s.prepare(table);
    pair = testCert(['ev.test', 'www.ev.test']);
    await s.prepare(table);
    assert.deepEqual(events.map(([e]) => e), ['certificate:issued', 'certificate:renewed']);
  });

  const failing: Array<[string, ProvisionFn, RegExp]> = [
    ["'http01'", async () => 'http01', /answered 'http01'/],
    ['a rejection', async () => Promise.reject(new Error('boom')), /failed: boom/],
    ['a synchronous throw', (() => {
      throw new Error('sync boom');
    }) as ProvisionFn, /failed: sync boom/],
    ['a malformed answer', (async () => ({ key: 1 })) as unknown as ProvisionFn, /neither/],
    ['a certificate that does not load', async () => ({ key: 'x', cert: 'y' }), /does not load/],
    ['a call that never settles', () => new Promise(() => {}), /did not settle within 50 ms/],
  ];
  for (const [what, fn, message] of failing) {
    test(`provision function with ${what}: self-signed, error`, async () => {
      const events: Array<[CertificateEventName, ICertificateEventInfo]> = [];
      const s = store(fn, { provisionTimeoutMs: 50, events });
      await s.prepare(compile([terminateRoute('bad', 'bad.test', 'auto')]));
      const st = s.status('bad')!;
      assert.equal(st.status, 'error');
      assert.equal(st.source, 'self-signed');
      assert.match(st.error ?? '', message);
      assert.equal(events.length, 1);
      assert.equal(events[0]![0], 'certificate:failed');
    });
  }

  test('auto route without domains and a provision function: self-signed, error; passthrough routes have no status', async () => {
    let called = 0;
    const s = store(async () => {
      called++;
      return 'http01';
    });
    await s.prepare(
      compile([
        terminateRoute('nodomain', undefined, 'auto'),
        { name: 'pt', match: { ports: 8443, domains: 'pt.test' }, action: { type: 'forward', target: { host: '127.0.0.1', port: 9 }, tls: { mode: 'passthrough' } } },
      ]),
    );
    assert.equal(called, 0);
    assert.equal(s.status('nodomain')!.status, 'error');
    assert.equal(s.status('nodomain')!.domain, '');
    assert.equal(s.status('pt'), undefined);
  });
});

describe('CertStore prepare', () => {
  test('a static certificate that does not load: a config error naming the route and the part, old state kept', async () => {
    const good = testCert('good.test');
    const s = store();
    await s.prepare(compile([terminateRoute('good', 'good.test', good)], false));
    const before = s.secureContextFor('good.test', undefined);
    const cases: Array<[string, { key: string; cert: string }, string]> = [
      ['key of another certificate', { key: testCert('other.test').key, cert: good.cert }, 'routes[1].action.tls.certificate.key'],
      ['key not PEM', { key: 'not a key', cert: good.cert }, 'routes[1].action.tls.certificate.key'],
      ['cert not PEM', { key: good.key, cert: 'not a certificate' }, 'routes[1].action.tls.certificate.cert'],
      ['key and cert swapped', { key: good.cert, cert: good.key }, 'routes[1].action.tls.certificate.cert'],
    ];
    for (const [what, broken, path] of cases) {
      // refused when the table is compiled, before the store sees it
      assert.throws(
        () => compile([terminateRoute('good', 'good.test', good), terminateRoute('broken', 'b.test', broken)], false),
        (err: unknown) => err instanceof SmartProxyConfigError && err.code === 'SPX_ERR_ROUTE_INVALID' && err.path === path,
        what,
      );
    }
    assert.equal(s.secureContextFor('good.test', undefined), before);
    assert.equal(s.status('broken'), undefined);
  });

  test('updateRoutes with the same certificates reuses contexts; a dropped certificate is released', async () => {
    const a = testCert('a.test');
    const b = testCert('b.test');
    const s = store();
    await s.prepare(compile([terminateRoute('a', 'a.test', a), terminateRoute('b', 'b.test', b)], false));
    const ctxA = s.secureContextFor('a.test', undefined);
    const created = s.stats().contextsCreated;
    assert.equal(s.stats().contexts, 2);
    // same certificates in fresh objects (as from a re-read config), routes renamed and reordered
    await s.prepare(compile([terminateRoute('b2', 'b.test', { ...b }), terminateRoute('a2', 'a.test', { key: a.key, cert: a.cert })], false));
    assert.equal(s.secureContextFor('a.test', undefined), ctxA);
    assert.equal(s.stats().contextsCreated, created);
    await s.prepare(compile([terminateRoute('b', 'b.test', b)], false));
    assert.equal(s.stats().contexts, 1);
    assert.equal(s.stats().contextsCreated, created);
  });

  test('self-signed certificates are generated once per name set and kept across prepares', async () => {
    const s = store();
    await s.prepare(compile([terminateRoute('x', ['x.test', 'y.test'], 'auto'), terminateRoute('y', ['y.test', 'x.test'], 'auto')]));
    assert.equal(s.stats().selfSigned, 1);
    const ctx = s.secureContextFor(undefined, compile([terminateRoute('x', ['x.test', 'y.test'], 'auto')]).routes[0]);
    const created = s.stats().contextsCreated;
    await s.prepare(compile([terminateRoute('x', ['x.test', 'y.test'], 'auto')]));
    assert.equal(s.stats().contextsCreated, created);
    assert.equal(s.secureContextFor(undefined, compile([terminateRoute('x', ['x.test', 'y.test'], 'auto')]).routes[0]), ctx);
  });

  test('a prepare superseded by a later one does not overwrite it', async () => {
    let release: (() => void) | undefined;
    const slowCert = testCert('slow.test');
    const s = store(
      (domain) =>
        domain === 'slow.test'
          ? new Promise((resolve) => {
              release = () => resolve({ key: slowCert.key, cert: slowCert.cert });
            })
          : Promise.resolve('http01'),
    );
    const first = s.prepare(compile([terminateRoute('slow', 'slow.test', 'auto')]));
    const fast = testCert('fast.test');
    await s.prepare(compile([terminateRoute('fast', 'fast.test', fast)]));
    release!();
    await first;
    assert.equal(s.status('slow'), undefined);
    assert.equal(s.status('fast')!.source, 'static');
  });

  test('secureContextFor: exact SAN, one-label wildcard, route certificate, fallback', async () => {
    const exact = testCert('www.site.test');
    const wild = testCert('*.site.test');
    const own = testCert('own.test');
    const s = store();
    const table = compile([
      terminateRoute('exact', 'www.site.test', exact),
      terminateRoute('wild', '*.site.test', wild),
      terminateRoute('own', ['own.test', 'alias.test'], own),
    ], false);
    await s.prepare(table);
    const own0 = table.routes[2]!;
    const ctxExact = s.secureContextFor('www.site.test', undefined);
    const ctxWild = s.secureContextFor('a.site.test', undefined);
    const ctxOwn = s.secureContextFor('own.test', undefined);
    assert.notEqual(ctxExact, ctxWild);
    assert.equal(s.secureContextFor('WWW.SITE.TEST.', own0), ctxExact); // SAN beats the route's own
    assert.equal(s.secureContextFor('alias.test', own0), ctxOwn); // not in any SAN: the route's certificate
    const fallback = s.secureContextFor('a.b.site.test', undefined);
    assert.notEqual(fallback, ctxWild);
    assert.equal(s.secureContextFor('site.test', undefined), fallback);
    assert.equal(s.secureContextFor(undefined, undefined), fallback);
  });
});
