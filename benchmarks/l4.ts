/**
 * L4 forwarding benchmark: direct to the backend vs a plain `socket.pipe()` relay
 * vs HAProxy `mode tcp` (when installed) vs a SmartProxy L4 forward route, all
 * measured in the same run. Each proxy runs in its own process; load generators
 * run in their own processes; backends live in this one.
 * Prints markdown to stdout (scripts/run-bench.mjs collects it into docs/benchmarks.md).
 *
 * Knobs (env): BENCH_DURATION (s, default 8), BENCH_CONNECTIONS (50), BENCH_WARMUP (s, 2),
 * BENCH_CONN_TOTAL (10000), BENCH_CONN_CONCURRENCY (50), BENCH_BULK_MB (1024), BENCH_ROUNDS (3),
 * BENCH_BULK_ROUNDS (5),
 * BENCH_PHASES (comma list of requests,connections,bulk),
 * BENCH_TARGETS (comma list of direct,pipe,pipe-opts,haproxy,smartproxy,smartproxy-glibc). `pipe-opts` is the
 * pipe relay plus only what the API contract requires of every connection (TCP keep-alive on
 * both sockets, Nagle off, the client address read), set the way SmartProxy sets them: what
 * they cost alone, so that SmartProxy minus pipe-opts is routing and bookkeeping.
 * Each phase runs BENCH_ROUNDS rounds (bulk BENCH_BULK_ROUNDS) over all targets in turn, each round starting at a
 * different target; each figure is the median of its rounds (bulk throughput on this machine
 * swings with the allocator's page faults).
 */
import { startKeepAliveHttpBackend, startEchoOnceBackend, startBulkSink } from './lib/backends.js';
import { startNodeProxy, startConfiguredSmartProxy, startHaproxyProxy, direct, type IProxyUnderTest } from './lib/proxy-process.js';
import { runAutocannon, runConnRate, runBulk } from './lib/load.js';
import { haproxyVersion } from './lib/haproxy.js';
import { markdownTable, fmt, ratio, envNumber, median } from './lib/report.js';

type TargetName = 'direct' | 'pipe' | 'pipe-opts' | 'haproxy' | 'smartproxy' | 'smartproxy-glibc';
const LABEL: Record<TargetName, string> = {
  direct: 'direct (no proxy)',
  pipe: 'plain socket.pipe() relay',
  'pipe-opts': 'pipe relay + the contract\'s socket options',
  haproxy: 'HAProxy mode tcp (nbthread 1)',
  smartproxy: 'SmartProxy L4 forward',
  'smartproxy-glibc': 'SmartProxy L4 forward + raiseMallocThresholds',
};

const DURATION = envNumber('BENCH_DURATION', 8);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50);
const WARMUP = envNumber('BENCH_WARMUP', 2);
const CONN_TOTAL = envNumber('BENCH_CONN_TOTAL', 10000);
const CONN_CONCURRENCY = envNumber('BENCH_CONN_CONCURRENCY', 50);
const BULK_BYTES = envNumber('BENCH_BULK_MB', 1024) * 1024 * 1024;
const ROUNDS = Math.floor(envNumber('BENCH_ROUNDS', 3));
/** Bulk rounds are short (~1 s) and the noisiest figure (one connection's scheduling on two cores): more of them. */
const BULK_ROUNDS = Math.floor(envNumber('BENCH_BULK_ROUNDS', 5));
const TARGETS = (process.env.BENCH_TARGETS ?? 'direct,pipe,pipe-opts,haproxy,smartproxy,smartproxy-glibc')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is TargetName => s in LABEL);

interface IRow {
  rps?: number;
  p99?: number;
  cpuPerReqUs?: number;
  connPerSec?: number;
  cpuPerConnUs?: number;
  mibPerSec?: number;
  cpuPerGiBMs?: number;
  /** Minor page faults of the proxy process per GiB relayed. */
  faultsPerGiB?: number;
  errors: number;
}

const PHASES = new Set((process.env.BENCH_PHASES ?? 'requests,connections,bulk').split(',').map((s) => s.trim()));

/** Per target, one row per round. */
const rounds = new Map<TargetName, IRow[]>();
const notes: string[] = [];
const row = (t: TargetName, round: number): IRow => {
  let list = rounds.get(t);
  if (!list) rounds.set(t, (list = []));
  return (list[round] ??= { errors: 0 });
};
const FIELDS = ['rps', 'p99', 'cpuPerReqUs', 'connPerSec', 'cpuPerConnUs', 'mibPerSec', 'cpuPerGiBMs', 'faultsPerGiB'] as const;
/** Each figure of a target: the median over its rounds. */
function medianRow(list: IRow[]): IRow {
  const out: IRow = { errors: list.reduce((a, r) => a + r.errors, 0) };
  for (const f of FIELDS) {
    const m = median(list.map((r) => r[f]).filter((v): v is number => v !== undefined && Number.isFinite(v)));
    if (!Number.isNaN(m)) out[f] = m;
  }
  return out;
}
const unavailable = new Map<TargetName, string>();

/** Starts the target in front of backendPort, or records why it cannot run. */
async function startTarget(t: TargetName, backendPort: number): Promise<IProxyUnderTest | undefined> {
  if (unavailable.has(t)) return undefined;
  try {
    if (t === 'direct') return direct(backendPort);
    if (t === 'haproxy') {
      const h = await startHaproxyProxy(backendPort);
      if ('skipped' in h) {
        unavailable.set(t, h.skipped);
        return undefined;
      }
      return h;
    }
    if (t === 'smartproxy-glibc') return await startConfiguredSmartProxy(backendPort, { nodeInternals: { raiseMallocThresholds: true } }, t);
    return await startNodeProxy(t, backendPort, t);
  } catch (e) {
    unavailable.set(t, `failed to start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return undefined;
  }
}

/**
 * Runs `measure` against each target in turn, with the proxy's CPU delta and page faults
 * around it. `warmup` runs first, outside the measurement: a proxy serves for hours, so
 * the figures are steady state, not JIT compilation or first-use allocation.
 */
async function phase(
  name: string,
  backendPort: number,
  warmup: ((port: number) => Promise<unknown>) | undefined,
  measure: (port: number) => Promise<(cpuMs: number, r: IRow, faults: number) => void>,
  roundCount = ROUNDS,
): Promise<void> {
  if (!PHASES.has(name)) return;
  for (let round = 0; round < roundCount; round++) {
    // Rounds start at different targets, spread over the list: a target's place in a round
    // matters (sockets the earlier ones left in TIME_WAIT, the machine's state), so none always goes last.
    const shift = round * Math.ceil(TARGETS.length / roundCount);
    const order = TARGETS.map((_, i) => TARGETS[(i + shift) % TARGETS.length]!);
    for (const t of order) {
      process.stderr.write(`[l4] ${name} round ${round + 1}/${roundCount} ${t}\n`);
      const proxy = await startTarget(t, backendPort);
      if (!proxy) continue;
      try {
        if (warmup) await warmup(proxy.port);
        const faults0 = proxy.minorFaults?.() ?? Number.NaN;
        const cpu0 = await proxy.cpuMs();
        const record = await measure(proxy.port);
        const cpu1 = await proxy.cpuMs();
        const faults = (proxy.minorFaults?.() ?? Number.NaN) - faults0;
        record(t === 'direct' ? Number.NaN : cpu1 - cpu0, row(t, round), faults);
      } catch (e) {
        row(t, round).errors++;
        notes.push(`${name} / ${t}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      } finally {
        await proxy.close();
      }
    }
  }
}

async function main(): Promise<void> {
  const http = await startKeepAliveHttpBackend();
  const echo = await startEchoOnceBackend();
  const sink = await startBulkSink();
  try {
    const url = (port: number): string => `http://127.0.0.1:${port}/`;
    const requestsWarmup = WARMUP > 0 ? (port: number) => runAutocannon(url(port), { connections: CONNECTIONS, durationSec: WARMUP }) : undefined;
    await phase('requests', http.port, requestsWarmup, async (port) => {
      const r = await runAutocannon(url(port), { connections: CONNECTIONS, durationSec: DURATION });
      return (cpuMs, out) => {
        out.rps = r.requestsPerSec;
        out.p99 = r.latencyP99Ms;
        out.cpuPerReqUs = (cpuMs * 1000) / Math.max(1, r.totalRequests);
        if (r.errors || r.non2xx) notes.push(`requests: ${r.errors} errors, ${r.non2xx} non-2xx`);
      };
    });
    // Warm-up by time, as for requests: 1,000 connections (0.2 s) left every target short of
    // steady state (the pipe relay's CPU per connection still fell 10 % after it, SmartProxy's 25 %).
    const connWarmup = WARMUP > 0 ? (port: number) => runConnRate(port, Number.MAX_SAFE_INTEGER, CONN_CONCURRENCY, WARMUP * 1000) : undefined;
    await phase('connections', echo.port, connWarmup, async (port) => {
      const r = await runConnRate(port, CONN_TOTAL, CONN_CONCURRENCY);
      return (cpuMs, out) => {
        out.connPerSec = r.perSecond;
        out.cpuPerConnUs = (cpuMs * 1000) / Math.max(1, r.completed);
        if (r.errors) notes.push(`connections: ${r.errors} of ${CONN_TOTAL} failed`);
      };
    });
    await phase('bulk', sink.port, undefined, async (port) => {
      const r = await runBulk(port, BULK_BYTES);
      return (cpuMs, out, faults) => {
        out.mibPerSec = r.mibPerSecond;
        out.cpuPerGiBMs = cpuMs / (BULK_BYTES / 1024 ** 3);
        out.faultsPerGiB = faults / (BULK_BYTES / 1024 ** 3);
      };
    }, BULK_ROUNDS);
  } finally {
    await Promise.all([http.close(), echo.close(), sink.close()]);
  }
  print();
}

function print(): void {
  const out: string[] = [];
  out.push(
    `Setup: backends in the benchmark process, each proxy in its own process, load generators in their own processes, all on 127.0.0.1. ` +
      `Requests: autocannon, ${CONNECTIONS} kept-alive connections, ${DURATION} s (after ${WARMUP} s warm-up), tiny HTTP/1.1 response. ` +
      `New connections: ${CONN_TOTAL} × (connect, 1-byte echo, the backend closes, then the client), ${CONN_CONCURRENCY} at a time, after ${WARMUP} s of warm-up connections. ` +
      `Bulk: ${fmt(BULK_BYTES / 1048576)} MiB through one connection to a sink. ` +
      `Proxy CPU = user+system time of the proxy process during the measurement (warm-ups excluded). ` +
      `${ROUNDS} round(s) over all targets in turn (${BULK_ROUNDS} for bulk), each round starting at a different target; each figure is the median of its rounds. ` +
      `Proxies run as plain node processes (benchmarks compiled, no TypeScript loader).` +
      (haproxyVersion() ? ` ${haproxyVersion()}.` : ''),
    '',
  );
  const rows = new Map([...rounds].map(([t, list]) => [t, medianRow(list.filter((r) => r !== undefined))] as const));
  const present = TARGETS.filter((t) => rows.has(t));
  out.push(
    markdownTable(
      ['target', 'req/s', 'p99 ms', 'CPU µs/req', 'new conn/s', 'CPU µs/conn', 'bulk MiB/s', 'CPU ms/GiB', 'page faults/GiB'],
      present.map((t) => {
        const r = rows.get(t)!;
        return [LABEL[t], fmt(r.rps), fmt(r.p99), fmt(r.cpuPerReqUs), fmt(r.connPerSec), fmt(r.cpuPerConnUs), fmt(r.mibPerSec), fmt(r.cpuPerGiBMs), fmt(r.faultsPerGiB)];
      }),
    ),
  );
  const refs: TargetName[] = ['direct', 'pipe', 'haproxy'];
  const cell = (t: TargetName, pick: (r: IRow) => number | undefined, refsFor: TargetName[]): string =>
    refsFor.map((ref) => (ref === t ? '—' : ratio(pick(rows.get(t)!), rows.has(ref) ? pick(rows.get(ref)!) : undefined))).join(' / ');
  const proxies = present.filter((t) => t !== 'direct');
  if (proxies.length > 0) {
    out.push(
      '',
      'Ratios (higher is better for rates, lower for CPU); each cell is vs direct / vs pipe / vs HAProxy:',
      '',
      markdownTable(
        ['target', 'req/s', 'new conn/s', 'bulk MiB/s', 'CPU µs/req (vs pipe / haproxy)', 'CPU µs/conn (vs pipe / haproxy)'],
        proxies.map((t) => [
          LABEL[t],
          cell(t, (r) => r.rps, refs),
          cell(t, (r) => r.connPerSec, refs),
          cell(t, (r) => r.mibPerSec, refs),
          cell(t, (r) => r.cpuPerReqUs, ['pipe', 'haproxy']),
          cell(t, (r) => r.cpuPerConnUs, ['pipe', 'haproxy']),
        ]),
      ),
    );
  }
  const measured = present.filter((t) => t !== 'direct');
  /** One row per proxy, one cell per round: the spread behind each median. */
  const perRound = (count: number, cellOf: (r: IRow) => string | undefined): string =>
    markdownTable(
      ['target', ...Array.from({ length: count }, (_, i) => `round ${i + 1}`)],
      measured.map((t) => [LABEL[t], ...Array.from({ length: count }, (_, i) => {
        const r = rounds.get(t)?.[i];
        return (r && cellOf(r)) ?? '—';
      })]),
    );
  const both = (a: number | undefined, b: number | undefined): string | undefined =>
    a === undefined ? undefined : `${fmt(a)} / ${fmt(b)}`;
  if (measured.length > 0 && ROUNDS > 1 && (PHASES.has('requests') || PHASES.has('connections'))) {
    out.push(
      '',
      'Requests and new connections, each round (req/s / CPU µs per request; new conn/s / CPU µs per connection). ' +
        'Runs on this shared two-core machine swing by several per cent between rounds; the order of targets rotates.',
      '',
      perRound(ROUNDS, (r) => {
        const cells = [both(r.rps, r.cpuPerReqUs), both(r.connPerSec, r.cpuPerConnUs)].filter((c) => c !== undefined);
        return cells.length > 0 ? cells.join('; ') : undefined;
      }),
    );
  }
  if (measured.length > 0 && BULK_ROUNDS > 1 && PHASES.has('bulk')) {
    out.push(
      '',
      'Bulk, each round (MiB/s, CPU ms/GiB, page faults/GiB of the proxy process). A Node relay moves the bytes in 64 KiB ' +
        'read buffers that V8 frees in batches after each scavenge; when such a batch lands at the top of the glibc heap, ' +
        'malloc returns it to the kernel (trim) and the next batch is faulted in again, page by page. Which way a run goes ' +
        'depends on the heap layout, not on the relay, and shows as ~10k vs ~100-250k faults/GiB for the same code. ' +
        'Raising glibc\'s trim threshold (GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456) removes the slow mode ' +
        'for any Node process; SmartProxy raises it itself at start() when asked (nodeInternals.raiseMallocThresholds, ' +
        'opt-in since it changes the host process: the "+ raiseMallocThresholds" row); the other rows run with glibc\'s defaults.',
      '',
      perRound(BULK_ROUNDS, (r) => (r.mibPerSec === undefined ? undefined : `${fmt(r.mibPerSec)} / ${fmt(r.cpuPerGiBMs)} / ${fmt(r.faultsPerGiB)}`)),
    );
  }
  for (const [t, why] of unavailable) notes.push(`${LABEL[t]}: not measured (${why})`);
  if (notes.length > 0) out.push('', 'Notes:', '', ...notes.map((n) => `- ${n}`));
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`l4 benchmark failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
