/**
 * The timer precision table. For each per-connection deadline, 50 connections are driven
 * into it and each one's close is timed from the moment its deadline started:
 *
 *   initial data    initialDataTimeout     from accept (nothing sent / half a ClientHello, on an SNI port)
 *   TLS handshake   initialDataTimeout     from a full ClientHello on a terminating route, then silence
 *   backend connect connectionTimeout      from accept, backend whose TCP handshake never completes
 *   response head   responseTimeout        from the request sent, backend that never answers (504)
 *   request head    headersTimeout         from the first byte of a request head that never completes (408)
 *   client idle     socketTimeout          from the last byte, L4
 *   inactivity      inactivityTimeout      from the last byte, L4, keepAliveTreatment 'standard'
 *   lifetime        maxConnectionLifetime  from accept, L4, a byte every 500 ms (never idle)
 *   half-close      halfCloseTimeout       from the client's FIN, backend ignores it
 *   drain on stop   gracefulShutdownTimeout from stop(), idle connections
 *
 * Every observation must lie within [value - 5 ms, value + max(10 % of value, 250 ms)].
 * The deadlines run concurrently in two waves (each its own proxy); the table is printed with
 * min / median / max. Values are 1000-1500 ms so the file stays short (~10 s).
 */
import { test, before } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import {
  Rig,
  NO_IP_LIMITS,
  captureClientHello,
  freePort,
  get,
  median,
  recordCloses,
  scripts,
  delay,
  waitForEmptyBooks,
  waitForResourceBaseline,
  exitWhenDone,
  type CloseEvent,
  type CloseReason,
  type LifecycleOptions,
  type Probe,
} from './kit.js';
import { testCert } from '../helpers/certs.js';
import type { IRouteConfig, SmartProxy } from '../../ts/index.js';

exitWhenDone();

const N = 50;
const EARLY_SLACK_MS = 5;
const allowedLate = (value: number): number => Math.max(0.1 * value, 250);

interface Observation {
  /** ms from each connection's deadline start to its observed close; undefined = still open. */
  samples: Array<number | undefined>;
  /** Status codes seen by the clients (HTTP deadlines). */
  statuses: Array<number | undefined>;
  closes: CloseEvent[];
  /** Extra lines for the table (e.g. how long stop() took). */
  notes: string[];
  /** Extra samples checked against the same window (stop()'s own duration). */
  extra: number[];
}

interface Deadline {
  name: string;
  option: string;
  value: number;
  reason: CloseReason;
  status?: number;
  wave: 1 | 2;
  run(rig: Rig, value: number): Promise<Observation>;
}

const HTTP_HOST = 'timer.lifecycle.test';
const SNI_HOST = 'sni.timer.lifecycle.test';
const TLS_HOST = 'tls.timer.lifecycle.test';

function l4(port: number, backendPort: number): IRouteConfig {
  return { name: 'l4', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } } };
}

function http(port: number, backendPort: number): IRouteConfig {
  return { name: 'http', match: { ports: port, domains: HTTP_HOST }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } } };
}

/** Options every proxy of the table gets: no per-IP limits, every other deadline far away. */
function base(routes: IRouteConfig[], extra: Omit<LifecycleOptions, 'routes'>): LifecycleOptions {
  return { routes, ...NO_IP_LIMITS, keepAliveTreatment: 'standard', ...extra };
}

async function proxyFor(rig: Rig, options: LifecycleOptions): Promise<{ proxy: SmartProxy; closes: CloseEvent[] }> {
  const proxy = await rig.proxy(options);
  return { proxy, closes: recordCloses(proxy) };
}

/**
 * Opens N probes one after the other (each connect is then ~1 ms, not queued behind 49
 * others). Each one's t0 is the moment just before its connect() call: the proxy cannot have
 * accepted it earlier, so a deadline that starts at accept is never seen as early (the
 * connect's own latency counts against the late side).
 */
async function openAll(rig: Rig, port: number, allowHalfOpen = false): Promise<Probe[]> {
  const probes: Probe[] = [];
  for (let i = 0; i < N; i++) {
    const p = await rig.connect(port, { allowHalfOpen, timeoutMs: 5000 });
    p.t0 = p.startedAt;
    probes.push(p);
  }
  return probes;
}

/** Waits for every probe to end (bounded at value + 3 s from its t0) and reads the samples. */
async function collect(probes: Probe[], value: number, closes: CloseEvent[], proxy: SmartProxy): Promise<Observation> {
  await Promise.all(probes.map((p) => p.waitEnded(Math.max(0, value + 3000 - (performance.now() - p.t0)))));
  // The records close with the clients; give the events a moment.
  await waitForEmptyBooks(proxy, 1000).catch(() => undefined);
  const obs: Observation = { samples: probes.map((p) => p.endMs), statuses: probes.map((p) => p.status), closes: [...closes], notes: [], extra: [] };
  for (const p of probes) p.destroy();
  return obs;
}

/**
 * Proves an echo round trip on each probe, one probe at a time (so each round trip is ~1 ms);
 * t0 is the moment the probe wrote its byte. The proxy's last traffic on the connection
 * (relaying the echo back) comes after it, so an idle deadline is never seen as early; the
 * round trip counts against the late side.
 */
async function echoAndMark(probes: Probe[]): Promise<void> {
  for (const p of probes) {
    const wrote = performance.now();
    p.socket.write('x');
    if (!(await p.waitText((s) => s.endsWith('x'), 2000))) throw new Error(`echo failed: ${p.describe()}`);
    p.t0 = wrote;
  }
}

const deadlines: Deadline[] = [
  {
    name: 'initial data',
    option: 'initialDataTimeout',
    value: 1000,
    reason: 'initial_data_timeout',
    wave: 1,
    async run(rig, value) {
      const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
      const port = await freePort();
      const route: IRouteConfig = {
        name: 'sni',
        match: { ports: port, domains: SNI_HOST },
        action: { type: 'forward', target: { host: '127.0.0.1', port: backend.port }, tls: { mode: 'passthrough' } },
      };
      const { proxy, closes } = await proxyFor(rig, base([route], { initialDataTimeout: value }));
      const hello = await captureClientHello(SNI_HOST);
      const probes = await openAll(rig, port);
      // Half of them send half a ClientHello at once; the other half nothing. t0 = connect.
      probes.forEach((p, i) => {
        if (i % 2 === 1) p.socket.write(hello.subarray(0, hello.length >> 1));
      });
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'TLS handshake',
    option: 'initialDataTimeout',
    value: 1200,
    reason: 'tls_handshake_timeout',
    wave: 1,
    async run(rig, value) {
      const backend = await rig.backend(scripts.answerEachRequest());
      const port = await freePort();
      const cert = testCert(TLS_HOST);
      const route: IRouteConfig = {
        name: 'tls',
        match: { ports: port, domains: TLS_HOST },
        action: { type: 'forward', target: { host: '127.0.0.1', port: backend.port }, tls: { mode: 'terminate', certificate: { key: cert.key, cert: cert.cert } } },
      };
      const { proxy, closes } = await proxyFor(rig, base([route], { initialDataTimeout: value }));
      const hello = await captureClientHello(TLS_HOST);
      const probes = await openAll(rig, port);
      // A complete ClientHello at once, then silence: the server's flight is never answered.
      for (const p of probes) p.send(hello);
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'backend connect',
    option: 'connectionTimeout',
    value: 1000,
    reason: 'connect_timeout',
    wave: 1,
    async run(rig, value) {
      const hole = await rig.blackHole();
      const port = await freePort();
      const { proxy, closes } = await proxyFor(rig, base([l4(port, hole.port)], { connectionTimeout: value }));
      const probes = await openAll(rig, port);
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'response head',
    option: 'responseTimeout',
    value: 1300,
    reason: 'response_timeout',
    status: 504,
    wave: 1,
    async run(rig, value) {
      const backend = await rig.backend(scripts.silent());
      const port = await freePort();
      const { proxy, closes } = await proxyFor(rig, base([http(port, backend.port)], { responseTimeout: value }));
      const probes = await openAll(rig, port);
      for (const p of probes) p.send(get(HTTP_HOST));
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'request head',
    option: 'headersTimeout',
    value: 1000,
    reason: 'headers_timeout',
    status: 408,
    wave: 1,
    async run(rig, value) {
      const backend = await rig.backend(scripts.answerEachRequest());
      const port = await freePort();
      const { proxy, closes } = await proxyFor(rig, base([http(port, backend.port)], { headersTimeout: value, initialDataTimeout: 30_000 }));
      const probes = await openAll(rig, port);
      // The head's first line and Host, never its end. t0 = its first byte.
      for (const p of probes) p.send(`GET / HTTP/1.1\r\nHost: ${HTTP_HOST}\r\n`);
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'client idle',
    option: 'socketTimeout',
    value: 1000,
    reason: 'socket_timeout',
    wave: 2,
    async run(rig, value) {
      const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
      const port = await freePort();
      const { proxy, closes } = await proxyFor(rig, base([l4(port, backend.port)], { socketTimeout: value }));
      const probes = await openAll(rig, port);
      await echoAndMark(probes);
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'inactivity',
    option: 'inactivityTimeout',
    value: 1000,
    reason: 'inactivity',
    wave: 2,
    async run(rig, value) {
      const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
      const port = await freePort();
      // keepAliveTreatment 'standard' (from base): no multiplier; inactivityCheckInterval at its default.
      const { proxy, closes } = await proxyFor(rig, base([l4(port, backend.port)], { inactivityTimeout: value }));
      const probes = await openAll(rig, port);
      await echoAndMark(probes);
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'lifetime',
    option: 'maxConnectionLifetime',
    value: 1500,
    reason: 'lifetime',
    wave: 2,
    async run(rig, value) {
      const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
      const port = await freePort();
      const { proxy, closes } = await proxyFor(rig, base([l4(port, backend.port)], { maxConnectionLifetime: value }));
      const probes = await openAll(rig, port);
      // Busy: a byte every 500 ms, so only the age limit can close them. t0 = connect.
      const timer = setInterval(() => {
        for (const p of probes) if (!p.ended && !p.socket.destroyed) p.socket.write('.');
      }, 500);
      try {
        return await collect(probes, value, closes, proxy);
      } finally {
        clearInterval(timer);
      }
    },
  },
  {
    name: 'half-close',
    option: 'halfCloseTimeout',
    value: 1000,
    reason: 'half_close_timeout',
    wave: 2,
    async run(rig, value) {
      const backend = await rig.backend(scripts.echoIgnoringFin());
      const port = await freePort();
      const { proxy, closes } = await proxyFor(rig, base([l4(port, backend.port)], { halfCloseTimeout: value }));
      const probes = await openAll(rig, port, true);
      await echoAndMark(probes);
      for (const p of probes) {
        p.socket.end();
        p.mark();
      }
      return collect(probes, value, closes, proxy);
    },
  },
  {
    name: 'drain on stop',
    option: 'gracefulShutdownTimeout',
    value: 1000,
    reason: 'shutdown',
    wave: 2,
    async run(rig, value) {
      const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
      const port = await freePort();
      const { proxy, closes } = await proxyFor(rig, base([l4(port, backend.port)], { gracefulShutdownTimeout: value }));
      const probes = await openAll(rig, port);
      await echoAndMark(probes);
      await delay(50);
      const t0 = performance.now();
      for (const p of probes) p.t0 = t0;
      const stopping = proxy.stop();
      const obs = await collect(probes, value, closes, proxy);
      await stopping;
      const stopMs = performance.now() - t0;
      obs.extra.push(stopMs);
      obs.notes.push(`stop() resolved after ${Math.round(stopMs)} ms`);
      return obs;
    },
  },
];

interface Row {
  d: Deadline;
  obs?: Observation;
  error?: string;
}

const rows = new Map<string, Row>();
let rig: Rig;

function fmt(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '-' : String(Math.round(v));
}

function table(): string {
  const head = ['deadline', 'option', 'value', 'closed', 'min', 'median', 'max', 'window', 'reasons'];
  const lines: string[][] = [head];
  for (const { d, obs, error } of rows.values()) {
    if (!obs) {
      lines.push([d.name, d.option, String(d.value), `error: ${error ?? '?'}`, '', '', '', '', '']);
      continue;
    }
    const closed = obs.samples.filter((s): s is number => s !== undefined);
    const rc = new Map<string, number>();
    for (const c of obs.closes) rc.set(String(c.reason), (rc.get(String(c.reason)) ?? 0) + 1);
    lines.push([
      d.name,
      d.option,
      String(d.value),
      `${closed.length}/${obs.samples.length}`,
      fmt(closed.length ? Math.min(...closed) : undefined),
      fmt(median(closed)),
      fmt(closed.length ? Math.max(...closed) : undefined),
      `${d.value - EARLY_SLACK_MS}-${d.value + allowedLate(d.value)}`,
      [...rc].map(([k, v]) => `${k}x${v}`).join(' ') + (obs.notes.length ? `; ${obs.notes.join('; ')}` : ''),
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

/** TIMER_ONLY='inactivity,half-close' runs only the named deadlines (the others fail as not run). */
const only = process.env.TIMER_ONLY?.split(',').map((s) => s.trim().toLowerCase());

const waveNotes: string[] = [];

before(async () => {
  rig = Rig.open({ after: () => undefined });
  for (const wave of [1, 2] as const) {
    // How late the event loop itself ran during the wave: lateness beyond it is the proxy's.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const started = performance.now();
    await Promise.all(
      deadlines
        .filter((d) => d.wave === wave && (!only || only.includes(d.name.toLowerCase())))
        .map(async (d) => {
          const row: Row = { d };
          rows.set(d.name, row);
          try {
            row.obs = await d.run(rig, d.value);
          } catch (err) {
            row.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
          }
        }),
    );
    lag.disable();
    waveNotes.push(
      `wave ${wave}: ${Math.round(performance.now() - started)} ms, event-loop delay p50 ${Math.round(lag.percentile(50) / 1e6)} ms, p99 ${Math.round(lag.percentile(99) / 1e6)} ms, max ${Math.round(lag.max / 1e6)} ms`,
    );
  }
  console.log(`\ntimer precision (${N} connections per deadline, ms from the deadline's start)\n${table()}\n${waveNotes.join('\n')}\n`);
});

for (const d of deadlines) {
  test(`${d.name}: ${d.option} ${d.value} ms, ${N} connections closed within [${d.value - EARLY_SLACK_MS}, ${d.value + allowedLate(d.value)}] ms, reason ${d.reason}`, (t) => {
    const row = rows.get(d.name);
    assert.ok(row, 'not run (TIMER_ONLY)');
    assert.ok(row.obs, `scenario failed: ${row.error}`);
    const { samples, statuses, closes, extra } = row.obs;
    const closed = samples.filter((s): s is number => s !== undefined);
    t.diagnostic(`min ${fmt(Math.min(...closed))} median ${fmt(median(closed))} max ${fmt(Math.max(...closed))} (${closed.length}/${N} closed)`);
    assert.equal(closed.length, N, `${N - closed.length} of ${N} connections still open ${d.value + 3000} ms after their deadline started`);
    const lo = d.value - EARLY_SLACK_MS;
    const hi = d.value + allowedLate(d.value);
    const early = closed.filter((s) => s < lo);
    const late = closed.filter((s) => s > hi);
    assert.deepEqual(early.map(Math.round), [], `closed before the limit (< ${lo} ms)`);
    assert.deepEqual(late.map(Math.round), [], `closed too late (> ${hi} ms)`);
    for (const x of extra) assert.ok(x >= lo && x <= hi, `${Math.round(x)} ms outside [${lo}, ${hi}]`);
    if (d.status !== undefined) assert.deepEqual([...new Set(statuses)], [d.status], `every client got ${d.status}`);
    const wrong = closes.filter((c) => c.reason !== d.reason).map((c) => c.reason);
    assert.equal(closes.length, N, `${closes.length} connection:close events for ${N} connections`);
    assert.deepEqual(wrong, [], `close reasons other than ${d.reason}`);
  });
}

test('afterwards: every proxy of the table has empty books, and the process is back at its resource baseline', async () => {
  await rig.finish({ resourcesTimeoutMs: 5000 });
  await waitForResourceBaseline(rig.baseline, 100);
});
