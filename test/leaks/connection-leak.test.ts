/**
 * 10,000 connections opened and closed in mixed ways (clean close, RST, client half-close
 * answered by the backend's close, backend refused) plus a few dozen closed by the idle
 * timeout. Afterwards: no connection record, no per-IP entry, TCP handles at baseline, and
 * the heap back within 10% of its size after a warm-up round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startProxy, freePorts } from '../integration/harness.js';
import { trackTcpHandles, waitFor } from '../helpers/leaks.js';
import { runPool, watchProcessErrors, describeErrors, waitForProxyIdle, settledHeapUsed, since } from './kit.js';

const TOTAL = 10_000;
const WARM_UP = 1_000;
const IDLE = 40;
const CONCURRENCY = 100;
const PER_CONNECTION_MS = 10_000;
const MESSAGE = Buffer.alloc(64, 0x61);

type Kind = 'clean' | 'rst' | 'half-close' | 'refused' | 'idle';
const KINDS: readonly Kind[] = ['clean', 'rst', 'half-close', 'refused'];

/** One client connection of `kind`; resolves with a problem description, or undefined when all went as expected. */
function runKind(kind: Kind, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: kind === 'half-close' });
    let received = 0;
    let problem: string | undefined;
    const timer = setTimeout(() => {
      problem = `${kind}: still open after ${PER_CONNECTION_MS} ms (${received} bytes received)`;
      s.destroy();
    }, PER_CONNECTION_MS);
    s.on('error', () => {});
    s.once('close', () => {
      clearTimeout(timer);
      if (problem === undefined && (kind === 'half-close' || kind === 'clean') && received !== MESSAGE.length) {
        problem = `${kind}: echo of ${received} of ${MESSAGE.length} bytes`;
      }
      if (problem === undefined && kind === 'refused' && received !== 0) problem = `refused: got ${received} bytes`;
      resolve(problem);
    });
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received < MESSAGE.length) return;
      if (kind === 'clean') s.end();
      else if (kind === 'rst') s.resetAndDestroy();
      // 'idle' waits for the proxy's inactivity close; 'half-close' for the backend's FIN.
    });
    s.once('connect', () => {
      if (kind === 'half-close') s.end(MESSAGE);
      else if (kind !== 'refused') s.write(MESSAGE);
    });
  });
}

interface Round {
  ms: number;
  problems: string[];
}

async function round(count: number, ports: { echo: number; refused: number; idle: number }): Promise<Round> {
  const started = performance.now();
  const idle = runPool(IDLE, IDLE, () => runKind('idle', ports.idle));
  const mixed = runPool(count, CONCURRENCY, (i) => {
    const kind = KINDS[i % KINDS.length]!;
    return runKind(kind, kind === 'refused' ? ports.refused : ports.echo);
  });
  const results = [...(await mixed), ...(await idle)];
  return { ms: since(started), problems: results.filter((r): r is string => r !== undefined) };
}

test('connection leak: 10,000 mixed connections leave no record, per-IP entry, handle or heap growth', { timeout: 120_000 }, async (t) => {
  const watch = watchProcessErrors(t);
  let backendActive = 0;
  const echo = net.createServer({ allowHalfOpen: true }, (s) => {
    backendActive++;
    s.on('error', () => {});
    s.once('close', () => backendActive--);
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => echo.close(() => r())));
  const echoPort = (echo.address() as net.AddressInfo).port;
  const [port, refusedPort, deadPort, idlePort] = await freePorts(4);
  const common = { connectionRateLimitPerMinute: 0, maxConnectionsPerIP: 0 };
  const proxy = await startProxy(t, {
    ...common,
    routes: [
      { name: 'echo', match: { ports: port! }, action: { type: 'forward', target: { host: '127.0.0.1', port: echoPort } } },
      { name: 'refused', match: { ports: refusedPort! }, action: { type: 'forward', target: { host: '127.0.0.1', port: deadPort! } } },
    ],
  });
  const idleProxy = await startProxy(t, {
    ...common,
    routes: [{ name: 'idle', match: { ports: idlePort! }, action: { type: 'forward', target: { host: '127.0.0.1', port: echoPort } } }],
    inactivityTimeout: 200,
    keepAliveTreatment: 'standard',
    inactivityCheckInterval: 50,
  });
  const ports = { echo: port!, refused: refusedPort!, idle: idlePort! };
  const settle = async (): Promise<void> => {
    await waitForProxyIdle(proxy, 10_000);
    await waitForProxyIdle(idleProxy, 10_000);
    await waitFor(() => backendActive === 0, 5000, { message: () => `echo backend holds ${backendActive}` });
  };

  const warm = await round(WARM_UP, ports);
  assert.deepEqual(warm.problems.slice(0, 10), [], `warm-up: ${warm.problems.length} problems`);
  await settle();
  const tracker = trackTcpHandles();
  const heapBefore = await settledHeapUsed();

  const main = await round(TOTAL, ports);
  t.diagnostic(`warm-up ${WARM_UP}+${IDLE} connections in ${warm.ms} ms; main ${TOTAL}+${IDLE} in ${main.ms} ms (concurrency ${CONCURRENCY})`);
  assert.deepEqual(main.problems.slice(0, 10), [], `${main.problems.length} problems`);
  const settleStart = performance.now();
  await settle();
  await tracker.check(10_000);
  t.diagnostic(`records, per-IP entries and TCP handles at baseline ${since(settleStart)} ms after the last client`);
  for (const p of [proxy, idleProxy]) {
    const d = p.getDiagnostics();
    assert.equal(d.connectionRecords, 0);
    assert.equal(d.trackedIps, 0);
  }
  assert.equal(proxy.getStats().connections.active(), 0);
  assert.equal(idleProxy.getStats().connections.active(), 0);

  const heapAfter = await settledHeapUsed();
  const growth = (heapAfter - heapBefore) / heapBefore;
  t.diagnostic(`heapUsed after warm-up ${(heapBefore / 1048576).toFixed(2)} MiB, after ${TOTAL} more ${(heapAfter / 1048576).toFixed(2)} MiB (${(growth * 100).toFixed(1)}%)`);
  assert.ok(growth <= 0.1, `heap grew ${(growth * 100).toFixed(1)}% (${heapBefore} -> ${heapAfter} bytes)`);
  assert.equal(watch.errors.length, 0, describeErrors(watch));
});
