/** CertStore with a fake ACME side: which routes use ACME, fallbacks, live swaps, events, the prepare race. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AcmeCertState, AcmeOutcome } from '../../ts/acme/acme-service.js';
import { domainSet } from '../../ts/acme/domain-set.js';
import { CertStore, type AcmeCertificates, type CertificateEventName, type ICertificateEventInfo } from '../../ts/tls/cert-store.js';
import type { PemPair } from '../../ts/tls/secure-context-cache.js';
import type { ISmartProxyOptions } from '../../ts/types.js';
import { testCert } from '../helpers/certs.js';
import { compile, silentLogger, terminateRoute } from '../tls/terminator.js';

/** A scripted ACME side: pairs set by the test; want() can be held to model a slow store read. */
class FakeAcme implements AcmeCertificates {
  readonly states = new Map<string, AcmeCertState>();
  readonly wanted: string[][] = [];
  retained: string[] = [];
  hold: Promise<void> | undefined;
  #gen = 0;
  mark(): number {
    return ++this.#gen;
  }
  async want(domains: readonly string[]): Promise<string> {
    this.wanted.push([...domains]);
    await this.hold;
    return domainSet(domains).key;
  }
  current(key: string): AcmeCertState {
    return this.states.get(key) ?? { state: 'pending', pair: undefined, error: undefined, unorderable: false };
  }
  retain(keys: ReadonlySet<string>): void {
    this.retained = [...keys].sort();
  }
  set(domains: string[], pair: PemPair | undefined, error?: string, unorderable = false): string {
    const key = domainSet(domains).key;
    this.states.set(key, { state: pair ? 'valid' : error ? 'error' : 'pending', pair, error, unorderable });
    return key;
  }
}

type ProvisionFn = NonNullable<ISmartProxyOptions['certProvisionFunction']>;
type Events = Array<[CertificateEventName, ICertificateEventInfo]>;

function store(acme: FakeAcme | undefined, fn?: ProvisionFn, fallbackToAcme?: boolean): { s: CertStore; events: Events } {
  const events: Events = [];
  const s = new CertStore({ logger: silentLogger, acme, certProvisionFunction: fn, fallbackToAcme, onEvent: (e, i) => events.push([e, i]) });
  return { s, events };
}

const pairOf = (names: string[]): PemPair => {
  const c = testCert(names);
  return { key: c.key, cert: c.cert };
};

describe('CertStore with ACME', () => {
  test("'auto' routes use ACME: self-signed and pending until the certificate arrives, then swapped in for new handshakes", async () => {
    const acme = new FakeAcme();
    const { s, events } = store(acme);
    const table = compile([terminateRoute('app', ['app.test', 'www.app.test'], 'auto')]);
    await s.prepare(table);
    assert.deepEqual(acme.wanted, [['app.test', 'www.app.test']]);
    assert.deepEqual(acme.retained, ['app.test,www.app.test']);
    const before = s.status('app')!;
    assert.deepEqual([before.status, before.source, before.domain], ['pending', 'self-signed', 'app.test']);
    const selfSigned = s.secureContextFor('www.app.test', table.routes[0]);

    const pair = pairOf(['app.test', 'www.app.test']);
    const key = acme.set(['app.test', 'www.app.test'], pair);
    const notAfter = new Date(Date.now() + 86_400_000);
    s.acmeUpdated(key, { kind: 'issued', notAfter } satisfies AcmeOutcome);
    const after = s.status('app')!;
    assert.deepEqual([after.status, after.source, after.error], ['valid', 'acme', undefined]);
    const ctx = s.secureContextFor('www.app.test', undefined);
    assert.notEqual(ctx, selfSigned);
    assert.equal(s.secureContextFor('app.test', undefined), ctx, 'found by SNI');
    assert.deepEqual(events, [['certificate:issued', { routeName: 'app', domain: 'app.test', source: 'acme', expiryDate: notAfter }]]);
  });

  test('a failed first order: status error with the message, certificate:failed; the self-signed fallback stays', async () => {
    const acme = new FakeAcme();
    const { s, events } = store(acme);
    const table = compile([terminateRoute('app', 'app.test', 'auto')]);
    await s.prepare(table);
    const fallback = s.secureContextFor(undefined, table.routes[0]);
    const key = acme.set(['app.test'], undefined, 'CA down');
    s.acmeUpdated(key, { kind: 'failed', error: 'CA down' });
    const st = s.status('app')!;
    assert.deepEqual([st.status, st.source, st.error], ['error', 'self-signed', 'CA down']);
    assert.equal(s.secureContextFor(undefined, table.routes[0]), fallback);
    assert.deepEqual(events.map(([e, i]) => [e, i.error]), [['certificate:failed', 'CA down']]);
  });

  test('a failed renewal: the current certificate keeps being served (same context), status valid with the error', async () => {
    const acme = new FakeAcme();
    const pair = pairOf(['r.test']);
    const key = acme.set(['r.test'], pair);
    const { s, events } = store(acme);
    await s.prepare(compile([terminateRoute('r', 'r.test', 'auto')]));
    assert.equal(s.status('r')!.source, 'acme');
    const ctx = s.secureContextFor('r.test', undefined);
    acme.set(['r.test'], pair, 'renewal refused');
    s.acmeUpdated(key, { kind: 'failed', error: 'renewal refused' });
    const st = s.status('r')!;
    assert.deepEqual([st.status, st.source, st.error], ['valid', 'acme', 'renewal refused']);
    assert.equal(s.secureContextFor('r.test', undefined), ctx);
    assert.equal(events.length, 1);
  });

  test('two routes with the same names share the certificate and both hear of it; other sets are untouched', async () => {
    const acme = new FakeAcme();
    const { s, events } = store(acme);
    await s.prepare(compile([terminateRoute('a1', 'a.test', 'auto'), { ...terminateRoute('a2', 'A.test.', 'auto'), priority: 2 }, terminateRoute('b', 'b.test', 'auto')]));
    const key = acme.set(['a.test'], pairOf(['a.test']));
    s.acmeUpdated(key, { kind: 'renewed', notAfter: new Date() });
    assert.deepEqual(events.map(([e, i]) => `${e} ${i.routeName}`).sort(), ['certificate:renewed a1', 'certificate:renewed a2']);
    assert.equal(s.status('a2')!.source, 'acme');
    assert.equal(s.status('b')!.status, 'pending');
    s.acmeUpdated('nobody.test', { kind: 'issued', notAfter: new Date() });
    assert.equal(events.length, 2);
  });

  test('a certificate that arrives while prepare() runs is in the state it commits', async () => {
    const acme = new FakeAcme();
    const { s } = store(acme);
    let release!: () => void;
    acme.hold = new Promise((r) => (release = r));
    const preparing = s.prepare(compile([terminateRoute('late', 'late.test', 'auto')]));
    await new Promise((r) => setImmediate(r));
    const key = acme.set(['late.test'], pairOf(['late.test']));
    s.acmeUpdated(key, { kind: 'issued', notAfter: new Date() }); // the live state does not have the route yet
    release();
    await preparing;
    assert.equal(s.status('late')!.source, 'acme');
    assert.equal(s.status('late')!.status, 'valid');
  });

  test("certProvisionFunction is asked first: a pair is served as 'provision', 'http01' hands the route to ACME", async () => {
    const acme = new FakeAcme();
    const asked: string[] = [];
    const own = pairOf(['own.test']);
    const { s } = store(acme, async (domain) => {
      asked.push(domain);
      return domain === 'own.test' ? own : 'http01';
    });
    await s.prepare(compile([terminateRoute('own', 'own.test', 'auto'), terminateRoute('viaAcme', ['acme.test', 'x.acme.test'], 'auto')]));
    assert.deepEqual(asked.sort(), ['acme.test', 'own.test']);
    assert.deepEqual(acme.wanted, [['acme.test', 'x.acme.test']]);
    assert.equal(s.status('own')!.source, 'provision');
    assert.equal(s.status('viaAcme')!.status, 'pending');
  });

  test('certProvisionFallbackToAcme (default true): a provision that throws is ordered from ACME instead', async () => {
    const acme = new FakeAcme();
    const { s, events } = store(acme, async () => {
      throw new Error('vault unreachable');
    });
    await s.prepare(compile([terminateRoute('app', ['app.test', 'www.app.test'], 'auto')]));
    assert.deepEqual(acme.wanted, [['app.test', 'www.app.test']]);
    assert.equal(s.status('app')!.status, 'pending');
    assert.deepEqual(events, [], 'no certificate:failed: ACME took over');
    const key = acme.set(['app.test', 'www.app.test'], pairOf(['app.test', 'www.app.test']));
    s.acmeUpdated(key, { kind: 'issued', notAfter: new Date(Date.now() + 86_400_000) });
    assert.deepEqual([s.status('app')!.status, s.status('app')!.source], ['valid', 'acme']);
  });

  test('certProvisionFallbackToAcme: false: a provision that throws is an error and the route serves self-signed', async () => {
    const acme = new FakeAcme();
    const { s, events } = store(
      acme,
      async () => {
        throw new Error('vault unreachable');
      },
      false,
    );
    await s.prepare(compile([terminateRoute('app', 'app.test', 'auto')]));
    assert.deepEqual(acme.wanted, []);
    const st = s.status('app')!;
    assert.deepEqual([st.status, st.source], ['error', 'self-signed']);
    assert.match(st.error ?? '', /vault unreachable/);
    assert.deepEqual(events.map(([e]) => e), ['certificate:failed']);
  });

  test("'http01' without acme configured is an error naming that", async () => {
    const { s, events } = store(undefined, async () => 'http01');
    await s.prepare(compile([terminateRoute('x', 'x.test', 'auto')]));
    assert.equal(s.status('x')!.status, 'error');
    assert.match(s.status('x')!.error ?? '', /answered 'http01', but acme is not configured/);
    assert.equal(events[0]![0], 'certificate:failed');
  });

  test('an unorderable set (wildcard) fails at prepare: status error, certificate:failed once per prepare', async () => {
    const acme = new FakeAcme();
    acme.set(['*.w.test'], undefined, 'wildcard', true);
    const { s, events } = store(acme);
    await s.prepare(compile([terminateRoute('w', '*.w.test', 'auto')]));
    assert.equal(s.status('w')!.status, 'error');
    assert.deepEqual(events.map(([e, i]) => [e, i.source, i.error]), [['certificate:failed', 'acme', 'wildcard']]);
  });

  test('routes without a domain or with a static certificate do not reach ACME', async () => {
    const acme = new FakeAcme();
    const { s } = store(acme);
    const c = pairOf(['static.test']);
    await s.prepare(compile([terminateRoute('nodomain', undefined, 'auto'), terminateRoute('static', 'static.test', c)]));
    assert.deepEqual(acme.wanted, []);
    assert.equal(s.status('nodomain')!.status, 'error');
    assert.equal(s.status('static')!.source, 'static');
  });
});
