/**
 * Child-process load generator (own event loop, apart from proxy and backends).
 * Usage: node --import tsx load-child.ts '<json>'; prints one JSON result line.
 *   { "mode": "connrate", "port": N, "total": N, "concurrency": N, "timeLimitMs": N }
 *   { "mode": "bulk", "port": N, "bytes": N, "timeLimitMs": N }
 */
import * as net from 'node:net';

export interface IConnRateResult {
  mode: 'connrate';
  completed: number;
  errors: number;
  elapsedMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface IBulkResult {
  mode: 'bulk';
  bytes: number;
  elapsedMs: number;
  mibPerSecond: number;
}

type Job =
  | { mode: 'connrate'; port: number; total: number; concurrency: number; timeLimitMs: number }
  | { mode: 'bulk'; port: number; bytes: number; timeLimitMs: number };

/**
 * One connection: connect, send one byte, read the echo and the server's FIN, then close
 * (startEchoOnceBackend closes first). Resolves with its duration in ms.
 */
function oneRoundTrip(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let echoed = false;
    const timer = setTimeout(() => fail(new Error('round trip timeout')), 10_000);
    function fail(e: Error): void {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    }
    s.on('error', fail);
    s.once('connect', () => s.write('x'));
    s.once('data', () => {
      echoed = true;
    });
    s.once('end', () => s.end());
    s.once('close', () => {
      if (!echoed) return fail(new Error('closed before echo'));
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function connRate(job: Extract<Job, { mode: 'connrate' }>): Promise<IConnRateResult> {
  const durations: number[] = [];
  let started = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + job.timeLimitMs;
  const worker = async (): Promise<void> => {
    while (started < job.total && performance.now() < deadline) {
      started++;
      try {
        durations.push(await oneRoundTrip(job.port));
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  durations.sort((a, b) => a - b);
  return {
    mode: 'connrate',
    completed: durations.length,
    errors,
    elapsedMs,
    perSecond: (durations.length * 1000) / elapsedMs,
    p50Ms: percentile(durations, 50),
    p99Ms: percentile(durations, 99),
  };
}

/** Sends `bytes` through one connection to a sink that answers "done <n>" after our FIN. */
function bulk(job: Extract<Job, { mode: 'bulk' }>): Promise<IBulkResult> {
  const chunk = Buffer.alloc(1024 * 1024, 0x62);
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: job.port, host: '127.0.0.1', allowHalfOpen: true });
    const timer = setTimeout(() => fail(new Error(`bulk: not done within ${job.timeLimitMs} ms`)), job.timeLimitMs);
    function fail(e: Error): void {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    }
    let t0 = 0;
    let reply = '';
    s.on('error', fail);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (reply += d));
    s.on('end', () => {
      clearTimeout(timer);
      const elapsedMs = performance.now() - t0;
      s.destroy();
      const m = /^done (\d+)/.exec(reply);
      if (!m || Number(m[1]) !== job.bytes) return reject(new Error(`bulk: sink replied ${JSON.stringify(reply)}`));
      resolve({ mode: 'bulk', bytes: job.bytes, elapsedMs, mibPerSecond: job.bytes / 1048576 / (elapsedMs / 1000) });
    });
    s.once('connect', () => {
      t0 = performance.now();
      let left = job.bytes;
      const pump = (): void => {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= piece.length;
          if (!s.write(piece)) {
            s.once('drain', pump);
            return;
          }
        }
        s.end();
      };
      pump();
    });
  });
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  const result = job.mode === 'connrate' ? await connRate(job) : await bulk(job);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
