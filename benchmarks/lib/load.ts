/** Load generators, each run in a child process so it does not share an event loop with the proxy. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { IBulkResult, IConnRateResult } from './load-child.js';
import { TSX_IMPORT, siblingScript } from './net-util.js';

export type { IBulkResult, IConnRateResult };

const LOAD_CHILD = siblingScript(import.meta.dirname, 'load-child');

/** Runs a node child, hard-killed after timeoutMs; resolves with the last stdout line parsed as JSON. */
function runJsonChild<T>(args: string[], timeoutMs: number): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 20_000) err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`load child failed (${code ?? signal}): ${err.trim()}`));
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolvePromise(JSON.parse(line) as T);
      } catch {
        reject(new Error(`load child printed no JSON: ${out.slice(0, 500)} ${err.slice(0, 500)}`));
      }
    });
  });
}

export interface IAutocannonOptions {
  connections?: number;
  durationSec?: number;
  pipelining?: number;
  /** HTTP method (default GET). */
  method?: string;
  /** Extra request headers, e.g. { host: 'bench.local' }. */
  headers?: Record<string, string>;
  /** A file whose content is sent as every request's body (autocannon -i). */
  bodyFile?: string;
  /** TLS SNI for https URLs (autocannon -s). */
  servername?: string;
}

export interface IAutocannonResult {
  requestsPerSec: number;
  totalRequests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
  non2xx: number;
}

interface IAutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

function autocannonBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('autocannon/package.json')), 'autocannon.js');
}

/** autocannon over kept-alive connections against url (in its own process, JSON output). */
export async function runAutocannon(url: string, opts: IAutocannonOptions = {}): Promise<IAutocannonResult> {
  const c = opts.connections ?? 50;
  const d = opts.durationSec ?? 10;
  const extra: string[] = [];
  if (opts.method) extra.push('-m', opts.method);
  for (const [k, v] of Object.entries(opts.headers ?? {})) extra.push('-H', `${k}=${v}`);
  if (opts.bodyFile) extra.push('-i', opts.bodyFile);
  if (opts.servername) extra.push('-s', opts.servername);
  const r = await runJsonChild<IAutocannonJson>(
    [autocannonBin(), '-j', '-n', '-c', String(c), '-d', String(d), '-p', String(opts.pipelining ?? 1), ...extra, url],
    (d + 30) * 1000,
  );
  return {
    requestsPerSec: r.requests.average,
    totalRequests: r.requests.total,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

/** New connections per second: `total` connect + 1-byte echo + close, `concurrency` at a time. */
export function runConnRate(port: number, total = 5000, concurrency = 50, timeLimitMs = 30_000): Promise<IConnRateResult> {
  return runJsonChild<IConnRateResult>(
    [...TSX_IMPORT, LOAD_CHILD, JSON.stringify({ mode: 'connrate', port, total, concurrency, timeLimitMs })],
    timeLimitMs + 20_000,
  );
}

/** Throughput of one connection carrying `bytes` to a sink (startBulkSink). */
export function runBulk(port: number, bytes = 1024 ** 3, timeLimitMs = 120_000): Promise<IBulkResult> {
  return runJsonChild<IBulkResult>(
    [...TSX_IMPORT, LOAD_CHILD, JSON.stringify({ mode: 'bulk', port, bytes, timeLimitMs })],
    timeLimitMs + 20_000,
  );
}
