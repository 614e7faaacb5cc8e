/** AcmeService with a fake issuer, an injected clock and a manual ticker: ordering, storing, renewal, retries, stop. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcmeService, type AcmeIssuer, type AcmeOutcome } from '../../ts/acme/acme-service.js';
import { CertDirectory } from '../../ts/acme/cert-directory.js';
import { ChallengeStore } from '../../ts/acme/challenge-store.js';
import { domainSet } from '../../ts/acme/domain-set.js';
import { DAY_MS, HOUR_MS, RETRY_BASE_MS } from '../../ts/acme/renewal.js';
import { ManualClock } from '../../ts/core/clock.js';
import { Ticker } from '../../ts/core/ticker.js';
import type { ResolvedAcmeOptions } from '../../ts/core/options.js';
import { createSignedCertificate } from '../../ts/tls/self-signed.js';
import { testCa, testCert } from '../helpers/certs.js';
import { silentLogger, type TestContextLike } from '../integration/harness.js';
import { waitFor } from '../helpers/leaks.js';

interface Harness {
  service: AcmeService;
  clock: ManualClock;
  ticker: Ticker;
  outcomes: Array<[string, AcmeOutcome['kind']]>;
  calls: string[][];
  store: string;
}

/** The certificates handed out by the fake CA: 825 days from an hour ago, signed by the test CA. */
const okIssuer = (calls: string[][]): AcmeIssuer => async (names) => {
  calls.push([...names]);
  const c = createSignedCertificate(testCa(), [...names]);
  return { key: c.key, cert: c.cert };
};

function harness(t: TestContextLike, issuer: (calls: string[][]) => AcmeIssuer = okIssuer, options: Partial<ResolvedAcmeOptions> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'spx-acme-svc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(Date.now());
  const ticker = new Ticker(clock, { manual: true });
  const outcomes: Array<[string, AcmeOutcome['kind']]> = [];
  const calls: string[][] = [];
  const store = join(dir, 'certs');
  const service = new AcmeService({
    options: { email: 'a@b.test', directoryUrl: 'https://127.0.0.1:9/dir', port: 80, certificateStore: store, renewThresholdDays: 30, renewCheckIntervalHours: 24, caCertificates: [], autoRenew: true, ...options },
    logger: silentLogger,
    clock,
    ticker,
    challenges: new ChallengeStore(),
    onUpdate: (key, outcome) => outcomes.push([key, outcome.kind]),
    issuer: issuer(calls),
  });
  t.after(() => service.stop());
  return { service, clock, ticker, outcomes, calls, store };
}

/** want() every set, then retain them (as a certificate store preparation does). */
async function use(s: AcmeService, ...sets: string[][]): Promise<string[]> {
  const mark = s.mark();
  const keys = await Promise.all(sets.map((d) => s.want(d)));
  s.retain(new Set(keys), mark);
  return keys;
}

describe('AcmeService', () => {
  test('nothing stored: pending until start(), then one order, stored, reported as issued', async (t) => {
    const h = harness(t);
    const [key] = await use(h.service, ['a.test', 'www.a.test']);
    assert.equal(h.service.current(key!).state, 'pending');
    h.service.kick(); // not started: no order
    await new Promise((r) => setImmediate(r));
    assert.equal(h.calls.length, 0);
    h.service.start();
    await waitFor(() => h.outcomes.length === 1);
    assert.deepEqual(h.calls, [['a.test', 'www.a.test']]);
    assert.deepEqual(h.outcomes, [[key, 'issued']]);
    const cur = h.service.current(key!);
    assert.equal(cur.state, 'valid');
    assert.ok(cur.pair);
    assert.equal((await new CertDirectory(h.store).loadCertificate(domainSet(['a.test', 'www.a.test'])))?.pair.cert, cur.pair.cert);
  });

  test('a stored certificate outside the threshold is used without an order', async (t) => {
    const h = harness(t);
    const c = testCert('s.test'); // 825 days
    await new CertDirectory(h.store).saveCertificate(domainSet(['s.test']), c);
    const [key] = await use(h.service, ['s.test']);
    assert.equal(h.service.current(key!).state, 'valid');
    h.service.start();
    h.clock.advance(HOUR_MS);
    h.ticker.runDue();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.calls.length, 0);
    assert.deepEqual(h.outcomes, []);
  });

  test('a stored certificate inside the threshold is served while it is renewed (reported as renewed)', async (t) => {
    const h = harness(t);
    const old = createSignedCertificate(testCa(), ['r.test'], { days: 20 });
    await new CertDirectory(h.store).saveCertificate(domainSet(['r.test']), old);
    const [key] = await use(h.service, ['r.test']);
    assert.equal(h.service.current(key!).pair?.cert, old.cert);
    h.service.start();
    await waitFor(() => h.outcomes.length === 1);
    assert.deepEqual(h.outcomes, [[key, 'renewed']]);
    assert.notEqual(h.service.current(key!).pair?.cert, old.cert);
  });

  test('the renewal check runs every renewCheckIntervalHours and orders what entered the threshold', async (t) => {
    const h = harness(t);
    const [key] = await use(h.service, ['n.test']);
    h.service.start();
    await waitFor(() => h.outcomes.length === 1);
    // 825-day certificate: due 795 days after issue; checks every 24 h
    h.clock.advance(700 * DAY_MS);
    h.ticker.runDue();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.calls.length, 1);
    h.clock.advance(96 * DAY_MS);
    h.ticker.runDue();
    await waitFor(() => h.outcomes.length === 2);
    assert.deepEqual(h.outcomes[1], [key, 'renewed']);
    assert.equal(h.calls.length, 2);
  });

  test('a failed order: error state, failure reported, retried after 5 minutes on the ticker, then issued', async (t) => {
    let fail = true;
    const h = harness(t, (calls) => async (names) => {
      calls.push([...names]);
      if (fail) throw new Error('CA says no');
      const c = createSignedCertificate(testCa(), [...names]);
      return { key: c.key, cert: c.cert };
    });
    const [key] = await use(h.service, ['f.test']);
    h.service.start();
    await waitFor(() => h.outcomes.length === 1);
    assert.deepEqual(h.outcomes, [[key, 'failed']]);
    assert.deepEqual({ ...h.service.current(key!), pair: undefined }, { state: 'error', pair: undefined, error: 'CA says no', unorderable: false });
    h.service.kick(); // an updateRoutes in between does not retry early
    h.clock.advance(RETRY_BASE_MS - 1000);
    h.ticker.runDue();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.calls.length, 1);
    fail = false;
    h.clock.advance(1000);
    h.ticker.runDue();
    await waitFor(() => h.outcomes.length === 2);
    assert.deepEqual(h.outcomes[1], [key, 'issued']);
    assert.equal(h.service.current(key!).error, undefined);
  });

  test('one order at a time', async (t) => {
    let active = 0;
    let most = 0;
    const h = harness(t, (calls) => async (names) => {
      calls.push([...names]);
      most = Math.max(most, ++active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      const c = createSignedCertificate(testCa(), [...names]);
      return { key: c.key, cert: c.cert };
    });
    await use(h.service, ['one.test'], ['two.test'], ['three.test']);
    h.service.start();
    await waitFor(() => h.outcomes.length === 3, 10_000);
    assert.equal(most, 1);
  });

  test('a wildcard set is never ordered: error, unorderable', async (t) => {
    const h = harness(t);
    const [key] = await use(h.service, ['*.w.test']);
    h.service.start();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.calls.length, 0);
    const cur = h.service.current(key!);
    assert.equal(cur.state, 'error');
    assert.equal(cur.unorderable, true);
    assert.match(cur.error ?? '', /wildcard/);
  });

  test('sets no longer retained are not ordered or renewed', async (t) => {
    const h = harness(t);
    await use(h.service, ['gone.test']);
    await use(h.service, ['kept.test']);
    h.service.start();
    await waitFor(() => h.outcomes.length === 1);
    assert.deepEqual(h.calls, [['kept.test']]);
  });

  test('stop(): the order in progress is aborted without a failure, retry tasks and the renewal task are cancelled', async (t) => {
    let started = false;
    const h = harness(t, () => (_names, signal) => {
      started = true;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    });
    await use(h.service, ['s.test']);
    const tasks = h.ticker.size;
    h.service.start();
    assert.equal(h.ticker.size, tasks + 1);
    await waitFor(() => started);
    const t0 = Date.now();
    await h.service.stop();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(h.ticker.size, tasks);
    assert.deepEqual(h.outcomes, []);
    assert.equal(h.service.running, false);
  });
});
