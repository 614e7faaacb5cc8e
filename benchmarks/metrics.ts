/**
 * Cost of metrics on the L4 data path: the same SmartProxy forward route with
 * `metrics.enabled` true vs false, measured in the same run, alternating the order per round.
 * Each proxy runs in its own process; load generators in their own processes; backends here.
 *   - small requests: autocannon over kept-alive connections, HTTP passed through at L4;
 *   - bulk: one connection carrying BENCH_BULK_MB to a sink;
 *   - new connections: connect + 1-byte echo, the backend closes, then the client (the per-connection hooks).
 * Proxy CPU (user+system of the proxy process) is measured around each measurement.
 * Prints markdown (scripts/run-bench.mjs collects it into docs/benchmarks.md).
 *
 * Knobs (env): BENCH_ROUNDS (3), BENCH_DURATION (s, 5), BENCH_WARMUP (s, 1), BENCH_CONNECTIONS (50),
 * BENCH_BULK_MB (1024), BENCH_CONN_TOTAL (5000), BENCH_CONN_CONCURRENCY (50), BENCH_CONN_WARMUP (s, 2).
 */
import { startKeepAliveHttpBackend, startEchoOnceBackend, startBulkSink } from './lib/backends.js';
import { startConfiguredSmartProxy, type IChildProxyUnderTest } from './lib/proxy-process.js';
import { runAutocannon, runConnRate, runBulk } from './lib/load.js';
import { markdownTable, fmt, envNumber, median } from './lib/report.js';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { REPO_ROOT } from './lib/net-util.js';

const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const DURATION = envNumber('BENCH_DURATION', 5);
const WARMUP = envNumber('BENCH_WARMUP', 1);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50);
const BULK_BYTES = envNumber('BENCH_BULK_MB', 1024) * 1024 * 1024;
const CONN_TOTAL = envNumber('BENCH_CONN_TOTAL', 5000);
/** New connections before the measured ones, by time: a fresh proxy process is still compiling its per-connection path for the first ~10,000 (see benchmarks/l4.ts). */
const CONN_WARMUP = envNumber('BENCH_CONN_WARMUP', 2);
const CONN_CONCURRENCY = envNumber('BENCH_CONN_CONCURRENCY', 50);

type Variant = 'off' | 'on';
const LABEL: Record<Variant, string> = { off: 'metrics.enabled: false', on: 'metrics.enabled: true (default)' };

interface ISample {
  rps: number;
  cpuPerReqUs: number;
  httpRps: number;
  httpCpuPerReqUs: number;
  mibPerSec: number;
  cpuPerGiBMs: number;
  connPerSec: number;
  cpuPerConnUs: number;
}
type Metric = keyof ISample;

const samples: Record<Variant, ISample[]> = { off: [], on: [] };
const notes: string[] = [];

async function measure<T>(proxy: IChildProxyUnderTest, run: () => Promise<T>): Promise<{ r: T; cpuMs: number }> {
  const c0 = await proxy.cpuMs();
  const r = await run();
  return { r, cpuMs: (await proxy.cpuMs()) - c0 };
}

async function oneRound(variant: Variant, ports: { http: number; echo: number; sink: number }): Promise<void> {
  const options = { metrics: { enabled: variant === 'on' } };
  const s: Partial<ISample> = {};
  // One proxy per backend: the route target is fixed per child.
  const web = await startConfiguredSmartProxy(ports.http, options, `${variant}/http`);
  try {
    const url = `http://127.0.0.1:${web.port}/`;
    if (WARMUP > 0) await runAutocannon(url, { connections: CONNECTIONS, durationSec: WARMUP });
    const { r, cpuMs } = await measure(web, () => runAutocannon(url, { connections: CONNECTIONS, durationSec: DURATION }));
    s.rps = r.requestsPerSec;
    s.cpuPerReqUs = (cpuMs * 1000) / Math.max(1, r.totalRequests);
    if (r.errors || r.non2xx) notes.push(`${variant}: requests had ${r.errors} errors, ${r.non2xx} non-2xx`);
    const st = await web.stats();
    const counted = variant === 'on' ? st.requests > 0 && st.bytesIn > 0 : st.requests === 0 && st.bytesIn === 0;
    if (!counted) notes.push(`${variant}: unexpected getStats() ${JSON.stringify(st)}`);
  } finally {
    await web.close();
  }
  // The same small requests through the HTTP engine (per-request routing and counting).
  const l7 = await startConfiguredSmartProxy(ports.http, options, `${variant}/http-layer`, 'http');
  try {
    const url = `http://127.0.0.1:${l7.port}/`;
    if (WARMUP > 0) await runAutocannon(url, { connections: CONNECTIONS, durationSec: WARMUP });
    const { r, cpuMs } = await measure(l7, () => runAutocannon(url, { connections: CONNECTIONS, durationSec: DURATION }));
    s.httpRps = r.requestsPerSec;
    s.httpCpuPerReqUs = (cpuMs * 1000) / Math.max(1, r.totalRequests);
    if (r.errors || r.non2xx) notes.push(`${variant}: HTTP-layer requests had ${r.errors} errors, ${r.non2xx} non-2xx`);
  } finally {
    await l7.close();
  }
  const bulk = await startConfiguredSmartProxy(ports.sink, options, `${variant}/bulk`);
  try {
    const { r, cpuMs } = await measure(bulk, () => runBulk(bulk.port, BULK_BYTES));
    s.mibPerSec = r.mibPerSecond;
    s.cpuPerGiBMs = cpuMs / (BULK_BYTES / 1024 ** 3);
    if (variant === 'on') {
      const st = await bulk.stats();
      if (st.bytesIn < BULK_BYTES) notes.push(`on: bulk counted ${st.bytesIn} of ${BULK_BYTES} bytes`);
    }
  } finally {
    await bulk.close();
  }
  const echo = await startConfiguredSmartProxy(ports.echo, options, `${variant}/conn`);
  try {
    if (CONN_WARMUP > 0) await runConnRate(echo.port, Number.MAX_SAFE_INTEGER, CONN_CONCURRENCY, CONN_WARMUP * 1000);
    const { r, cpuMs } = await measure(echo, () => runConnRate(echo.port, CONN_TOTAL, CONN_CONCURRENCY));
    s.connPerSec = r.perSecond;
    s.cpuPerConnUs = (cpuMs * 1000) / Math.max(1, r.completed);
    if (r.errors) notes.push(`${variant}: ${r.errors} of ${CONN_TOTAL} connections failed`);
  } finally {
    await echo.close();
  }
  samples[variant].push(s as ISample);
}

const higherIsBetter = (k: Metric): boolean => k === 'rps' || k === 'httpRps' || k === 'mibPerSec' || k === 'connPerSec';
const med = (v: Variant, k: Metric): number => median(samples[v].map((s) => s[k]));
const pctText = (pct: number): string => (Number.isFinite(pct) ? `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %` : 'n/a');
/** Relative cost of metrics in percent (positive = metrics on is worse), from two values. */
const costOf = (off: number, on: number, up: boolean): number =>
  up ? ((off - on) / off) * 100 : ((on - off) / off) * 100;
/** Cost from the medians of each variant. */
const cost = (k: Metric, up: boolean): string => pctText(costOf(med('off', k), med('on', k), up));
/** Median of the per-round paired costs (each round ran on and off back to back, so slow drift cancels). */
const pairedCost = (k: Metric, up: boolean): string =>
  pctText(median(samples.off.map((off, i) => costOf(off[k], samples.on[i]![k], up))));

async function main(): Promise<void> {
  const http = await startKeepAliveHttpBackend();
  const echo = await startEchoOnceBackend();
  const sink = await startBulkSink();
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const order: Variant[] = i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
      for (const v of order) await oneRound(v, { http: http.port, echo: echo.port, sink: sink.port });
    }
  } finally {
    await Promise.all([http.close(), echo.close(), sink.close()]);
  }
  const cols: Array<[string, Metric]> = [
    ['req/s', 'rps'],
    ['CPU µs/req', 'cpuPerReqUs'],
    ['HTTP-layer req/s', 'httpRps'],
    ['HTTP-layer CPU µs/req', 'httpCpuPerReqUs'],
    ['bulk MiB/s', 'mibPerSec'],
    ['CPU ms/GiB', 'cpuPerGiBMs'],
    ['new conn/s', 'connPerSec'],
    ['CPU µs/conn', 'cpuPerConnUs'],
  ];
  const out: string[] = [
    `Setup: one SmartProxy L4 forward route (bytes passed through unchanged) and the same route with action.protocol "http" (HTTP-layer columns: the HTTP engine, per-request routing and counting), metrics on vs off, ${ROUNDS} rounds ` +
      `alternating the order; each cell is the median over rounds. Small requests: autocannon, ${CONNECTIONS} kept-alive ` +
      `connections, ${DURATION} s after ${WARMUP} s warm-up, tiny HTTP/1.1 response. Bulk: ${fmt(BULK_BYTES / 1048576)} MiB ` +
      `through one connection to a sink. New connections: ${CONN_TOTAL} × (connect, 1-byte echo, the backend closes, then the client), ${CONN_CONCURRENCY} at ` +
      `a time, after ${CONN_WARMUP} s of warm-up connections. Proxy CPU = user+system time of the proxy process during the measurement (warm-ups excluded).`,
    '',
    markdownTable(
      ['variant', ...cols.map((c) => c[0])],
      (['off', 'on'] as const).map((v) => [LABEL[v], ...cols.map(([, k]) => fmt(med(v, k)))]),
    ),
    '',
    'Cost of metrics (on vs off; positive = slower or more CPU with metrics):',
    '',
    markdownTable(
      ['from', ...cols.map((c) => c[0])],
      [
        ['medians', ...cols.map(([, k]) => cost(k, higherIsBetter(k)))],
        ['median of per-round pairs', ...cols.map(([, k]) => pairedCost(k, higherIsBetter(k)))],
      ],
    ),
    '',
    'Per round (off / on):',
    '',
    markdownTable(
      ['round', ...cols.map((c) => c[0])],
      samples.off.map((off, i) => [String(i + 1), ...cols.map(([, k]) => `${fmt(off[k])} / ${fmt(samples.on[i]?.[k])}`)]),
    ),
  ];
  out.push('', ...(await hookCost()));
  if (notes.length > 0) out.push('', 'Notes:', '', ...notes.map((n) => `- ${n}`));
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * The collector's own cost, timed directly: the hooks a connection and a request call, run in a
 * loop on the real MetricsCollector, as a share of the proxy CPU measured above (metrics on).
 * Rates on a shared 2-core machine move by more than the target between rounds; this figure
 * does not depend on them.
 */
async function hookCost(): Promise<string[]> {
  const file = process.env.BENCH_SMARTPROXY_MODULE
    ? new URL('./metrics/metrics-collector.js', pathToFileURL(resolve(process.env.BENCH_SMARTPROXY_MODULE))).href
    : pathToFileURL(resolve(REPO_ROOT, 'dist_ts/metrics/metrics-collector.js')).href;
  const tickerFile = file.replace('/metrics/metrics-collector.js', '/core/ticker.js');
  const { MetricsCollector } = (await import(file)) as typeof import('../ts/metrics/metrics-collector.js');
  const { Ticker } = (await import(tickerFile)) as typeof import('../ts/core/ticker.js');
  const clock = { now: () => Date.now() };
  const mc = new MetricsCollector({ clock, ticker: new Ticker(clock, { manual: true }) });
  const N = 200_000;
  const conns = Array.from({ length: N }, () => ({
    clientIp: '127.0.0.1',
    startTime: Date.now(),
    routeName: undefined as string | undefined,
    bytesIn: () => 1000,
    bytesOut: () => 2000,
    metricsSampledIn: 0,
    metricsSampledOut: 0,
  }));
  const perConn = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const c = conns[i]!;
      mc.connectionOpened(c);
      mc.connectionRouted(c, 'bench');
      mc.requestServed('bench', c.clientIp);
      mc.connectionClosed(c);
      mc.connectionEnded('client', 'closed');
    }
  };
  perConn(0, 20_000); // warm-up
  let t = process.hrtime.bigint();
  perConn(20_000, N);
  const connNs = Number(process.hrtime.bigint() - t) / (N - 20_000);
  t = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) mc.requestServed('bench', '127.0.0.1');
  const reqNs = Number(process.hrtime.bigint() - t) / 1_000_000;
  const cpuConnUs = med('on', 'cpuPerConnUs');
  const cpuReqUs = med('on', 'httpCpuPerReqUs');
  return [
    'Direct cost of the collector hooks (timed in a loop on the real MetricsCollector):',
    '',
    markdownTable(
      ['unit', 'hook time', 'proxy CPU per unit above (metrics on)', 'share'],
      [
        ['connection (open, route, request, close, 2 terminations)', `${fmt(connNs)} ns`, `${fmt(cpuConnUs)} µs`, `${((connNs / 1000 / cpuConnUs) * 100).toFixed(2)} %`],
        ['HTTP request (requestServed)', `${fmt(reqNs)} ns`, `${fmt(cpuReqUs)} µs`, `${((reqNs / 1000 / cpuReqUs) * 100).toFixed(2)} %`],
      ],
    ),
    '',
    'Bytes cost nothing per chunk: they are read from the sockets\' own counters once per second per open connection.',
  ];
}

main().catch((e: unknown) => {
  process.stderr.write(`metrics benchmark failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
