/**
 * Shared pieces of the leak and resilience tests: a bounded task pool, a per-task time
 * bound, a watch on process-level errors, waiting for a proxy's bookkeeping to empty,
 * forced GC, and a reader of the Prometheus refusal counters.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type * as net from 'node:net';
import { waitFor, delay } from '../helpers/leaks.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';

/** Runs `task(0..count-1)` with at most `concurrency` in flight; results in index order. */
export async function runPool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export interface IProcessErrorWatch {
  readonly errors: ReadonlyArray<{ kind: string; error: unknown }>;
  /** Removes the listeners (also done on t.after). */
  stop(): void;
}

/** Records every 'uncaughtException' and 'unhandledRejection' while installed. */
export function watchProcessErrors(t: { after(fn: () => unknown): void }): IProcessErrorWatch {
  const errors: Array<{ kind: string; error: unknown }> = [];
  const onUncaught = (error: unknown): void => void errors.push({ kind: 'uncaughtException', error });
  const onRejection = (error: unknown): void => void errors.push({ kind: 'unhandledRejection', error });
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  const stop = (): void => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  };
  t.after(stop);
  return { errors, stop };
}

/** Text of recorded process errors for an assertion message. */
export function describeErrors(watch: IProcessErrorWatch): string {
  return watch.errors.map((e) => `${e.kind}: ${e.error instanceof Error ? e.error.stack : String(e.error)}`).join('\n');
}

/** Waits until the proxy holds no connection record and no per-IP entry. */
export function waitForProxyIdle(proxy: SmartProxy, timeoutMs: number, expectRecords = 0): Promise<void> {
  return waitFor(
    () => {
      const d = proxy.getDiagnostics();
      return d.connectionRecords === expectRecords && (expectRecords > 0 || d.trackedIps === 0);
    },
    timeoutMs,
    { intervalMs: 20, message: () => `diagnostics: ${JSON.stringify(proxy.getDiagnostics())}` },
  );
}

/** Destroys every socket in `sockets`, all at once (clean-up on a timeout path). */
export function destroyAll(sockets: Iterable<net.Socket | undefined>): void {
  for (const s of sockets) s?.destroy();
}

let gcFn: (() => void) | undefined;

/** The V8 gc() function, exposed at runtime (no --expose-gc needed on the command line). */
export function getGc(): () => void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  return gcFn;
}

/** Full GC a few times with short pauses (lets closed handles run their close callbacks), then heapUsed. */
export async function settledHeapUsed(rounds = 4, pauseMs = 50): Promise<number> {
  const gc = getGc();
  for (let i = 0; i < rounds; i++) {
    gc();
    await delay(pauseMs);
  }
  gc();
  return process.memoryUsage().heapUsed;
}

/** `smartproxy_connections_refused_total` by reason, from the Prometheus text. */
export function refusalsByReason(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = /^smartproxy_connections_refused_total\{reason="([^"]*)"\} (\S+)$/gm;
  for (const m of text.matchAll(re)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** Per-reason difference `after - before` (reasons that did not move are left out). */
export function counterDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

/** Milliseconds since `start` (from performance.now()), rounded. */
export function since(start: number): number {
  return Math.round(performance.now() - start);
}
