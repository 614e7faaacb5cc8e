/**
 * wrk (C, from Debian's `wrk` package) as a load generator. On this 2-core machine autocannon
 * (Node) saturates near 38k req/s and caps every fast proxy at that figure; wrk costs far less
 * CPU per request, so the proxies' own costs show. Plain HTTP only here: wrk takes the TLS SNI
 * from the URL's host name, and the benchmarks address 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IAutocannonOptions, IAutocannonResult } from './load.js';

let available: boolean | undefined;

/** Whether `wrk` runs here. */
export function wrkAvailable(): boolean {
  available ??= spawnSync('wrk', ['--version']).error === undefined;
  return available;
}

/** '812.00us' | '2.31ms' | '1.02s' -> ms. */
export function wrkDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

/** Parses `wrk --latency` output. */
export function parseWrkOutput(out: string): IAutocannonResult {
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).reduce((a, s) => a + Number(s), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (!(rps > 0) || !(total > 0)) throw new Error(`wrk printed no result: ${out.slice(0, 300)}`);
  return {
    requestsPerSec: rps,
    totalRequests: total,
    latencyP50Ms: p50 ? wrkDurationMs(p50) : Number.NaN,
    latencyP99Ms: p99 ? wrkDurationMs(p99) : Number.NaN,
    errors,
    non2xx,
  };
}

const luaString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * wrk -t1 against a plain http:// URL, kept-alive connections. Spawned asynchronously: the
 * origin may live in the calling process and must keep answering meanwhile.
 */
export async function runWrk(url: string, opts: IAutocannonOptions = {}): Promise<IAutocannonResult> {
  if (!url.startsWith('http://')) throw new Error('runWrk: plain http:// URLs only');
  const c = opts.connections ?? 50;
  const d = opts.durationSec ?? 10;
  const args = ['-t1', `-c${c}`, `-d${d}s`, '--latency'];
  // wrk adds its own `Host` from the URL unless a header spelled exactly `Host` replaces it.
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k.toLowerCase() === 'host' ? 'Host' : k}: ${v}`);
  let dir: string | undefined;
  if (opts.method !== undefined || opts.bodyFile !== undefined) {
    dir = mkdtempSync(join(tmpdir(), 'spx-wrk-'));
    const lua = [`wrk.method = ${luaString(opts.method ?? 'GET')}`];
    if (opts.bodyFile !== undefined) lua.push(`local f = io.open(${luaString(opts.bodyFile)}, "rb")`, 'wrk.body = f:read("*a")', 'f:close()');
    const script = join(dir, 'request.lua');
    writeFileSync(script, `${lua.join('\n')}\n`);
    args.push('-s', script);
  }
  args.push(url);
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (b: Buffer) => (text += b.toString()));
      child.stderr.on('data', (b: Buffer) => (text += b.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), (d + 30) * 1000);
      child.on('error', reject);
      child.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    return parseWrkOutput(out);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
