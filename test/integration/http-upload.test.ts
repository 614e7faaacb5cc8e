/**
 * 1 GiB through the HTTP layer without buffering: curl (a child process, so this process's RSS
 * is the proxy's plus a byte-counting backend's) uploads 1 GiB of zeros from a pipe (chunked,
 * Expect: 100-continue) and downloads 1 GiB. Each side stalls for a while mid-transfer (the
 * backend stops reading; curl is SIGSTOPped), so a proxy that ignored backpressure would buffer
 * hundreds of MiB. RSS is sampled every 100 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type * as http from 'node:http';
import { startProxy, freePort } from './harness.js';
import { startHttpServer } from '../helpers/backends.js';
import { requireCommand } from '../helpers/tools.js';
import { httpRoute } from './helpers-http.js';

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
const RSS_BUDGET = 200 * MIB;
const STALL_MS = 400;

interface RssProbe {
  readonly start: number;
  readonly peak: number;
  stop(): void;
}

function sampleRss(): RssProbe {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 100);
  return {
    start,
    get peak() {
      return Math.max(peak, process.memoryUsage.rss());
    },
    stop: () => clearInterval(timer),
  };
}

interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sh -c script` (no proxy variables) with a hard timeout; `onSpawn` gets the child's pid. */
function shell(script: string, timeoutMs: number, onSpawn?: (pid: number) => void): Promise<ShellResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_proxy$/i.test(k)) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    if (child.pid !== undefined) onSpawn?.(child.pid);
  });
}

const mib = (n: number): string => `${(n / MIB).toFixed(0)} MiB`;

test('1 GiB streamed upload (curl -T - from a pipe, chunked) through an HTTP route in bounded RSS', { timeout: 60_000 }, async (t) => {
  if (!requireCommand('curl', t)) return;
  let stalls = 0;
  const be = await startHttpServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    let n = 0;
    let nextStall = 256 * MIB;
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n >= nextStall && stalls < 2) {
        // Stop reading for a while: the proxy must push back on curl instead of buffering.
        stalls++;
        nextStall += 256 * MIB;
        req.pause();
        setTimeout(() => req.resume(), STALL_MS);
      }
    });
    req.on('end', () => res.end(`received ${n} te=${req.headers['transfer-encoding'] ?? 'none'}`));
  });
  t.after(() => be.close());
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [httpRoute('up', port, 'up.example.com', be.port)] });
  const rss = sampleRss();
  t.after(() => rss.stop());
  const started = Date.now();
  const r = await shell(
    `head -c ${GIB} /dev/zero | curl -sS --noproxy '*' --max-time 50 -T - --resolve up.example.com:${port}:127.0.0.1 http://up.example.com:${port}/upload`,
    55_000,
  );
  const ms = Date.now() - started;
  rss.stop();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `received ${GIB} te=chunked`);
  assert.equal(stalls, 2);
  const growth = rss.peak - rss.start;
  t.diagnostic(`upload 1 GiB in ${ms} ms (${((GIB / MIB) / (ms / 1000)).toFixed(0)} MiB/s); RSS start ${mib(rss.start)}, peak ${mib(rss.peak)}, growth ${mib(growth)}`);
  assert.ok(growth < RSS_BUDGET, `RSS grew by ${mib(growth)} (budget ${mib(RSS_BUDGET)})`);
  assert.ok(ms < 30_000, `upload took ${ms} ms`);
  assert.ok(proxy.getStats().totals.bytesIn() > GIB);
});

test('1 GiB download through an HTTP route in bounded RSS, with the client stalled mid-transfer', { timeout: 60_000 }, async (t) => {
  if (!requireCommand('curl', t)) return;
  const chunk = Buffer.alloc(MIB);
  const be = await startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': GIB });
    let left = GIB / MIB;
    const pump = (): void => {
      while (left > 0) {
        left--;
        if (left === 0) {
          res.end(chunk);
          return;
        }
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    res.on('close', () => (left = 0));
    pump();
  });
  t.after(() => be.close());
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [httpRoute('down', port, 'down.example.com', be.port)] });
  const rss = sampleRss();
  t.after(() => rss.stop());
  const started = Date.now();
  let stallTimer: NodeJS.Timeout | undefined;
  const r = await shell(
    `exec curl -sS --noproxy '*' --max-time 50 -o /dev/null -w '%{size_download} %{http_code}' --resolve down.example.com:${port}:127.0.0.1 http://down.example.com:${port}/big`,
    55_000,
    (pid) => {
      // Freeze curl for a while once the transfer is under way: the proxy must stop reading the backend.
      stallTimer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGSTOP');
          setTimeout(() => {
            try {
              process.kill(pid, 'SIGCONT');
            } catch {
              /* already gone */
            }
          }, STALL_MS * 2);
        } catch {
          /* already gone */
        }
      }, 300);
    },
  );
  clearTimeout(stallTimer);
  const ms = Date.now() - started;
  rss.stop();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${GIB} 200`);
  const growth = rss.peak - rss.start;
  t.diagnostic(`download 1 GiB in ${ms} ms (${((GIB / MIB) / (ms / 1000)).toFixed(0)} MiB/s); RSS start ${mib(rss.start)}, peak ${mib(rss.peak)}, growth ${mib(growth)}`);
  assert.ok(growth < RSS_BUDGET, `RSS grew by ${mib(growth)} (budget ${mib(RSS_BUDGET)})`);
  assert.ok(ms < 30_000, `download took ${ms} ms`);
  assert.ok(proxy.getStats().totals.bytesOut() > GIB);
});
