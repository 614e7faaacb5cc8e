/**
 * Bad input costs one connection, never more: malformed or oversized ClientHellos, random
 * TLS-looking garbage, truncated hellos, malformed PROXY headers from a trusted peer, a
 * trusted peer without a header, and PROXY headers from an untrusted peer. Each is closed
 * while a healthy connection through the same proxy keeps echoing, is reported through
 * 'connection:error' with a reason and counted in smartproxy_connections_refused_total, and
 * leaves no record. Only 127.0.0.1 is ever contacted; 10.9.9.9 is a configured value only.
 * Replay the garbage with FUZZ_SEED=<printed seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { startProxy, freePorts } from '../integration/harness.js';
import { testCert } from '../helpers/certs.js';
import { waitFor } from '../helpers/leaks.js';
import { makeRng, fuzzSeed } from '../protocol/helpers/rng.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';
import type { ISmartProxyOptions } from '../../ts/types.js';
import { startTlsEchoBackend } from './tls-echo-backend.js';
import { malformedHellos, garbageHellos, fragmentFlood, truncatedHellos, malformedProxyHeaders, untrustedProxyHeaders, v1Tcp4, type IBadCase } from './bad-inputs.js';
import { runBad, startPinger, reasonsMatch, tally, type IPinger } from './bad-runner.js';
import { watchProcessErrors, describeErrors, waitForProxyIdle, refusalsByReason, counterDelta } from './kit.js';

const DOMAIN = 'bad.test';
const INITIAL_DATA_TIMEOUT = 1000;
const CASE_TIMEOUT = 5000;

interface Ctx {
  after(fn: () => unknown): void;
  diagnostic(msg: string): void;
}

interface Fixture {
  proxy: SmartProxy;
  port: number;
  /** 'connection:error' reasons and 'route:miss' (as that string), in order. */
  events: string[];
  pinger: IPinger;
  healthy: net.Socket;
  /** Connections that reached the backend. */
  backendConnections(): number;
}

const common = { connectionRateLimitPerMinute: 0, maxConnectionsPerIP: 0, initialDataTimeout: INITIAL_DATA_TIMEOUT };

/**
 * Records 'connection:error' reasons and misses. A listener that threw would be swallowed by
 * the proxy (emitSafe), so payloads that are not as documented are recorded as such instead.
 */
function listen(proxy: SmartProxy, port: number): string[] {
  const events: string[] = [];
  proxy.on('connection:error', (e: { reason?: unknown; clientIp?: unknown; port?: unknown; connectionId?: unknown }) => {
    const ok = typeof e.reason === 'string' && e.reason !== '' && e.clientIp === '127.0.0.1' && e.port === port && typeof e.connectionId === 'string';
    events.push(ok ? (e.reason as string) : `bad payload ${JSON.stringify(e)}`);
  });
  proxy.on('route:miss', () => events.push('route:miss'));
  return events;
}

/** TLS passthrough by SNI to a TLS echo backend, with a healthy TLS connection pinging through it. */
async function tlsFixture(t: Ctx): Promise<Fixture> {
  const cert = testCert(DOMAIN);
  const backend = await startTlsEchoBackend({ ...cert, name: 'good' });
  t.after(() => backend.close());
  const [port] = await freePorts(1);
  const proxy = await startProxy(t, {
    ...common,
    routes: [{ name: 'tls', match: { ports: port!, domains: DOMAIN }, action: { type: 'forward', target: { host: '127.0.0.1', port: backend.port }, tls: { mode: 'passthrough' } } }],
  });
  const events = listen(proxy, port!);
  const healthy = tls.connect({ port: port!, host: '127.0.0.1', servername: DOMAIN, ca: [cert.ca] });
  healthy.on('error', () => {});
  t.after(() => healthy.destroy());
  await new Promise((r) => healthy.once('secureConnect', r));
  const greeting = `good sni=${DOMAIN}\n`.length;
  return { proxy, port: port!, events, healthy, pinger: startPinger(healthy, greeting), backendConnections: () => backend.connections };
}

/**
 * A forward to a counting echo backend with acceptProxyProtocol; `header` starts the healthy
 * connection. A backend connection counts once a byte reaches it: an untrusted peer's backend
 * is connected at once (server-speaks-first protocols), its PROXY header never delivered.
 */
async function proxyProtocolFixture(t: Ctx, proxyIPs: string[], header: Buffer | undefined): Promise<Fixture> {
  let connections = 0;
  const held = new Set<net.Socket>();
  const echo = net.createServer((s) => {
    s.once('data', () => connections++);
    held.add(s);
    s.on('error', () => {});
    s.once('close', () => held.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { for (const s of held) s.destroy(); echo.close(() => r()); }));
  const [port] = await freePorts(1);
  const options: Omit<ISmartProxyOptions, 'logger'> = {
    ...common,
    acceptProxyProtocol: true,
    proxyIPs,
    routes: [{ name: 'pp', match: { ports: port! }, action: { type: 'forward', target: { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port } } }],
  };
  const proxy = await startProxy(t, options);
  const events = listen(proxy, port!);
  const healthy = net.connect({ port: port!, host: '127.0.0.1' });
  healthy.on('error', () => {});
  t.after(() => healthy.destroy());
  await new Promise((r) => healthy.once('connect', r));
  if (header) healthy.write(header);
  return { proxy, port: port!, events, healthy, pinger: startPinger(healthy, 0), backendConnections: () => connections };
}

/**
 * Runs the cases at once against the fixture. Every case must be closed by the proxy with
 * nothing sent back; with `expectReported`, its reason must be reported (events matched to
 * cases) and the refusal counters must move by exactly the reported connection:error reasons.
 */
async function phase(t: Ctx, fx: Fixture, label: string, cases: IBadCase[], expectReported = true): Promise<void> {
  const before = refusalsByReason(await fx.proxy.getPrometheusMetrics());
  const from = fx.events.length;
  const trips = fx.pinger.roundTrips;
  const results = await Promise.all(cases.map((c) => runBad(fx.port, c, CASE_TIMEOUT)));
  const hung = results.filter((r) => r.timedOut).map((r) => r.c.name);
  assert.deepEqual(hung, [], `${label}: not closed by the proxy within ${CASE_TIMEOUT} ms`);
  const answered = results.filter((r) => r.received > 0).map((r) => `${r.c.name}: ${r.received} bytes`);
  assert.deepEqual(answered, [], `${label}: bytes sent back to a bad client`);
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  const observed = fx.events.slice(from);
  t.diagnostic(`${label}: ${cases.length} closed, slowest ${slowest.ms} ms (${slowest.c.name}); reported ${JSON.stringify(tally(observed))}`);
  if (expectReported) {
    assert.ok(
      reasonsMatch(cases, observed),
      `${label}: reported ${JSON.stringify(tally(observed))} do not match the cases:\n${cases.map((c) => `${c.name}: ${c.reasons.join('|')}`).join('\n')}`,
    );
    const delta = counterDelta(before, refusalsByReason(await fx.proxy.getPrometheusMetrics()));
    assert.deepEqual(Object.fromEntries([...delta].sort()), tally(observed.filter((r) => r !== 'route:miss')), `${label}: smartproxy_connections_refused_total delta`);
  }
  // The healthy connection went on echoing through the phase (and still does).
  await fx.pinger.more(Math.max(0, trips + 3 - fx.pinger.roundTrips));
  // Only the healthy connection is left.
  await waitForProxyIdle(fx.proxy, 3000, 1);
}

/** The healthy connection kept echoing throughout; then it closes and nothing is left. */
async function finish(fx: Fixture, label: string): Promise<void> {
  const { roundTrips, error } = await fx.pinger.stop();
  assert.equal(error, undefined, `${label}: healthy connection: ${error}`);
  assert.ok(roundTrips >= 3, `${label}: healthy connection made only ${roundTrips} round trips`);
  assert.equal(fx.backendConnections(), 1, `${label}: a bad connection reached the backend`);
  assert.equal(fx.proxy.getStats().connections.active(), 1);
  fx.healthy.destroy();
  await waitForProxyIdle(fx.proxy, 3000);
  await waitFor(() => fx.proxy.getStats().connections.active() === 0, 2000);
}

test('malformed, oversized and random ClientHellos cost only their own connection, are reported and counted', { timeout: 30_000 }, async (t) => {
  const watch = watchProcessErrors(t);
  const seed = fuzzSeed();
  t.diagnostic(`seed ${seed} (replay with FUZZ_SEED=${seed})`);
  const fx = await tlsFixture(t);
  await phase(t, fx, 'malformed hellos', [...malformedHellos(DOMAIN), fragmentFlood()]);
  await phase(t, fx, `garbage (seed ${seed})`, garbageHellos(makeRng(seed), 30));
  await finish(fx, 'tls');
  assert.equal(watch.errors.length, 0, describeErrors(watch));
});

test('truncated ClientHellos followed by FIN close only their own connection and leave no record', { timeout: 30_000 }, async (t) => {
  const watch = watchProcessErrors(t);
  const fx = await tlsFixture(t);
  await phase(t, fx, 'truncated hellos + FIN', truncatedHellos(DOMAIN), false);
  await finish(fx, 'truncated');
  assert.equal(watch.errors.length, 0, describeErrors(watch));
});

test(
  'truncated ClientHellos followed by FIN are reported (connection:error) and counted as refusals',
  { timeout: 30_000 },
  async (t) => {
    const fx = await tlsFixture(t);
    await phase(t, fx, 'truncated hellos + FIN', truncatedHellos(DOMAIN));
    await finish(fx, 'truncated');
  },
);

test('malformed PROXY headers, or none, from a trusted proxyIP cost only their own connection', { timeout: 30_000 }, async (t) => {
  const watch = watchProcessErrors(t);
  const fx = await proxyProtocolFixture(t, ['127.0.0.1'], v1Tcp4());
  await phase(t, fx, 'trusted peer, bad header', malformedProxyHeaders());
  await finish(fx, 'trusted');
  assert.equal(watch.errors.length, 0, describeErrors(watch));
});

test('PROXY headers from a peer outside proxyIPs are refused, one connection each', { timeout: 30_000 }, async (t) => {
  const watch = watchProcessErrors(t);
  // 10.9.9.9 is only a configured value: nothing is ever sent there.
  const fx = await proxyProtocolFixture(t, ['10.9.9.9'], undefined);
  await phase(t, fx, 'untrusted peer', untrustedProxyHeaders());
  await finish(fx, 'untrusted');
  assert.equal(watch.errors.length, 0, describeErrors(watch));
});
