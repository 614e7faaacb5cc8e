/**
 * ACME against a real Pebble on loopback (one Pebble for the file; tests run one after the
 * other): HTTP-01 validated for real (Pebble's VA resolves the name through
 * pebble-challtestsrv to 127.0.0.1 and fetches the challenge from the proxy's acme.port),
 * certificates verified by curl against Pebble's issuing root.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import { SmartProxy, createSmartProxyWith, type SmartProxyInternals } from '../../ts/smart-proxy.js';
import { ManualClock } from '../../ts/core/clock.js';
import { Ticker } from '../../ts/core/ticker.js';
import { createHttpToHttpsRedirect } from '../../ts/api/route-helpers.js';
import type { ICertificateEventInfo } from '../../ts/tls/cert-store.js';
import type { IRouteConfig, ISmartProxyOptions } from '../../ts/types.js';
import { startHttpServer } from '../helpers/backends.js';
import { runCurl } from '../helpers/clients.js';
import { hasPebble, requirePebble, startPebble, type IPebble } from '../helpers/pebble.js';
import { tcpHandleCount, waitForTcpBaseline } from '../helpers/leaks.js';
import type { ISkippable } from '../helpers/tools.js';
import { servedCertificate, tempStore } from './kit.js';
import { freePort, silentLogger, type TestContextLike } from '../integration/harness.js';

const DOMAIN = 'app.test';
const cleanups: Array<() => unknown> = [];
let shared: IPebble | undefined;
before(async () => {
  if (hasPebble()) shared = await startPebble({ after: (fn) => cleanups.push(fn) });
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});
const EVENT_TIMEOUT_MS = 30_000;

function terminateRoute(httpsPort: number, backendPort: number, domains: string[] = [DOMAIN]): IRouteConfig {
  return {
    name: 'app',
    match: { ports: httpsPort, domains },
    action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort }, tls: { mode: 'terminate', certificate: 'auto' } },
  };
}

function acmeOptions(pebble: IPebble, store: string, extra: Partial<NonNullable<ISmartProxyOptions['acme']>> = {}): NonNullable<ISmartProxyOptions['acme']> {
  return { email: 'ops@app.test', directoryUrl: pebble.directoryUrl, port: pebble.httpPort, certificateStore: store, caCertificates: [pebble.apiCa], ...extra };
}

function newProxy(t: TestContextLike, options: Omit<ISmartProxyOptions, 'logger'>, internals?: SmartProxyInternals): SmartProxy {
  const all: ISmartProxyOptions = { listenAddress: '127.0.0.1', gracefulShutdownTimeout: 0, logger: silentLogger, ...options };
  const proxy = internals ? createSmartProxyWith(all, internals) : new SmartProxy(all);
  t.after(() => proxy.stop());
  return proxy;
}

/**
 * The next `event` from the proxy. Rejects after `timeoutMs`, or at once on certificate:failed
 * when waiting for another event, with the route's status and Pebble's log.
 */
function nextEvent(proxy: SmartProxy, event: string, pebble?: IPebble, timeoutMs = EVENT_TIMEOUT_MS): Promise<ICertificateEventInfo> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      proxy.off(event, onEvent);
      proxy.off('certificate:failed', onFailed);
    };
    const fail = (why: string): void => {
      done();
      reject(new Error(`${why}; status ${JSON.stringify(proxy.getCertificateStatus('app'))}\n${pebble?.log() ?? ''}`));
    };
    const onEvent = (info: ICertificateEventInfo): void => {
      done();
      resolve(info);
    };
    const onFailed = (info: ICertificateEventInfo): void => fail(`certificate:failed while waiting for ${event}: ${info.error}`);
    const timer = setTimeout(() => fail(`no ${event} within ${timeoutMs} ms`), timeoutMs);
    proxy.on(event, onEvent);
    if (event !== 'certificate:failed') proxy.on('certificate:failed', onFailed);
  });
}

/** Pebble (shared), an HTTP backend and a free port for the terminating route; undefined when the test is skipped. */
async function setup(t: TestContextLike & ISkippable): Promise<{ pebble: IPebble; backendPort: number; httpsPort: number } | undefined> {
  if (!requirePebble(t)) return undefined;
  const backend = await startHttpServer(undefined, { name: 'app-backend' });
  t.after(() => backend.close());
  return { pebble: shared!, backendPort: backend.port, httpsPort: await freePort() };
}

const served = (port: number, servername = DOMAIN): Promise<X509Certificate> => servedCertificate(port, servername);

/** curl https://app.test:<port>/ with verification against `rootPem`. */
async function curlVerified(port: number, rootPem: string, t: TestContextLike): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'spx-acme-root-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const caFile = join(dir, 'root.pem');
  writeFileSync(caFile, rootPem);
  return runCurl(['--resolve', `${DOMAIN}:${port}:127.0.0.1`, '--cacert', caFile, `https://${DOMAIN}:${port}/hello`], { timeoutMs: 10_000 });
}

test('issuance end to end: HTTP-01 answered on acme.port, curl verifies the certificate against Pebble\'s root', { timeout: 60_000 }, async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const { pebble, backendPort, httpsPort } = env;
  const store = tempStore(t);
  const proxy = newProxy(t, {
    acme: acmeOptions(pebble, store),
    routes: [terminateRoute(httpsPort, backendPort), createHttpToHttpsRedirect(DOMAIN, { port: pebble.httpPort, httpsPort })],
  });
  const issued = nextEvent(proxy, 'certificate:issued', pebble);
  const started = Date.now();
  await proxy.start();
  assert.ok(Date.now() - started < 5000, 'start() does not wait for the CA');
  assert.deepEqual(proxy.getListeningPorts(), [pebble.httpPort, httpsPort].sort((a, b) => a - b));
  const before = proxy.getCertificateStatus('app')!;
  assert.equal(before.status, 'pending');
  assert.equal(before.source, 'self-signed');
  const info = await issued;
  assert.equal(info.routeName, 'app');
  assert.equal(info.domain, DOMAIN);
  assert.equal(info.source, 'acme');

  const st = proxy.getCertificateStatus('app')!;
  assert.equal(st.source, 'acme');
  assert.equal(st.status, 'valid');
  assert.equal(st.domain, DOMAIN);
  assert.equal(st.error, undefined);
  assert.ok(st.expiryDate && st.expiryDate.getTime() > Date.now() + 86_400_000);
  assert.ok(st.issueDate && st.issueDate.getTime() <= Date.now() + 60_000);
  assert.equal(info.expiryDate?.getTime(), st.expiryDate.getTime());

  const r = await curlVerified(httpsPort, await pebble.issuingRoot(), t);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).name, 'app-backend');

  // the store holds the account key and the pair, owner-only
  const files = readdirSync(store).sort();
  assert.ok(files.includes('account.key'), files.join(','));
  assert.equal(files.filter((f) => f.endsWith('.crt')).length, 1);
  assert.equal(files.filter((f) => f.endsWith('.key')).length, 2);
  for (const f of files) assert.equal(statSync(join(store, f)).mode & 0o077, 0, `${f} is owner-only`);
  assert.equal(statSync(store).mode & 0o077, 0);

  // the challenge port: unknown token 404, every other path still goes to the user's redirect route
  const unknown = await runCurl(['-o', '/dev/null', '-w', '%{http_code}', '-H', `Host: ${DOMAIN}`, `http://127.0.0.1:${pebble.httpPort}/.well-known/acme-challenge/nope`]);
  assert.equal(unknown.stdout, '404');
  const redirect = await runCurl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '-H', `Host: ${DOMAIN}`, `http://127.0.0.1:${pebble.httpPort}/some/path?q=1`]);
  assert.equal(redirect.stdout, `301 https://${DOMAIN}:${httpsPort}/some/path?q=1`);
  // metrics: challenge requests (Pebble's and ours) are counted under the internal route's name, the rest under the user's routes
  const prom = await proxy.getPrometheusMetrics();
  assert.match(prom, /smartproxy_requests_total\{route="smartproxy:acme-challenge"\} [1-9]/);
  assert.match(prom, new RegExp(`smartproxy_requests_total\\{route="http-redirect:app.test:${pebble.httpPort}"\\} 1\\b`));
});

test('persistence: a second proxy on the same store serves the stored certificate without contacting the CA', { timeout: 60_000 }, async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const { pebble, backendPort, httpsPort } = env;
  const deadPort = await freePort();
  const store = tempStore(t);
  const first = newProxy(t, { acme: acmeOptions(pebble, store), routes: [terminateRoute(httpsPort, backendPort)] });
  const issued = nextEvent(first, 'certificate:issued', pebble);
  await first.start();
  await issued;
  const serial = (await served(httpsPort)).serialNumber;
  await first.stop();

  // the directory is now a closed port: any contact would fail and raise certificate:failed
  const events: string[] = [];
  const second = newProxy(t, {
    acme: acmeOptions(pebble, store, { directoryUrl: `https://127.0.0.1:${deadPort}/dir` }),
    routes: [terminateRoute(httpsPort, backendPort)],
  });
  for (const e of ['certificate:issued', 'certificate:renewed', 'certificate:failed']) second.on(e, () => events.push(e));
  await second.start();
  const st = second.getCertificateStatus('app')!;
  assert.equal(st.status, 'valid');
  assert.equal(st.source, 'acme');
  assert.equal((await served(httpsPort)).serialNumber, serial);
  const r = await curlVerified(httpsPort, await pebble.issuingRoot(), t);
  assert.equal(r.code, 0, r.stderr);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(events, []);
});

test('renewal: inside renewThresholdDays the renewal check orders a new certificate; new handshakes get it, an open connection keeps working', { timeout: 60_000 }, async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const { pebble, backendPort, httpsPort } = env;
  const clock = new ManualClock(Date.now());
  const ticker = new Ticker(clock, { manual: true });
  // due 30 minutes after issuance; checked every hour of the injected clock
  const renewThresholdDays = (pebble.validitySeconds - 1800) / 86_400;
  // socketTimeout above the hour the injected clock moves: the open connection stays idle that long
  const proxy = newProxy(
    t,
    { acme: acmeOptions(pebble, tempStore(t), { renewThresholdDays, renewCheckIntervalHours: 1 }), routes: [terminateRoute(httpsPort, backendPort)], socketTimeout: 4 * 3_600_000 },
    { clock, ticker },
  );
  const issued = nextEvent(proxy, 'certificate:issued', pebble);
  await proxy.start();
  await issued;
  const first = await served(httpsPort);
  const firstExpiry = proxy.getCertificateStatus('app')!.expiryDate!;

  // a connection opened on the first certificate
  const open = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: DOMAIN, rejectUnauthorized: false });
  open.on('error', () => {});
  t.after(() => open.destroy());
  await once(open, 'secureConnect');
  // One request first: the proxy has then finished its side of the handshake (TLS 1.3 completes
  // there after the client's secureConnect) before the injected clock jumps an hour.
  open.write(`GET /first HTTP/1.1\r\nHost: ${DOMAIN}\r\n\r\n`);
  await new Promise<void>((resolve) => {
    let got = '';
    const onData = (c: Buffer): void => {
      got += c.toString('latin1');
      if (/\r\n\r\n/.test(got)) {
        open.off('data', onData);
        resolve();
      }
    };
    open.on('data', onData);
  });

  clock.advance(30 * 60_000);
  ticker.runDue(); // nothing due yet: the check runs hourly
  clock.advance(30 * 60_000 + 1000);
  const renewed = nextEvent(proxy, 'certificate:renewed', pebble);
  ticker.runDue();
  const info = await renewed;
  assert.equal(info.routeName, 'app');
  assert.equal(info.source, 'acme');
  const second = await served(httpsPort);
  assert.notEqual(second.serialNumber, first.serialNumber);
  const st = proxy.getCertificateStatus('app')!;
  assert.equal(st.status, 'valid');
  assert.ok(st.expiryDate!.getTime() >= firstExpiry.getTime());
  assert.equal(new X509Certificate(open.getPeerCertificate().raw).serialNumber, first.serialNumber);
  open.write(`GET /still-here HTTP/1.1\r\nHost: ${DOMAIN}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  open.on('data', (c: Buffer) => chunks.push(c));
  await once(open, 'end');
  assert.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 200 [\s\S]*still-here/);
});

test("certProvisionFunction answering 'http01' hands the domain to ACME; one certificate covers all the route's domains", { timeout: 60_000 }, async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const { pebble, backendPort, httpsPort } = env;
  const asked: string[] = [];
  const tcpBaseline = tcpHandleCount();
  const proxy = newProxy(t, {
    acme: acmeOptions(pebble, tempStore(t)),
    certProvisionFunction: async (domain) => {
      asked.push(domain);
      return 'http01';
    },
    routes: [terminateRoute(httpsPort, backendPort, [DOMAIN, 'www.app.test'])],
  });
  const issued = nextEvent(proxy, 'certificate:issued', pebble);
  await proxy.start();
  await issued;
  assert.deepEqual(asked, [DOMAIN]);
  const st = proxy.getCertificateStatus('app')!;
  assert.equal(st.source, 'acme');
  assert.deepEqual(st.domains, [DOMAIN, 'www.app.test']);
  const cert = await served(httpsPort, 'www.app.test');
  assert.equal(cert.subjectAltName?.split(', ').sort().join(', '), 'DNS:app.test, DNS:www.app.test');
  assert.equal(cert.checkIssued(new X509Certificate(await pebble.issuingRoot())), false, 'leaf is issued by the intermediate');
  // stop() leaves no socket behind: listeners, the ACME client's connections to Pebble
  await proxy.stop();
  await waitForTcpBaseline(tcpBaseline, 3000);
});
