/**
 * Memory per idle connection and the rate at which held connections are set up:
 * a plain `socket.pipe()` relay vs SmartProxy (L4 forward, and TLS passthrough routed on a
 * sniffed SNI), all in the same run. Each proxy runs in its own process (with --expose-gc),
 * the echo backend in another; this process holds the client sockets.
 *
 * For each target: gc + measure the proxy process (heapUsed, external, RSS), open HELD
 * connections (connect, send the first bytes, wait for their echo, then keep the socket
 * idle), gc + measure again, close them all, gc + measure once more (what is retained).
 * Per-connection cost = (held - baseline) / HELD.
 *
 * The proxy process holds two sockets per connection; with `ulimit -n` at 20000 (hard
 * limit, cannot be raised here) the default is 9,900 connections, not 10,000.
 * Knobs (env): BENCH_HELD (9900), BENCH_OPEN_CONCURRENCY (100), BENCH_TARGETS (comma list of
 * pipe,smartproxy,smartproxy-sni), BENCH_SMARTPROXY_OPTIONS (JSON merged into the SmartProxy
 * options, to attribute costs, e.g. '{"metrics":{"enabled":false}}'), BENCH_SMARTPROXY_MODULE. Prints markdown (scripts/run-bench.mjs collects it).
 */
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { resolve } from 'node:path';
import { startEchoBackend } from './lib/backends.js';
import { startPipeRelay } from './lib/pipe-relay.js';
import { REPO_ROOT, type IClosable } from './lib/net-util.js';
import { markdownTable, fmt, ratio, envNumber } from './lib/report.js';
import { startBenchSmartProxy, type BenchProxyOptions } from './lib/smartproxy-module.js';
import { serveChild, type IProcessMemory } from './lib/child-ipc.js';
import { forkProxyChild, type IChildProxyUnderTest } from './lib/proxy-process.js';

type TargetName = 'pipe' | 'smartproxy' | 'smartproxy-sni';
const LABEL: Record<TargetName, string> = {
  pipe: 'plain socket.pipe() relay',
  smartproxy: 'SmartProxy L4 forward',
  'smartproxy-sni': 'SmartProxy TLS passthrough (SNI sniffed)',
};

const HELD = envNumber('BENCH_HELD', 9900);
const OPEN_CONCURRENCY = envNumber('BENCH_OPEN_CONCURRENCY', 100);
const TARGETS = (process.env.BENCH_TARGETS ?? 'pipe,smartproxy,smartproxy-sni')
  .split(',')
  .map((s) => s.trim())
  .filter((s): s is TargetName => s in LABEL);

/** A real ClientHello (curl, SNI a.example.com) as the first bytes of the SNI target. */
const HELLO_FILE = resolve(REPO_ROOT, 'test/fixtures/client-hellos/curl-sni-h2-tls13.bin');
const HELLO_SNI = 'a.example.com';

type IMem = IProcessMemory;

/** argv[2] of this file's own child processes (child-ipc.ts protocol). */
type ChildConfig = { child: 'backend' } | { child: 'proxy'; kind: TargetName; targetPort: number };

// ---------------------------------------------------------------- child side

function startSmartProxy(targetPort: number, sni: boolean): Promise<IClosable> {
  const target = { host: '127.0.0.1', port: targetPort };
  return startBenchSmartProxy(
    (port) =>
      sni
        ? { name: 'bench', match: { ports: port, domains: HELLO_SNI }, action: { type: 'forward', target, tls: { mode: 'passthrough' } } }
        : { name: 'bench', match: { ports: port }, action: { type: 'forward', target } },
    JSON.parse(process.env.BENCH_SMARTPROXY_OPTIONS ?? '{}') as BenchProxyOptions,
  );
}

function childMain(cfg: ChildConfig): void {
  void serveChild(() =>
    cfg.child === 'backend' ? startEchoBackend() : cfg.kind === 'pipe' ? startPipeRelay(cfg.targetPort) : startSmartProxy(cfg.targetPort, cfg.kind === 'smartproxy-sni'),
  );
}

// ---------------------------------------------------------------- parent side

/** This file again, as a child serving the child-ipc.ts protocol (with --expose-gc, for `mem`). */
function startChild(cfg: ChildConfig, name: string): Promise<IChildProxyUnderTest> {
  return forkProxyChild(import.meta.filename, cfg, name, ['--expose-gc']);
}

/** Connect, send `first`, wait until as many bytes came back, keep the socket open. */
function openOne(port: number, first: Buffer): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = 0;
    const timer = setTimeout(() => fail(new Error('no echo within 10 s')), 10_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      s.destroy();
      rej(e);
    };
    s.on('error', fail);
    s.once('close', () => fail(new Error('closed before the echo')));
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= first.length) {
        clearTimeout(timer);
        s.removeAllListeners('close');
        s.removeAllListeners('data');
        s.on('error', () => {});
        res(s);
      }
    });
    s.once('connect', () => s.write(first));
  });
}

async function openMany(port: number, n: number, first: Buffer): Promise<{ sockets: net.Socket[]; failed: number; ms: number }> {
  const sockets: net.Socket[] = [];
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      try {
        sockets.push(await openOne(port, first));
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, n) }, worker));
  return { sockets, failed, ms: performance.now() - t0 };
}

interface IRow {
  base: IMem;
  held: IMem;
  after: IMem;
  count: number;
  openPerSec: number;
  failed: number;
}

const rows = new Map<TargetName, IRow>();
const notes: string[] = [];
const perConn = (r: IRow, k: keyof IMem): number => (r.held[k] - r.base[k]) / Math.max(1, r.count);

async function measure(t: TargetName, backendPort: number): Promise<void> {
  const proxy = await startChild({ child: 'proxy', kind: t, targetPort: backendPort }, t);
  try {
    const first = t === 'smartproxy-sni' ? readFileSync(HELLO_FILE) : Buffer.from('x');
    // Warm-up: code paths compiled and pools allocated before the baseline.
    const warm = await openMany(proxy.port, 200, first);
    for (const s of warm.sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const base = await proxy.mem();
    const opened = await openMany(proxy.port, HELD, first);
    await new Promise((r) => setTimeout(r, 500));
    const held = await proxy.mem();
    for (const s of opened.sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 2000));
    const after = await proxy.mem();
    rows.set(t, { base, held, after, count: opened.sockets.length, openPerSec: (opened.sockets.length * 1000) / opened.ms, failed: opened.failed });
    if (opened.failed > 0) notes.push(`${LABEL[t]}: ${opened.failed} of ${HELD} connections failed to open`);
  } finally {
    await proxy.close();
  }
}

async function main(): Promise<void> {
  const backend = await startChild({ child: 'backend' }, 'backend');
  try {
    for (const t of TARGETS) {
      try {
        await measure(t, backend.port);
      } catch (e) {
        notes.push(`${LABEL[t]}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    }
  } finally {
    await backend.close();
  }
  print();
}

const kib = (bytes: number): string => fmt(bytes / 1024, 2);
const mib = (bytes: number): string => fmt(bytes / 1048576, 1);

function print(): void {
  const out: string[] = [];
  out.push(
    `Setup: echo backend and each proxy in their own processes (proxies run with --expose-gc; memory read after gc), ` +
      `clients in the benchmark process, all on 127.0.0.1. Each target holds ${HELD.toLocaleString('en-US')} idle connections ` +
      `(connect, first bytes echoed end to end, then idle; ${OPEN_CONCURRENCY} being opened at a time). ` +
      `L4 forward: 1 byte first. TLS passthrough: a real 517-byte curl ClientHello (SNI ${HELLO_SNI}) is sniffed and routed. ` +
      `SmartProxy with metrics on (default), maxConnectionsPerIP 0, connectionRateLimitPerMinute 0. ` +
      `${HELD.toLocaleString('en-US')} rather than 10,000: two sockets per connection in the proxy and a hard fd limit of 20,000. ` +
      `The open rate is indicative only: each target leaves ~20,000 loopback sockets in TIME_WAIT, which slows connect() for the targets after it.`,
    '',
  );
  const present = TARGETS.filter((t) => rows.has(t));
  out.push(
    markdownTable(
      ['target', 'held', 'heap KiB/conn', 'external KiB/conn', 'RSS KiB/conn', 'heap MiB (base → held → closed)', 'RSS MiB (base → held → closed)', 'held conn/s opened'],
      present.map((t) => {
        const r = rows.get(t)!;
        return [
          LABEL[t],
          r.count.toLocaleString('en-US'),
          kib(perConn(r, 'heapUsed')),
          kib(perConn(r, 'external')),
          kib(perConn(r, 'rss')),
          `${mib(r.base.heapUsed)} → ${mib(r.held.heapUsed)} → ${mib(r.after.heapUsed)}`,
          `${mib(r.base.rss)} → ${mib(r.held.rss)} → ${mib(r.after.rss)}`,
          fmt(r.openPerSec),
        ];
      }),
    ),
  );
  const pipe = rows.get('pipe');
  const proxies = present.filter((t) => t !== 'pipe');
  if (pipe && proxies.length > 0) {
    out.push(
      '',
      'Over the pipe relay (target: bookkeeping under 2 KiB of heap per connection):',
      '',
      markdownTable(
        ['target', 'extra heap KiB/conn', 'extra RSS KiB/conn', 'heap vs pipe', 'held conn/s vs pipe', 'under 2 KiB heap'],
        proxies.map((t) => {
          const r = rows.get(t)!;
          const extraHeap = perConn(r, 'heapUsed') - perConn(pipe, 'heapUsed');
          return [
            LABEL[t],
            kib(extraHeap),
            kib(perConn(r, 'rss') - perConn(pipe, 'rss')),
            ratio(perConn(r, 'heapUsed'), perConn(pipe, 'heapUsed')),
            ratio(r.openPerSec, pipe.openPerSec),
            extraHeap < 2048 ? 'yes' : 'NO',
          ];
        }),
      ),
    );
  }
  if (notes.length > 0) out.push('', 'Notes:', '', ...notes.map((n) => `- ${n}`));
  process.stdout.write(out.join('\n') + '\n');
}

const childArg = process.argv[2];
if (childArg?.startsWith('{')) {
  childMain(JSON.parse(childArg) as ChildConfig);
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`connections benchmark failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
