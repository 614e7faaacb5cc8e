/**
 * Small-request HTTP benchmark with wrk (C) as the load generator, beside benchmarks/http.ts
 * (autocannon). On this 2-core machine autocannon itself saturates near 38k req/s, which caps
 * SmartProxy, nginx and HAProxy alike; wrk costs far less CPU per request, so the proxies'
 * own costs show. Same origin, same peers, same child processes as benchmarks/http.ts.
 * Needs wrk (`apt-get install wrk`); prints a note and no table without it.
 * Knobs (env): BENCH_DURATION (s, 6), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (50), BENCH_ROUNDS (2),
 * BENCH_TARGETS (comma list, default direct,smartproxy,undici,nginx,haproxy).
 */
import { spawn, spawnSync } from 'node:child_process';
import { startHttpBackend } from './lib/http-backend.js';
import { startHttpTarget, HTTP_TARGET_LABEL, isHttpTarget, type HttpTargetName } from './lib/http-targets.js';
import { markdownTable, fmt } from './lib/report.js';

const env = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const DURATION = env('BENCH_DURATION', 6);
const WARMUP = env('BENCH_WARMUP', 2);
const CONNECTIONS = env('BENCH_CONNECTIONS', 50);
const ROUNDS = env('BENCH_ROUNDS', 2);
const TARGETS = (process.env.BENCH_TARGETS ?? 'direct,smartproxy,undici,nginx,haproxy').split(',').filter(isHttpTarget);

function wrk(port: number, seconds: number): Promise<{ rps: number; total: number }> {
  return new Promise((resolve, reject) => {
    // Async spawn: the origin lives in this process and must keep answering.
    const c = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-H', 'Host: bench.local', `http://127.0.0.1:${port}/`]);
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('exit', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const total = Number(/(\d+) requests in/.exec(out)?.[1]);
      if (!(rps > 0)) reject(new Error(`wrk: no result: ${out.slice(0, 200)}`));
      else resolve({ rps, total });
    });
  });
}

async function main(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) {
    console.log('wrk is not installed (`apt-get install wrk`): not measured.');
    return;
  }
  const backend = await startHttpBackend();
  const rows = new Map<HttpTargetName, Array<{ rps: number; cpuUs: number }>>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of TARGETS) {
        process.stderr.write(`[http-wrk] round ${round + 1}/${ROUNDS} ${t}\n`);
        const p = await startHttpTarget(t, { plainPort: backend.port, tlsPort: backend.port }, 'bench.local', undefined);
        if ('skipped' in p) continue;
        try {
          await wrk(p.port, WARMUP);
          const c0 = await p.cpuMs();
          const r = await wrk(p.port, DURATION);
          const cpuUs = ((await p.cpuMs()) - c0) * 1000 / r.total;
          rows.set(t, [...(rows.get(t) ?? []), { rps: r.rps, cpuUs }]);
        } finally {
          await p.close();
        }
      }
    }
  } finally {
    await backend.close();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rps = (t: HttpTargetName): number => median((rows.get(t) ?? []).map((r) => r.rps));
  const peer = rps('undici');
  const nginx = rps('nginx');
  console.log(
    `Setup: wrk -t1 -c${CONNECTIONS}, ${DURATION} s after ${WARMUP} s warm-up, GET with a 13-byte response, plain HTTP; ` +
      `median of ${ROUNDS} rounds; proxy CPU = the proxy process's user+system time per request.\n`,
  );
  console.log(
    markdownTable(
      ['target', 'req/s', 'proxy CPU µs/req', 'vs direct', 'vs undici proxy', 'vs nginx'],
      [...rows.keys()].map((t) => {
        const r = rps(t);
        const cpu = median((rows.get(t) ?? []).map((x) => x.cpuUs));
        return [
          HTTP_TARGET_LABEL[t],
          fmt(r),
          t === 'direct' ? '—' : fmt(cpu),
          rows.has('direct') && t !== 'direct' ? `${(r / rps('direct')).toFixed(2)}×` : '—',
          peer > 0 && t !== 'undici' ? `${(r / peer).toFixed(2)}×` : '—',
          nginx > 0 && t !== 'nginx' ? `${(r / nginx).toFixed(2)}×` : '—',
        ];
      }),
    ),
  );
}

await main();
process.exit(0);
