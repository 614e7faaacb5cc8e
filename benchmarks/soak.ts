/**
 * Soak: SmartProxy under steady mixed traffic for SOAK_SECONDS (default 600), watched once a
 * second from inside its own process, to show whether memory, handles and connection records
 * stay flat and return to zero. Not part of `npm test`; `npm run soak` runs it alone
 * (`npm run bench` runs it with the other benchmarks).
 *
 * Processes (all on 127.0.0.1, ports picked free by the kernel):
 *   proxy    lib/soak-proxy-child.ts: SmartProxy with plain HTTP (keep-alive and close, WebSocket),
 *            HTTPS terminated at the proxy (WebSocket too), TLS passthrough by SNI on the same
 *            port, and L4 TCP forwarding; samples itself every second (heapUsed, RSS, active
 *            resources and the TCP sockets among them, getDiagnostics().connectionRecords) and a
 *            forced full GC every SOAK_GC_EVERY samples (heap/RSS after it, resources by name).
 *   stable   lib/soak-backend-child.ts: HTTP app (+ WebSocket echo), TLS echo, TCP echo.
 *   flaky    the same HTTP app and a TCP echo, SIGKILLed every SOAK_FLAP_EVERY_SECONDS (60) and
 *            forked again on the same ports SOAK_FLAP_DOWN_SECONDS (5) later: the proxy sees
 *            broken keep-alive sockets, refused connects and answers 502.
 *   this     the load (lib/soak-load.ts: fixed rates, ~1,200 operations/s at SOAK_RATE 1,
 *            including clients that destroy or reset mid-request, mid-response and
 *            mid-handshake), the flaps, the analysis, docs/soak.json and docs/soak.png.
 * At the end: the load stops (held connections closed, operations in flight awaited, idle
 * keep-alive sockets closed), SOAK_SETTLE_SECONDS (5) later the records must be 0 (else a
 * FAIL line and exit 1); then proxy.stop() and a last look at its handles.
 * Knobs (env): SOAK_SECONDS, SOAK_WARMUP_SECONDS (default min(60, SOAK_SECONDS/6)),
 * SOAK_RATE (multiplies every rate), SOAK_FLAP_EVERY_SECONDS, SOAK_FLAP_DOWN_SECONDS,
 * SOAK_FLAP_FIRST_SECONDS (30), SOAK_SETTLE_SECONDS, SOAK_DRAIN_WATCH_SECONDS (60: how long records
 * left after SETTLE are watched), SOAK_GC_EVERY (10), SOAK_OUT_DIR (docs/), SOAK_ONLY (comma list
 * of load kinds or groups, to isolate one), SOAK_PROXY_OPTIONS (JSON over the proxy options),
 * BENCH_SMARTPROXY_MODULE. Prints markdown on stdout (scripts/run-bench.mjs collects it),
 * progress on stderr.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { createCertificateAuthority, createSignedCertificate } from '../ts/tls/self-signed.js';
import { freePort, REPO_ROOT, siblingScript, TSX_IMPORT } from './lib/net-util.js';
import { envNumber, fmt, markdownTable, median } from './lib/report.js';
import { flatness, windows, type IFlatness, type ISeriesSpec } from './lib/soak-analysis.js';
import { renderChartPng, type IChartPanel, type IChartPoint } from './lib/soak-chart.js';
import { LOAD_GROUPS, SoakLoad, type LoadGroup } from './lib/soak-load.js';
import {
  APP_HOST,
  PASS_HOST,
  type IProxySample,
  type ISoakProxyConfig,
  type ISoakProxyPorts,
  type ISoakTargets,
  type SoakBackendConfig,
  type SoakBackendToParent,
  type SoakProxyToParent,
} from './lib/soak-protocol.js';

const SOAK_SECONDS = envNumber('SOAK_SECONDS', 600);
const WARMUP = envNumber('SOAK_WARMUP_SECONDS', Math.min(60, Math.round(SOAK_SECONDS / 6)));
const RATE = envNumber('SOAK_RATE', 1);
const FLAP_EVERY = envNumber('SOAK_FLAP_EVERY_SECONDS', 60);
const FLAP_DOWN = envNumber('SOAK_FLAP_DOWN_SECONDS', 5);
const FLAP_FIRST = envNumber('SOAK_FLAP_FIRST_SECONDS', Math.min(30, FLAP_EVERY / 2));
const SETTLE = envNumber('SOAK_SETTLE_SECONDS', 5);
const GC_EVERY = Math.round(envNumber('SOAK_GC_EVERY', 10));
const OUT_DIR = resolve(process.env.SOAK_OUT_DIR ?? join(REPO_ROOT, 'docs'));
/** After SETTLE, how much longer records that are not yet 0 are watched (to tell slow from stuck). */
const EXTRA_DRAIN_SECONDS = envNumber('SOAK_DRAIN_WATCH_SECONDS', 60);
/** Only these load kinds or groups (comma list; default all), to find which one misbehaves. */
const ONLY = (process.env.SOAK_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
/** JSON merged into the proxy's options (e.g. '{"gracefulShutdownTimeout":1000}'). */
const PROXY_OPTIONS = JSON.parse(process.env.SOAK_PROXY_OPTIONS ?? '{}') as Record<string, unknown>;

const PROXY_CHILD = siblingScript(join(import.meta.dirname, 'lib'), 'soak-proxy-child');
const BACKEND_CHILD = siblingScript(join(import.meta.dirname, 'lib'), 'soak-backend-child');

const log = (msg: string): void => {
  process.stderr.write(`[soak] ${msg}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (b: number): number => b / 1048576;

// ---------------------------------------------------------------- child processes

interface IForked<M> {
  child: ChildProcess;
  ready: M;
  exited: Promise<void>;
}

function forkChild<M extends { type: string }>(file: string, config: object, name: string, nodeArgs: string[] = []): Promise<IForked<M>> {
  const child = fork(file, [JSON.stringify(config)], { execArgv: [...TSX_IMPORT, ...nodeArgs], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: not ready within 30 s`));
    }, 30_000);
    const onMsg = (m: M): void => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMsg);
        resolveReady({ child, ready: m, exited });
      } else if (m.type === 'error') {
        clearTimeout(timer);
        child.off('message', onMsg);
        reject(new Error(`${name}: ${(m as unknown as { message: string }).message}`));
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited (${code ?? signal}) before ready`));
    });
  });
}

async function stopChild(c: IForked<unknown> | undefined): Promise<void> {
  if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return;
  if (c.child.connected) c.child.send({ type: 'stop' });
  const t = setTimeout(() => c.child.kill('SIGKILL'), 5000);
  await c.exited;
  clearTimeout(t);
}

/** The backend that is killed (SIGKILL) and restarted on the same ports. */
class FlakyBackend {
  private current: IForked<SoakBackendToParent> | undefined;
  readonly bands: Array<{ start: number; end: number }> = [];
  private downSince: number | undefined;
  constructor(
    private readonly cfg: Extract<SoakBackendConfig, { kind: 'flaky' }>,
    private readonly t0: () => number,
  ) {}

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  async start(): Promise<void> {
    this.current = await forkChild<SoakBackendToParent>(BACKEND_CHILD, this.cfg, 'flaky backend');
    if (this.downSince !== undefined) {
      this.bands.push({ start: this.downSince, end: this.now() });
      this.downSince = undefined;
    }
  }

  kill(): void {
    if (!this.current || this.isDown) return;
    this.current.child.kill('SIGKILL');
    this.current = undefined;
    this.downSince = this.now();
  }

  async close(): Promise<void> {
    await stopChild(this.current);
  }

  private now(): number {
    return (Date.now() - this.t0()) / 1000;
  }
}

// ---------------------------------------------------------------- run

interface ISampleRow extends IProxySample {
  /** Seconds since the load started. */
  t: number;
}

interface IRunResult {
  samples: ISampleRow[];
  load: SoakLoad;
  flaky: FlakyBackend;
  loadEnd: number;
  loadStopped: number;
  leftInFlight: number;
  recordsAtSettle: number | undefined;
  settleAt: number;
  drained: { at: number; records: number } | undefined;
  stopped: Extract<SoakProxyToParent, { type: 'stopped' }> | undefined;
  crash: string | undefined;
  targets: ISoakTargets;
  /** The proxy's TCP sockets by role and state SETTLE s after the load stopped. */
  socketsAtSettle: Record<string, number> | undefined;
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

async function run(): Promise<IRunResult> {
  log('making certificates');
  const ca = createCertificateAuthority({ commonName: 'SmartProxy Soak CA' });
  const appCert = createSignedCertificate(ca, [APP_HOST]);
  const passCert = createSignedCertificate(ca, [PASS_HOST]);

  const [pHttp, pTls, pTcp, pTcpFlaky, fHttp, fEcho] = await distinctFreePorts(6);
  const ports: ISoakProxyPorts = { http: pHttp!, tls: pTls!, tcp: pTcp!, tcpFlaky: pTcpFlaky! };
  let t0 = 0;
  const stable = await forkChild<SoakBackendToParent>(BACKEND_CHILD, { kind: 'stable', passCert } satisfies SoakBackendConfig, 'stable backends');
  const flaky = new FlakyBackend({ kind: 'flaky', httpPort: fHttp!, echoPort: fEcho! }, () => t0);
  let proxy: IForked<SoakProxyToParent> | undefined;
  try {
    await flaky.start();
    const st = stable.ready.type === 'ready' ? stable.ready.targets : {};
    const targets: ISoakTargets = { app: st.app!, tlsEcho: st.tlsEcho!, echo: st.echo!, flakyHttp: fHttp!, flakyEcho: fEcho! };
    const cfg: ISoakProxyConfig = { ports, targets, appCert, gcEvery: GC_EVERY, options: PROXY_OPTIONS };
    proxy = await forkChild<SoakProxyToParent>(PROXY_CHILD, cfg, 'proxy', ['--expose-gc']);
    const proxyChild = proxy.child;

    const samples: ISampleRow[] = [];
    let crash: string | undefined;
    let stopped: Extract<SoakProxyToParent, { type: 'stopped' }> | undefined;
    let stopRequested = false;
    let socketsReply: Record<string, number> | undefined;
    proxyChild.on('message', (m: SoakProxyToParent) => {
      if (m.type === 'sample') samples.push({ ...m.sample, t: (m.sample.ts - t0) / 1000 });
      else if (m.type === 'sockets') socketsReply = m.sockets;
      else if (m.type === 'stopped') stopped = m;
      else if (m.type === 'error') crash ??= m.message;
    });
    proxyChild.once('exit', (code, signal) => {
      if (!stopRequested) crash ??= `the proxy process exited (${code ?? signal}) during the run`;
    });

    t0 = Date.now();
    proxyChild.send({ type: 'begin' });
    const load = new SoakLoad({ ports, ca: ca.cert, rateScale: RATE, t0, only: ONLY });
    load.start();
    log(`load started: ${SOAK_SECONDS} s, warm-up ${WARMUP} s, rate x${RATE}; flaky backend down ${FLAP_DOWN} s every ${FLAP_EVERY} s from ${FLAP_FIRST} s`);

    // Flaps: kill at FLAP_FIRST + k * FLAP_EVERY, restart FLAP_DOWN later, none ending after the load.
    let flapTimer: NodeJS.Timeout | undefined;
    let flapping = true;
    const restarting: Array<Promise<void>> = [];
    const scheduleFlap = (at: number): void => {
      if (at + FLAP_DOWN + 1 > SOAK_SECONDS) return;
      flapTimer = setTimeout(() => {
        if (!flapping) return;
        flaky.kill();
        log(`t=${at} s: flaky backend killed`);
        flapTimer = setTimeout(() => {
          restarting.push(
            flaky.start().then(
              () => log(`t=${((Date.now() - t0) / 1000).toFixed(0)} s: flaky backend up again`),
              (e: unknown) => log(`flaky backend restart failed (it stays down): ${e instanceof Error ? e.message : String(e)}`),
            ),
          );
          scheduleFlap(at + FLAP_EVERY);
        }, FLAP_DOWN * 1000);
      }, Math.max(0, t0 + at * 1000 - Date.now()));
    };
    scheduleFlap(FLAP_FIRST);

    // Progress every 10 s.
    const progress = setInterval(() => {
      const s = samples.at(-1);
      if (!s) return;
      const sec = Math.floor(s.t) - 1;
      let ok = 0;
      let err = 0;
      for (const [, [a, b]] of load.perSecond.get(sec) ?? new Map<string, [number, number]>()) {
        ok += a;
        err += b;
      }
      log(
        `t=${s.t.toFixed(0)} s heap ${mib(s.heapUsed).toFixed(1)} MiB, RSS ${mib(s.rss).toFixed(1)} MiB, handles ${s.handles} (TCP ${s.tcpSockets}), ` +
          `records ${s.records}, loop p99 ${s.loopP99Ms.toFixed(1)} ms; load ${ok} ok/s, ${err} err/s`,
      );
    }, 10_000);

    const deadline = t0 + SOAK_SECONDS * 1000;
    while (Date.now() < deadline && crash === undefined) await sleep(Math.min(500, deadline - Date.now()));
    const loadEnd = (Date.now() - t0) / 1000;
    flapping = false;
    clearTimeout(flapTimer);
    log(`t=${loadEnd.toFixed(0)} s: stopping the load`);
    const { leftInFlight } = await load.stop();
    const loadStopped = (Date.now() - t0) / 1000;
    await Promise.allSettled(restarting);
    if (flaky.isDown) await flaky.start();
    log(`load stopped at t=${loadStopped.toFixed(1)} s (${leftInFlight} operations still in flight); settling ${SETTLE} s`);

    // Records SETTLE seconds after the load stopped: from the first sample taken after that moment.
    const settleAt = loadStopped + SETTLE;
    const sampleAfter = async (t: number): Promise<ISampleRow | undefined> => {
      const until = Date.now() + 5000 + Math.max(0, t0 + t * 1000 - Date.now());
      for (;;) {
        const s = samples.at(-1);
        if (s && s.t >= t) return s;
        if (Date.now() > until || crash !== undefined) return undefined;
        await sleep(100);
      }
    };
    const atSettle = await sampleAfter(settleAt);
    // What the proxy's sockets are at that moment, by role (client@port / upstream->backend) and state.
    let socketsAtSettle: Record<string, number> | undefined;
    if (crash === undefined && proxyChild.connected) {
      proxyChild.send({ type: 'sockets' });
      const until = Date.now() + 3000;
      while (socketsReply === undefined && Date.now() < until) await sleep(50);
      socketsAtSettle = socketsReply;
    }
    let drained: { at: number; records: number } | undefined;
    if (atSettle && atSettle.records > 0) {
      log(`FAIL: ${atSettle.records} connection records ${SETTLE} s after the load stopped; watching them up to ${EXTRA_DRAIN_SECONDS} s more`);
      const end = settleAt + EXTRA_DRAIN_SECONDS;
      let last = atSettle;
      while (last.records > 0 && last.t < end && crash === undefined) {
        await sleep(1000);
        last = samples.at(-1) ?? last;
      }
      drained = { at: last.t, records: last.records };
    } else {
      // A few more samples of the idle proxy for the chart.
      await sampleAfter(settleAt + 3);
    }
    clearInterval(progress);

    stopRequested = true;
    if (crash === undefined && proxyChild.connected) {
      proxyChild.send({ type: 'stop' });
      const until = Date.now() + 40_000;
      while (stopped === undefined && crash === undefined && Date.now() < until) await sleep(100);
    }
    return { samples, load, flaky, loadEnd, loadStopped, leftInFlight, recordsAtSettle: atSettle?.records, settleAt, drained, stopped, crash, targets, socketsAtSettle };
  } finally {
    if (proxy) await stopChild(proxy);
    await flaky.close();
    await stopChild(stable);
  }
}

// ---------------------------------------------------------------- report

const SERIES: Array<ISeriesSpec<ISampleRow>> = [
  { key: 'heapAfterGc', label: 'heap after forced GC', unit: 'MiB', value: (s) => (s.heapAfterGc === undefined ? undefined : mib(s.heapAfterGc)), absTolerance: 1, relTolerance: 0.05 },
  { key: 'heapUsed', label: 'heapUsed (every second, no GC)', unit: 'MiB', value: (s) => mib(s.heapUsed), absTolerance: 2, relTolerance: 0.1 },
  { key: 'rss', label: 'RSS', unit: 'MiB', value: (s) => mib(s.rss), absTolerance: 8, relTolerance: 0.1 },
  { key: 'handles', label: 'active handles (getActiveResourcesInfo)', unit: '', value: (s) => s.handles, absTolerance: 10, relTolerance: 0.1 },
  { key: 'tcpSockets', label: 'TCP sockets among them', unit: '', value: (s) => s.tcpSockets, absTolerance: 10, relTolerance: 0.1 },
  { key: 'records', label: 'connection records', unit: '', value: (s) => s.records, absTolerance: 10, relTolerance: 0.1 },
  { key: 'metricsTrackedIps', label: 'metrics tracked IPs', unit: '', value: (s) => s.metricsTrackedIps, absTolerance: 1, relTolerance: 0 },
  { key: 'tickerTasks', label: 'ticker tasks', unit: '', value: (s) => s.tickerTasks, absTolerance: 2, relTolerance: 0 },
];

const GROUP_COLORS: Record<LoadGroup, string> = {
  http: '#4c78a8',
  https: '#f58518',
  ws: '#54a24b',
  'tls-pass': '#b279a2',
  tcp: '#72b7b2',
  flaky: '#e45756',
  abort: '#9d755d',
};

function num(n: number, digits = 1): string {
  return fmt(n, digits);
}

function signed(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return 'n/a';
  const s = Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits);
  return n > 0 ? `+${s}` : s;
}

function loadRows(r: IRunResult): Array<{ t: number; ok: Record<string, number>; err: Record<string, number> }> {
  const secs = [...r.load.perSecond.keys()].sort((a, b) => a - b);
  return secs.map((sec) => {
    const ok: Record<string, number> = {};
    const err: Record<string, number> = {};
    for (const [kind, [a, b]] of r.load.perSecond.get(sec)!) {
      if (a) ok[kind] = a;
      if (b) err[kind] = b;
    }
    return { t: sec, ok, err };
  });
}

function chartPanels(r: IRunResult): IChartPanel[] {
  const pts = (series: string, f: (s: ISampleRow) => number | undefined): IChartPoint[] =>
    r.samples.flatMap((s) => {
      const v = f(s);
      return v === undefined ? [] : [{ t: s.t, series, value: v }];
    });
  let prevCpu: ISampleRow | undefined;
  const cpuPts: IChartPoint[] = [];
  for (const s of r.samples) {
    if (prevCpu) cpuPts.push({ t: s.t, series: 'proxy CPU %', value: ((s.cpuMs - prevCpu.cpuMs) / ((s.ts - prevCpu.ts) || 1)) * 100 });
    prevCpu = s;
  }
  const okPts: IChartPoint[] = [];
  const errPts: IChartPoint[] = [];
  for (const row of loadRows(r)) {
    const ok = new Map<LoadGroup, number>(LOAD_GROUPS.map((g) => [g, 0]));
    const err = new Map<LoadGroup, number>(LOAD_GROUPS.map((g) => [g, 0]));
    for (const [k, v] of Object.entries(row.ok)) ok.set(r.load.groupOf(k), (ok.get(r.load.groupOf(k)) ?? 0) + v);
    for (const [k, v] of Object.entries(row.err)) err.set(r.load.groupOf(k), (err.get(r.load.groupOf(k)) ?? 0) + v);
    for (const g of LOAD_GROUPS) {
      okPts.push({ t: row.t + 0.5, series: g, value: ok.get(g)! });
      errPts.push({ t: row.t + 0.5, series: g, value: err.get(g)! });
    }
  }
  const groups = LOAD_GROUPS.map((g) => ({ name: g, color: GROUP_COLORS[g] }));
  return [
    {
      title: 'Heap (MiB)',
      yTitle: 'MiB',
      series: [
        { name: 'heapUsed (each second)', color: '#4c78a8' },
        { name: 'heap after forced GC', color: '#e45756' },
      ],
      points: [...pts('heapUsed (each second)', (s) => mib(s.heapUsed)), ...pts('heap after forced GC', (s) => (s.heapAfterGc === undefined ? undefined : mib(s.heapAfterGc)))],
    },
    {
      title: 'Resident set size (MiB)',
      yTitle: 'MiB',
      series: [
        { name: 'RSS', color: '#4c78a8' },
        { name: 'external + array buffers', color: '#72b7b2' },
      ],
      points: [...pts('RSS', (s) => mib(s.rss)), ...pts('external + array buffers', (s) => mib(s.external))],
    },
    {
      title: 'Open handles in the proxy process',
      yTitle: 'count',
      series: [
        { name: 'active resources', color: '#4c78a8' },
        { name: 'TCP sockets', color: '#f58518' },
      ],
      points: [...pts('active resources', (s) => s.handles), ...pts('TCP sockets', (s) => s.tcpSockets)],
    },
    {
      title: 'Connection records (getDiagnostics) and active connections (getStats)',
      yTitle: 'count',
      series: [
        { name: 'connection records', color: '#4c78a8' },
        { name: 'active (metrics)', color: '#f58518' },
      ],
      points: [...pts('connection records', (s) => s.records), ...pts('active (metrics)', (s) => s.active)],
    },
    { title: 'Load: operations done per second, by group', yTitle: 'ops/s', series: groups, points: okPts },
    { title: 'Load: failed operations per second, by group', yTitle: 'failed/s', series: groups, points: errPts },
    {
      title: 'Proxy CPU (% of one core) and event-loop delay p99 (ms)',
      yTitle: '% / ms',
      series: [
        { name: 'proxy CPU %', color: '#4c78a8' },
        { name: 'event-loop p99 ms', color: '#e45756' },
      ],
      points: [...cpuPts, ...pts('event-loop p99 ms', (s) => s.loopP99Ms)],
    },
  ];
}

/** Failures of the flaky kinds inside a down band (+3 s for the proxy and pool to notice the restart) vs outside. */
function flakyErrorSplit(r: IRunResult): { inside: number; outside: number; outsideSeconds: number[] } {
  let inside = 0;
  let outside = 0;
  const outsideSeconds: number[] = [];
  for (const [sec, m] of r.load.perSecond) {
    let e = 0;
    for (const [k, [, b]] of m) if (r.load.groupOf(k) === 'flaky') e += b;
    if (e === 0) continue;
    const inBand = r.flaky.bands.some((b) => sec + 1 > b.start && sec < b.end + 3);
    if (inBand) inside += e;
    else {
      outside += e;
      outsideSeconds.push(sec);
    }
  }
  return { inside, outside, outsideSeconds: outsideSeconds.sort((a, b) => a - b) };
}

function report(r: IRunResult, flat: IFlatness[], files: string[], chartError: string | undefined): { text: string; failed: boolean } {
  const out: string[] = [];
  const w = windows(WARMUP, r.loadEnd);
  const failures: string[] = [];
  out.push(
    'Setup: SmartProxy (built package, metrics on, per-IP limits lifted, other options default) in a process of its own; stable backends ' +
      '(node:http app with a `ws` WebSocket echo, TLS echo, TCP echo) in another; a flaky backend (HTTP app and TCP echo) in a third that is ' +
      `SIGKILLed every ${FLAP_EVERY} s (first at ${FLAP_FIRST} s) and forked again on the same ports ${FLAP_DOWN} s later; the load in the benchmark process; all on 127.0.0.1. ` +
      'Routes: plain HTTP (app.soak with WebSocket, flaky.soak), one TLS port routed by SNI (app.soak terminated at the proxy with WebSocket, ' +
      'pass.soak passed through to the TLS echo), L4 TCP to the echo and to the flaky echo. The load runs each kind of operation at a fixed rate ' +
      'with a cap on operations in flight (table below), including clients that destroy or reset mid-request, mid-response and mid-handshake. ' +
      `The proxy samples itself every second (heapUsed, RSS, process.getActiveResourcesInfo() and the TCPSocketWrap entries among them, ` +
      `getDiagnostics().connectionRecords) and forces a full GC every ${GC_EVERY} s for the after-GC heap. ` +
      `Flatness: median of the first ${w.window} s after a ${WARMUP} s warm-up vs median of the last ${w.window} s of load, and the least-squares ` +
      `slope per minute over that span. At the end the load stops, and ${SETTLE} s later the proxy must hold 0 connection records; then proxy.stop().`,
    '',
    `Run it: \`npm run soak\` (10 minutes; \`SOAK_SECONDS=90 npm run soak\` for a short run; knobs in benchmarks/soak.ts). ` +
      `Writes ${files.map((f) => `\`${f}\``).join(' and ')}; never part of \`npm test\`.`,
    '',
    `This run: ${SOAK_SECONDS} s of load (SOAK_SECONDS=${SOAK_SECONDS}), rate ×${RATE}, ${r.flaky.bands.length} backend kill(s), ${r.samples.length} samples.`,
    '',
  );

  // Records at the end.
  if (r.crash !== undefined) {
    failures.push(`the proxy process failed: ${r.crash.split('\n')[0]}`);
    out.push(`**FAIL: the proxy process failed during the run: ${r.crash.split('\n')[0]}**`, '');
  }
  if (r.recordsAtSettle === undefined) {
    failures.push('no sample after the load stopped');
    out.push('**FAIL: no sample of the proxy after the load stopped.**', '');
  } else if (r.recordsAtSettle === 0) {
    out.push(`**PASS: 0 connection records ${SETTLE} s after the load stopped.**`, '');
  } else {
    failures.push(`${r.recordsAtSettle} connection records ${SETTLE} s after the load stopped`);
    const then = r.drained ? (r.drained.records === 0 ? `; 0 at t=${r.drained.at.toFixed(0)} s` : `; still ${r.drained.records} at t=${r.drained.at.toFixed(0)} s`) : '';
    out.push(`**FAIL: ${r.recordsAtSettle} connection records ${SETTLE} s after the load stopped (must be 0)${then}.**`, '');
  }

  // Flatness.
  out.push(
    markdownTable(
      ['measure (proxy process)', 'first after warm-up', `median ${w.warmup}-${w.warmup + w.window} s`, `median ${Math.round(w.end - w.window)}-${Math.round(w.end)} s`, 'growth', 'slope per minute', 'tolerance', 'verdict'],
      flat.map((f) => [
        `${f.label}${f.unit ? ` (${f.unit})` : ''}`,
        num(f.start),
        num(f.firstMedian),
        num(f.lastMedian),
        signed(f.growth),
        signed(f.slopePerMinute),
        `±${num(f.tolerance)}`,
        f.verdict,
      ]),
    ),
    '',
  );
  const grows = flat.filter((f) => f.verdict === 'GROWS');
  if (grows.length > 0) out.push(`**Not flat after warm-up: ${grows.map((f) => `${f.label} ${signed(f.growth)}${f.unit ? ` ${f.unit}` : ''}`).join(', ')}.**`, '');

  // The proxy after the load and after stop().
  const last = r.samples.filter((s) => s.t <= r.settleAt + 3.5).at(-1);
  const stoppedS = r.stopped?.sample;
  out.push(
    markdownTable(
      ['proxy process', 'records', 'active handles', 'TCP sockets', 'listeners', 'heap MiB', 'RSS MiB'],
      [
        ...(last ? [[`idle, ${(last.t - r.loadStopped).toFixed(0)} s after the load stopped`, String(last.records), String(last.handles), String(last.tcpSockets), String(last.tcpServers), num(mib(last.heapUsed)), num(mib(last.rss))]] : []),
        ...(stoppedS
          ? [[`after stop() (${num(r.stopped!.stopMs)} ms) + GC`, String(stoppedS.records), String(stoppedS.handles), String(stoppedS.tcpSockets), String(stoppedS.tcpServers), num(mib(stoppedS.heapAfterGc ?? stoppedS.heapUsed)), num(mib(stoppedS.rss))]]
          : [['after stop()', 'no answer', '', '', '', '', '']]),
      ],
    ),
    '',
  );
  const roles = (m: Record<string, number> | undefined): string =>
    m === undefined
      ? 'not reported'
      : Object.entries(m)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none';
  out.push(`The proxy's TCP sockets ${SETTLE} s after the load stopped, by role and state: ${roles(r.socketsAtSettle)}.`, '');
  if (stoppedS?.resources) {
    out.push(
      `Resources left after stop(): ${Object.entries(stoppedS.resources).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}` +
        `; TCP sockets by role and state: ${roles(r.stopped?.sockets)}.`,
      '',
    );
  }

  // Resources by name, first vs last after-GC sample in the measured span.
  const gcSamples = r.samples.filter((s) => s.resources && s.t >= WARMUP && s.t < r.loadEnd);
  const g0 = gcSamples[0];
  const g1 = gcSamples.at(-1);
  if (g0 && g1 && g0 !== g1) {
    const names = [...new Set([...Object.keys(g0.resources!), ...Object.keys(g1.resources!)])].sort();
    out.push(
      `Active resources by name at t=${g0.t.toFixed(0)} s and t=${g1.t.toFixed(0)} s (under load): ` +
        names.map((n) => `${n} ${g0.resources![n] ?? 0} → ${g1.resources![n] ?? 0}`).join(', ') +
        '.',
      '',
    );
  }

  // Traffic.
  const dur = r.loadEnd;
  const kinds = r.load.kindsTotals();
  out.push(
    markdownTable(
      ['operation', 'group', 'what', 'target /s', 'done', 'done /s', 'failed', 'dropped (cap)', 'failures by reason'],
      kinds.map((k) => [
        k.kind,
        k.group,
        k.describe,
        k.rate > 0 ? num(k.rate, 0) : '—',
        k.ok.toLocaleString('en-US'),
        num(k.ok / dur),
        k.err.toLocaleString('en-US'),
        k.dropped.toLocaleString('en-US'),
        [...k.reasons.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([why, n]) => `${why.replace(/\|/g, '/')} ×${n}`)
          .join('; '),
      ]),
    ),
    '',
  );
  const totalOk = kinds.reduce((a, k) => a + k.ok, 0);
  const totalErr = kinds.reduce((a, k) => a + k.err, 0);
  const stableErr = kinds.filter((k) => k.group !== 'flaky').reduce((a, k) => a + k.err, 0);
  const split = flakyErrorSplit(r);
  out.push(
    `Total: ${totalOk.toLocaleString('en-US')} operations done (${num(totalOk / dur, 0)}/s), ${totalErr.toLocaleString('en-US')} failed. ` +
      `Failures on routes whose backend never went down: ${stableErr.toLocaleString('en-US')}. ` +
      `Failures to the flaky backend: ${split.inside.toLocaleString('en-US')} while it was down (or within 3 s of its restart), ${split.outside.toLocaleString('en-US')} outside` +
      (split.outside > 0 ? ` (seconds ${split.outsideSeconds.slice(0, 12).join(', ')}${split.outsideSeconds.length > 12 ? ', …' : ''})` : '') +
      `. Backend down: ${r.flaky.bands.map((b) => `${b.start.toFixed(0)}-${b.end.toFixed(0)} s`).join(', ') || 'never'}. ` +
      `Load stopped ${(r.loadStopped - r.loadEnd).toFixed(1)} s after it was told to (${r.leftInFlight} operations still in flight then).`,
    '',
  );
  const lastSample = r.samples.at(-1);
  const underLoad = r.samples.filter((s) => s.t >= WARMUP && s.t < r.loadEnd);
  const c0 = underLoad[0];
  const c1 = underLoad.at(-1);
  const cpuShare = c0 && c1 && c1 !== c0 ? ((c1.cpuMs - c0.cpuMs) / (c1.ts - c0.ts)) * 100 : Number.NaN;
  const loopP99 = median(underLoad.map((s) => s.loopP99Ms));
  out.push(
    `Proxy process under load (after warm-up): ${num(cpuShare)} % of one core, ` +
      `event-loop delay p99 median ${num(loopP99)} ms; ${lastSample?.requestsTotal.toLocaleString('en-US') ?? '?'} HTTP requests and ` +
      `${lastSample?.connectionsTotal.toLocaleString('en-US') ?? '?'} connections counted by getStats(); logger: ${lastSample?.logWarn ?? '?'} warn, ${lastSample?.logError ?? '?'} error` +
      (r.stopped && r.stopped.firstLogs.length > 0 ? ` (first: ${r.stopped.firstLogs.slice(0, 5).map((l) => `\`${l.replace(/`/g, "'")}\``).join(', ')})` : '') +
      '.',
    '',
  );
  if (chartError) out.push(`Chart not drawn: ${chartError}`, '');
  else out.push(`![Soak: heap, RSS, handles, connection records and load over time](${relative(join(REPO_ROOT, 'docs'), join(OUT_DIR, 'soak.png')).split('\\').join('/')})`, '');
  out.push(`Machine: Node ${process.version}, ${cpus()[0]?.model?.trim() ?? 'unknown CPU'}, nproc ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM.`);
  if (failures.length > 0) out.push('', ...failures.map((f) => `FAIL: ${f}`));
  return { text: out.join('\n') + '\n', failed: failures.length > 0 };
}

async function main(): Promise<void> {
  const r = await run();
  const w = windows(WARMUP, r.loadEnd);
  const flat = SERIES.map((s) => flatness(r.samples, s, w));
  mkdirSync(OUT_DIR, { recursive: true });
  const jsonFile = join(OUT_DIR, 'soak.json');
  const pngFile = join(OUT_DIR, 'soak.png');
  const rel = (f: string): string => {
    const r = relative(REPO_ROOT, f);
    return r && !r.startsWith('..') ? r : f;
  };

  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    soakSeconds: SOAK_SECONDS,
    warmupSeconds: WARMUP,
    windowSeconds: w.window,
    rateScale: RATE,
    flap: { everySeconds: FLAP_EVERY, downSeconds: FLAP_DOWN, firstSeconds: FLAP_FIRST, bands: r.flaky.bands },
    gcEverySamples: GC_EVERY,
    loadEnd: r.loadEnd,
    loadStopped: r.loadStopped,
    settleSeconds: SETTLE,
    recordsAtSettle: r.recordsAtSettle ?? null,
    drained: r.drained ?? null,
    crash: r.crash ?? null,
    socketsAtSettle: r.socketsAtSettle ?? null,
    afterStop: r.stopped ? { stopMs: r.stopped.stopMs, sample: r.stopped.sample, firstLogs: r.stopped.firstLogs, sockets: r.stopped.sockets } : null,
    flatness: flat,
    kinds: r.load.kindsTotals().map((k) => ({ ...k, reasons: Object.fromEntries(k.reasons) })),
    fields: 'samples: the proxy process each second (bytes, counts; t = seconds since the load started); load: operations per second of completion, ok and err by kind',
  };
  const lines = (xs: unknown[]): string => (xs.length === 0 ? '[]' : `[\n${xs.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]`);
  const samplesOut = r.samples.map(({ ts: _ts, ...s }) => ({ ...s, t: Math.round(s.t * 1000) / 1000 }));
  writeFileSync(jsonFile, `{\n  "meta": ${JSON.stringify(meta)},\n  "samples": ${lines(samplesOut)},\n  "load": ${lines(loadRows(r))}\n}\n`);
  log(`wrote ${rel(jsonFile)}`);

  let chartError: string | undefined;
  try {
    const heapGc = flat.find((f) => f.key === 'heapAfterGc')!;
    const rss = flat.find((f) => f.key === 'rss')!;
    const handles = flat.find((f) => f.key === 'handles')!;
    const records = flat.find((f) => f.key === 'records')!;
    const recordsEnd = r.recordsAtSettle === undefined ? 'no sample' : String(r.recordsAtSettle);
    const size = await renderChartPng(
      {
        title: `SmartProxy soak: ${SOAK_SECONDS} s of mixed traffic (${new Date().toISOString().slice(0, 10)}, Node ${process.version})`,
        subtitle: [
          `Connection records ${SETTLE} s after the load stopped: ${recordsEnd}${r.recordsAtSettle === 0 ? ' (pass)' : ' (FAIL: must be 0)'}${r.crash ? '; the proxy process FAILED' : ''}.`,
          `After the ${WARMUP} s warm-up, median of the first vs the last ${w.window} s of load: heap after GC ${num(heapGc.firstMedian)} → ${num(heapGc.lastMedian)} MiB ` +
            `(${signed(heapGc.slopePerMinute)}/min), RSS ${num(rss.firstMedian)} → ${num(rss.lastMedian)} MiB (${signed(rss.slopePerMinute)}/min),`,
          `handles ${num(handles.firstMedian)} → ${num(handles.lastMedian)} (${signed(handles.slopePerMinute)}/min), records ${num(records.firstMedian)} → ${num(records.lastMedian)} (${signed(records.slopePerMinute)}/min).`,
          'Red bands: flaky backend killed (SIGKILL) and down. Dashed lines: end of warm-up; load stopped. Sampled in the proxy process once a second.',
        ],
        tMax: Math.ceil(r.samples.at(-1)?.t ?? r.loadEnd),
        warmupEnd: WARMUP,
        loadEnd: r.loadEnd,
        downBands: r.flaky.bands,
        panels: chartPanels(r),
      },
      pngFile,
    );
    log(`wrote ${rel(pngFile)} (${size.width}×${size.height})`);
  } catch (e) {
    chartError = e instanceof Error ? e.message : String(e);
    log(`chart failed: ${e instanceof Error ? e.stack : String(e)}`);
  }

  const { text, failed } = report(r, flat, [rel(jsonFile), rel(pngFile)], chartError);
  process.stdout.write(text);
  for (const line of text.split('\n')) if (line.startsWith('FAIL')) log(line);
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`soak failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
