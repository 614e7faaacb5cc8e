/**
 * The IPC protocol between a benchmark and a proxy under test running in its own process
 * (so the proxy has its own event loop and its CPU time can be measured alone):
 *   parent -> { type: 'cpu' } | { type: 'stats' } | { type: 'mem' } | { type: 'stop' }
 *   child  -> { type: 'ready', port } | { type: 'cpu', ms } | { type: 'stats', stats } | { type: 'mem', mem }
 *             | { type: 'error', message }
 * `serveChild` is the child side; proxy-process.ts `forkProxyChild` the parent side.
 */
import { selfCpuMs } from './cpu.js';

/** A proxy's own getStats() totals (SmartProxy children only). */
export interface IProxyStats {
  bytesIn: number;
  bytesOut: number;
  connections: number;
  requests: number;
}

/** The child's memory after full collections (children started with --expose-gc only). */
export interface IProcessMemory {
  heapUsed: number;
  external: number;
  rss: number;
}

export type ChildToParent =
  | { type: 'ready'; port: number }
  | { type: 'cpu'; ms: number }
  | { type: 'stats'; stats: IProxyStats }
  | { type: 'mem'; mem: IProcessMemory }
  | { type: 'error'; message: string };
export type ParentToChild = { type: 'cpu' } | { type: 'stats' } | { type: 'mem' } | { type: 'stop' };

/** What a child runs: a listening proxy. */
export interface IChildProxy {
  port: number;
  close(): Promise<void>;
  stats?(): IProxyStats;
}

/**
 * Child side: starts the proxy, reports 'ready', then answers cpu / stats / mem / stop until the
 * parent stops it or goes away. A failed start is reported as 'error'.
 */
export async function serveChild(start: () => Promise<IChildProxy>): Promise<void> {
  const send = (m: ChildToParent): void => {
    process.send?.(m);
  };
  try {
    const proxy = await start();
    process.on('message', (m: ParentToChild) => {
      if (m.type === 'cpu') send({ type: 'cpu', ms: selfCpuMs() });
      else if (m.type === 'stats') {
        if (proxy.stats) send({ type: 'stats', stats: proxy.stats() });
        else send({ type: 'error', message: 'this proxy reports no stats' });
      } else if (m.type === 'mem') {
        void measureMemory().then((mem) => send({ type: 'mem', mem }), (e: unknown) => send({ type: 'error', message: String(e) }));
      } else if (m.type === 'stop') {
        const hard = setTimeout(() => process.exit(0), 5000);
        hard.unref();
        void proxy.close().finally(() => process.exit(0));
      }
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready', port: proxy.port });
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    process.exitCode = 1;
    process.disconnect?.();
  }
}

/** Heap, external and RSS after three full collections, each followed by a turn of the loop. */
async function measureMemory(): Promise<IProcessMemory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the proxy child with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, rss: m.rss };
}
