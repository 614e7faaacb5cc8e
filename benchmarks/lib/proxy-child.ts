/**
 * Child-process entry that runs one L4 proxy under test (IPC: child-ipc.ts): the plain pipe
 * relay, the pipe relay with the contract's socket options, or SmartProxy with one L4 forward
 * route (from the built package, or the module named by env BENCH_SMARTPROXY_MODULE).
 * Usage: node proxy-child.js '{"kind":"pipe"|"pipe-opts"|"smartproxy","targetPort":N}'
 */
import { startPipeRelay } from './pipe-relay.js';
import { serveChild } from './child-ipc.js';
import { startBenchSmartProxy } from './smartproxy-module.js';

export type ProxyKind = 'pipe' | 'pipe-opts' | 'smartproxy';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { kind: ProxyKind; targetPort: number };
void serveChild(() =>
  cfg.kind === 'smartproxy'
    ? startBenchSmartProxy((port) => ({ name: 'bench', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: cfg.targetPort } } }))
    : startPipeRelay(cfg.targetPort, 0, cfg.kind === 'pipe-opts'),
);
