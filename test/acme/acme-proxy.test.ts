/**
 * The ACME wiring of SmartProxy without a CA: failures (unreachable or silent directory),
 * the challenge port's life cycle with updateRoutes, options. Loopback only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { SmartProxy } from '../../ts/smart-proxy.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';
import type { ICertificateEventInfo } from '../../ts/tls/cert-store.js';
import type { IAcmeOptions, IRouteConfig } from '../../ts/types.js';
import { runCurl } from '../helpers/clients.js';
import { testCert } from '../helpers/certs.js';
import { tcpHandleCount, waitForTcpBaseline } from '../helpers/leaks.js';
import { freePorts, silentLogger, startProxy } from '../integration/harness.js';
import { until } from '../integration/helpers-http.js';
import { servedCertificate, tempStore } from './kit.js';

const store = tempStore;

function autoRoute(port: number, domains: string | string[] = 'app.test', name = 'app'): IRouteConfig {
  return { name, match: { ports: port, domains }, action: { type: 'forward', target: { host: '127.0.0.1', port: 9 }, tls: { mode: 'terminate', certificate: 'auto' } } };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const [p] = await freePorts(1);
  return p!;
}

const httpStatus = async (port: number, path: string): Promise<string> =>
  (await runCurl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: app.test', `http://127.0.0.1:${port}${path}`])).stdout;

describe('ACME failures', () => {
  test('unreachable directory: certificate:failed, status error, self-signed served, proxy fine, stop() prompt and clean', { timeout: 20_000 }, async (t) => {
    const [httpsPort, acmePort] = await freePorts(2);
    const directoryUrl = `https://127.0.0.1:${await deadPort()}/dir`;
    const tcpBaseline = tcpHandleCount();
    const failed: ICertificateEventInfo[] = [];
    const proxy = new SmartProxy({
      listenAddress: '127.0.0.1',
      gracefulShutdownTimeout: 0,
      logger: silentLogger,
      acme: { email: 'a@app.test', directoryUrl, port: acmePort, certificateStore: store(t) },
      routes: [autoRoute(httpsPort!)],
    });
    t.after(() => proxy.stop());
    proxy.on('certificate:failed', (i: ICertificateEventInfo) => failed.push(i));
    await proxy.start();
    assert.deepEqual(proxy.getListeningPorts(), [httpsPort, acmePort].sort((a, b) => a! - b!));
    await until(() => failed.length === 1, 'certificate:failed', 10_000);
    assert.equal(failed[0]!.routeName, 'app');
    assert.equal(failed[0]!.source, 'acme');
    assert.match(failed[0]!.error ?? '', /ECONNREFUSED/);
    const st = proxy.getCertificateStatus('app')!;
    assert.equal(st.status, 'error');
    assert.equal(st.source, 'self-signed');
    assert.match(st.error ?? '', /ECONNREFUSED/);
    const cert = await servedCertificate(httpsPort!, 'app.test');
    assert.equal(cert.subjectAltName, 'DNS:app.test');
    assert.equal(cert.issuer, cert.subject);
    // no user route on the ACME port: anything but a known challenge is 404
    assert.equal(await httpStatus(acmePort!, '/'), '404');
    assert.equal(await httpStatus(acmePort!, '/.well-known/acme-challenge/unknown'), '404');
    assert.equal(failed.length, 1, 'the retry waits minutes, not a hot loop');
    const t0 = Date.now();
    await proxy.stop();
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual(proxy.getListeningPorts(), []);
    assert.equal(proxy.getDiagnostics().tickerTasks, 0);
    await waitForTcpBaseline(tcpBaseline, 3000);
  });

  test('a directory that accepts and never answers: start() returns at once, stop() aborts the order without a failure', { timeout: 20_000 }, async (t) => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => {
      s.on('error', () => {});
      sockets.push(s);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.after(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const [httpsPort, acmePort] = await freePorts(2);
    const events: string[] = [];
    const t0 = Date.now();
    const proxy = await startProxy(t, {
      acme: { email: 'a@app.test', directoryUrl: `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}/dir`, port: acmePort, certificateStore: store(t) },
      routes: [autoRoute(httpsPort!)],
    });
    assert.ok(Date.now() - t0 < 3000);
    for (const e of ['certificate:issued', 'certificate:failed']) proxy.on(e, () => events.push(e));
    await until(() => sockets.length > 0, 'the order to reach the silent directory', 5000);
    assert.equal(proxy.getCertificateStatus('app')!.status, 'pending');
    const t1 = Date.now();
    await proxy.stop();
    assert.ok(Date.now() - t1 < 2000, `stop took ${Date.now() - t1} ms`);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(events, []);
  });

  test('a wildcard route cannot use HTTP-01: certificate:failed at start, status error, no order', { timeout: 20_000 }, async (t) => {
    const [httpsPort, acmePort] = await freePorts(2);
    const failed: ICertificateEventInfo[] = [];
    const proxy = new SmartProxy({
      listenAddress: '127.0.0.1',
      logger: silentLogger,
      gracefulShutdownTimeout: 0,
      acme: { email: 'a@app.test', directoryUrl: `https://127.0.0.1:${await deadPort()}/dir`, port: acmePort, certificateStore: store(t) },
      routes: [autoRoute(httpsPort!, ['*.app.test'], 'wild')],
    });
    t.after(() => proxy.stop());
    proxy.on('certificate:failed', (i: ICertificateEventInfo) => failed.push(i));
    await proxy.start();
    assert.equal(failed.length, 1);
    assert.match(failed[0]!.error ?? '', /wildcard/);
    assert.equal(proxy.getCertificateStatus('wild')!.status, 'error');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(failed.length, 1);
  });
});

describe('the ACME challenge port', () => {
  test('open while an auto route exists: updateRoutes closes and reopens it; static routes alone do not need it', { timeout: 20_000 }, async (t) => {
    const [httpsPort, acmePort] = await freePorts(2);
    const c = testCert('static.test');
    const staticRoute: IRouteConfig = { name: 'static', match: { ports: httpsPort!, domains: 'static.test' }, action: { type: 'forward', target: { host: '127.0.0.1', port: 9 }, tls: { mode: 'terminate', certificate: { key: c.key, cert: c.cert } } } };
    const acme: IAcmeOptions = { email: 'a@app.test', directoryUrl: `https://127.0.0.1:${await deadPort()}/dir`, port: acmePort!, certificateStore: store(t) };
    const proxy = await startProxy(t, { acme, routes: [staticRoute] });
    assert.deepEqual(proxy.getListeningPorts(), [httpsPort]);
    await proxy.updateRoutes([staticRoute, autoRoute(httpsPort!)]);
    assert.deepEqual(proxy.getListeningPorts(), [httpsPort, acmePort].sort((a, b) => a! - b!));
    assert.equal(await httpStatus(acmePort!, '/.well-known/acme-challenge/x'), '404');
    await proxy.updateRoutes([staticRoute]);
    assert.deepEqual(proxy.getListeningPorts(), [httpsPort]);
    assert.equal(proxy.getCertificateStatus('app'), undefined);
  });

  test("acme.enabled: false turns ACME off (19.x configs): no challenge port, 'auto' routes self-signed pending", async (t) => {
    const [httpsPort, acmePort] = await freePorts(2);
    const proxy = await startProxy(t, { acme: { email: 'a@app.test', enabled: false, port: acmePort }, routes: [autoRoute(httpsPort!)] });
    assert.deepEqual(proxy.getListeningPorts(), [httpsPort]);
    assert.deepEqual({ status: proxy.getCertificateStatus('app')!.status, source: proxy.getCertificateStatus('app')!.source }, { status: 'pending', source: 'self-signed' });
  });
});

describe('acme options', () => {
  const base = { email: 'a@app.test' };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['email missing', { port: 80 }, 'acme.email'],
    ['directoryUrl not a URL', { ...base, directoryUrl: 'nope' }, 'acme.directoryUrl'],
    ['directoryUrl not http(s)', { ...base, directoryUrl: 'ftp://x/dir' }, 'acme.directoryUrl'],
    ['caCertificates not PEM', { ...base, caCertificates: ['-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----'] }, 'acme.caCertificates[0]'],
    ['port out of range', { ...base, port: 70000 }, 'acme.port'],
    ['renewThresholdDays zero', { ...base, renewThresholdDays: 0 }, 'acme.renewThresholdDays'],
    ['unknown field', { ...base, staging: true }, 'acme.staging'],
  ];
  for (const [what, acme, path] of cases) {
    test(`${what}: SmartProxyConfigError at ${path}`, () => {
      assert.throws(
        () => new SmartProxy({ logger: silentLogger, acme: acme as unknown as IAcmeOptions, routes: [] }),
        (err: unknown) => err instanceof SmartProxyConfigError && err.path === path,
      );
    });
  }

  test('a user route named like the challenge route is refused', () => {
    assert.throws(
      () => new SmartProxy({ logger: silentLogger, acme: base, routes: [{ ...autoRoute(443), name: 'smartproxy:acme-challenge' }] }),
      (err: unknown) => err instanceof SmartProxyConfigError && err.path === 'routes[0].name',
    );
  });
});
