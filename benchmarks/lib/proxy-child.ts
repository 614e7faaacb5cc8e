/**
 * Child-process entry that runs one proxy under test, so the proxy has its own
 * event loop and its CPU time can be measured alone. Talks to the parent by IPC:
 *   parent -> { type: 'cpu' } | { type: 'stop' }
 *   child  -> { type: 'ready', port } | { type: 'cpu', ms } | { type: 'error', message }
 * Usage: node --import tsx proxy-child.ts '{"kind":"pipe"|"smartproxy","targetPort":N}'
 */
import { startPipeRelay } from './pipe-relay.js';
import { freePort } from './net-util.js';
import { selfCpuMs } from './cpu.js';
import { loadSmartProxy, silentLogger } from './smartproxy-module.js';

export type ProxyKind = 'pipe' | 'pipe-opts' | 'smartproxy';
export type ChildToParent =
  | { type: 'ready'; port: number }
  | { type: 'cpu'; ms: number }
  | { type: 'error'; message: string };
export type ParentToChild = { type: 'cpu' } | { type: 'stop' };

/**
 * Starts SmartProxy from the built package (dist_ts/index.js, or the module named by
 * env BENCH_SMARTPROXY_MODULE) with one L4 forward route.
 */
async function startSmartProxy(targetPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const SmartProxy = await loadSmartProxy();
  const port = await freePort();
  const proxy = new SmartProxy({
    routes: [
      { name: 'bench', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: targetPort } } },
    ],
    metrics: { enabled: true },
    // The load generator is one client IP opening thousands of connections per second:
    // lift the per-IP defaults (100 concurrent, 300/min) that would otherwise refuse it.
    maxConnectionsPerIP: 0,
    connectionRateLimitPerMinute: 0,
    listenAddress: '127.0.0.1',
    logger: silentLogger,
  });
  await proxy.start();
  return { port, close: () => proxy.stop() };
}

async function main(): Promise<void> {
  const send = (m: ChildToParent): void => {
    process.send?.(m);
  };
  try {
    const cfg = JSON.parse(process.argv[2] ?? '{}') as { kind: ProxyKind; targetPort: number };
    const proxy =
      cfg.kind === 'smartproxy' ? await startSmartProxy(cfg.targetPort) : await startPipeRelay(cfg.targetPort, 0, cfg.kind === 'pipe-opts');
    process.on('message', (m: ParentToChild) => {
      if (m.type === 'cpu') send({ type: 'cpu', ms: selfCpuMs() });
      else if (m.type === 'stop') {
        const hard = setTimeout(() => process.exit(0), 5000);
        hard.unref();
        void proxy.close().finally(() => process.exit(0));
      }
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready', port: proxy.port });
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
    process.exitCode = 1;
    process.disconnect?.();
  }
}

void main();
