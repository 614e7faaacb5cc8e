/**
 * HTTP reverse-proxy benchmark (issue 6): requests per second, p99 latency and the
 * proxy's own CPU time per request through SmartProxy vs direct vs the Node peers
 * (minimal undici proxy, node-http-proxy, http-proxy-3, httpxy, fastify +
 * @fastify/http-proxy) vs nginx and HAProxy when installed, all in the same run.
 * Cases: small (13-byte) and 64 KiB responses, a 64 KiB POST body, plain and
 * TLS-terminated. Every proxy runs in its own process and reports its CPU time; the load
 * generator (wrk for plain HTTP when installed, else autocannon; autocannon for TLS, which
 * needs an SNI name wrk cannot give) runs in its own process; the origin (raw-socket
 * HTTP/1.1) lives here. Rounds go through every case and target in turn; each cell is the
 * round with the median req/s.
 * Targets are measured one after another, each in the same conditions; a target that
 * fails to start or answers wrongly is reported as 'error' and the run goes on.
 * Prints markdown to stdout (scripts/run-bench.mjs collects it into docs/benchmarks.md).
 *
 * Knobs (env): BENCH_DURATION (s, default 5), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (50),
 * BENCH_ROUNDS (3), BENCH_LOAD (wrk | autocannon: the generator for plain HTTP, default wrk if installed),
 * BENCH_TARGETS (comma list of direct,smartproxy,undici,node-http-proxy,http-proxy-3,httpxy,fastify,nginx,haproxy),
 * BENCH_CASES (comma list of small,large,post,tls-small,tls-large), BENCH_APP_HEAP_MB (24: the
 * application heap every Node target holds, lib/app-heap.ts; 0 for none).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../ts/tls/self-signed.js';
import { startHttpBackend, SMALL_BODY_BYTES, LARGE_BODY_BYTES } from './lib/http-backend.js';
import { HTTP_TARGETS, HTTP_TARGET_LABEL, isHttpTarget, startHttpTarget, type HttpTargetName } from './lib/http-targets.js';
import { runAutocannon, type IAutocannonOptions } from './lib/load.js';
import { runWrk, wrkAvailable } from './lib/wrk.js';
import { probe } from './lib/http-probe.js';
import { haproxyVersion } from './lib/haproxy.js';
import { nginxVersion } from './lib/nginx.js';
import { printHttpReport, type ICaseResult, type IHttpSample } from './lib/http-report.js';
import { envNumber } from './lib/report.js';

const DOMAIN = 'bench.local';

interface ICase {
  name: string;
  title: string;
  tls: boolean;
  method: 'GET' | 'POST';
  path: string;
  requestBytes: number;
  responseBytes: number;
}

const CASES: ICase[] = [
  { name: 'small', title: 'GET, 13-byte response, plain HTTP', tls: false, method: 'GET', path: '/', requestBytes: 0, responseBytes: SMALL_BODY_BYTES },
  { name: 'large', title: 'GET, 64 KiB response, plain HTTP', tls: false, method: 'GET', path: '/64k', requestBytes: 0, responseBytes: LARGE_BODY_BYTES },
  { name: 'post', title: 'POST, 64 KiB request body, 13-byte response, plain HTTP', tls: false, method: 'POST', path: '/upload', requestBytes: LARGE_BODY_BYTES, responseBytes: SMALL_BODY_BYTES },
  { name: 'tls-small', title: 'GET, 13-byte response, TLS terminated by the proxy', tls: true, method: 'GET', path: '/', requestBytes: 0, responseBytes: SMALL_BODY_BYTES },
  { name: 'tls-large', title: 'GET, 64 KiB response, TLS terminated by the proxy', tls: true, method: 'GET', path: '/64k', requestBytes: 0, responseBytes: LARGE_BODY_BYTES },
];

const DURATION = envNumber('BENCH_DURATION', 5);
const WARMUP = process.env.BENCH_WARMUP === '0' ? 0 : envNumber('BENCH_WARMUP', 2);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50);
const ROUNDS = Math.floor(envNumber('BENCH_ROUNDS', 3));
const PLAIN_WITH_WRK = process.env.BENCH_LOAD !== 'autocannon' && wrkAvailable();
/** The load generator for a case: wrk for plain HTTP when it is installed, autocannon otherwise. */
const loadFor = (c: ICase): typeof runWrk => (!c.tls && PLAIN_WITH_WRK ? runWrk : runAutocannon);
const list = (k: string): string[] | undefined =>
  process.env[k]
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const TARGETS = (list('BENCH_TARGETS') ?? [...HTTP_TARGETS]).filter(isHttpTarget);
const wantedCases = list('BENCH_CASES');
const RUN_CASES = CASES.filter((c) => !wantedCases || wantedCases.includes(c.name));

/** Largest share of failed or non-2xx responses before a measurement counts as an error. */
const MAX_BAD_SHARE = 0.001;

const unavailable = new Map<HttpTargetName, string>();
const notes: string[] = [];
const short = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

async function measureOne(
  t: HttpTargetName,
  c: ICase,
  backends: { plainPort: number; tlsPort: number },
  tls: { key: string; cert: string },
  bodyFile: string,
): Promise<IHttpSample> {
  if (unavailable.has(t)) return { error: 'not measured' };
  let proxy;
  try {
    const started = await startHttpTarget(t, backends, DOMAIN, c.tls ? tls : undefined);
    if ('skipped' in started) {
      unavailable.set(t, started.skipped);
      return { error: 'not measured' };
    }
    proxy = started;
  } catch (e) {
    notes.push(`${c.name} / ${t}: failed to start: ${short(e)}`);
    return { error: 'error' };
  }
  try {
    const bad = await probe({
      port: proxy.port,
      tls: c.tls,
      domain: DOMAIN,
      method: c.method,
      path: c.path,
      expectBytes: c.responseBytes,
      ...(c.requestBytes > 0 ? { body: Buffer.alloc(c.requestBytes, 'y') } : {}),
    });
    if (bad) {
      notes.push(`${c.name} / ${t}: ${bad}`);
      return { error: 'error' };
    }
    const url = `${c.tls ? 'https' : 'http'}://127.0.0.1:${proxy.port}${c.path}`;
    const headers: Record<string, string> = { host: DOMAIN };
    if (c.requestBytes > 0) headers['content-type'] = 'application/octet-stream';
    const opts: IAutocannonOptions = {
      connections: CONNECTIONS,
      method: c.method,
      headers,
      ...(c.requestBytes > 0 ? { bodyFile } : {}),
      ...(c.tls ? { servername: DOMAIN } : {}),
    };
    const load = loadFor(c);
    if (WARMUP > 0) await load(url, { ...opts, durationSec: WARMUP });
    // CPU is read around the measured run only, so warm-up and start-up are excluded.
    const cpu0 = await proxy.cpuMs();
    const r = await load(url, { ...opts, durationSec: DURATION });
    const cpu1 = await proxy.cpuMs();
    const bad2 = r.errors + r.non2xx;
    if (r.totalRequests === 0 || bad2 > r.totalRequests * MAX_BAD_SHARE) {
      notes.push(`${c.name} / ${t}: ${r.errors} errors, ${r.non2xx} non-2xx of ${r.totalRequests} responses`);
      return { error: 'error' };
    }
    if (bad2 > 0) notes.push(`${c.name} / ${t}: ${r.errors} errors, ${r.non2xx} non-2xx of ${r.totalRequests} (ignored, < 0.1%)`);
    return {
      rps: r.requestsPerSec,
      p99: r.latencyP99Ms,
      cpuPerReqUs: t === 'direct' ? undefined : ((cpu1 - cpu0) * 1000) / r.totalRequests,
    };
  } catch (e) {
    notes.push(`${c.name} / ${t}: ${short(e)}`);
    return { error: 'error' };
  } finally {
    await proxy.close();
  }
}

/** Of several rounds, the one with the median req/s (errors only when every round failed). */
function median(samples: IHttpSample[]): IHttpSample {
  const ok = samples.filter((s) => s.rps !== undefined).sort((a, b) => a.rps! - b.rps!);
  if (ok.length === 0) return samples[0] ?? { error: 'error' };
  return ok[Math.floor((ok.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  const tls = createSelfSignedCertificate([DOMAIN]);
  const plain = await startHttpBackend();
  const secure = await startHttpBackend(tls);
  const dir = mkdtempSync(join(tmpdir(), 'spx-bench-http-'));
  const bodyFile = join(dir, 'body.bin');
  writeFileSync(bodyFile, Buffer.alloc(LARGE_BODY_BYTES, 'y'));
  const samples = new Map<string, IHttpSample[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of RUN_CASES) {
        for (const t of TARGETS) {
          process.stderr.write(`[http] round ${round + 1}/${ROUNDS} ${c.name} / ${t}\n`);
          const s = await measureOne(t, c, { plainPort: plain.port, tlsPort: secure.port }, tls, bodyFile);
          const key = `${c.name}/${t}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
        }
      }
    }
  } finally {
    await Promise.all([plain.close(), secure.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
  const results: ICaseResult[] = RUN_CASES.map((c) => ({
    name: c.name,
    title: c.title,
    tls: c.tls,
    rows: new Map(TARGETS.filter((t) => !unavailable.has(t)).map((t) => [t, median(samples.get(`${c.name}/${t}`) ?? [])])),
  }));
  for (const [t, why] of unavailable) notes.push(`${HTTP_TARGET_LABEL[t]}: not measured (${why})`);
  const versions = [nginxVersion(), haproxyVersion()].filter((v) => v !== undefined).join(', ');
  const setup =
    `Setup: origin (raw-socket HTTP/1.1, keep-alive) in the benchmark process; each proxy in its own process ` +
    `(Node peers in a child each, nginx 1 worker, HAProxy nbthread 1); the load generator in its own process: ` +
    `${PLAIN_WITH_WRK ? 'wrk -t1 for plain HTTP (autocannon itself saturates near 38k req/s here and would cap the fast proxies), autocannon for TLS (SNI)' : 'autocannon'}, ` +
    `${CONNECTIONS} kept-alive connections, ${DURATION} s per measurement after ${WARMUP} s warm-up, ` +
    `${ROUNDS} round(s)${ROUNDS > 1 ? ' (median by req/s)' : ''}, all on 127.0.0.1 on a shared machine. ` +
    `Every Node proxy holds a ${process.env.BENCH_APP_HEAP_MB ?? 24} MB application heap (lib/app-heap.ts: an otherwise empty process sits at V8's GC thresholds). ` +
    `Proxies keep connections to the origin alive. TLS: a 2048-bit RSA self-signed certificate, SNI ${DOMAIN}; ` +
    `direct over TLS means the origin itself speaks TLS. ` +
    `Proxy CPU = user+system time of the proxy process(es) during the measured run, divided by requests.` +
    (versions ? ` ${versions}.` : '');
  process.stdout.write(printHttpReport(setup, results, notes) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`http benchmark failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
