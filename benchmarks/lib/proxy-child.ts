/**
 * Child-process entry that runs one L4 proxy under test (IPC: child-ipc.ts): the plain pipe
 * relay, the pipe relay with the contract's socket options, or SmartProxy with one forward
 * route named 'bench' (from the built package, or the module named by env
 * BENCH_SMARTPROXY_MODULE). For SmartProxy, `options` (JSON) go over the benchmark defaults,
 * e.g. `{ "metrics": { "enabled": false } }`, and `protocol` forces the route's layer
 * (`action.protocol`: 'http' runs the HTTP engine).
 * Usage: node proxy-child.js '{"kind":"pipe"|"pipe-opts"|"smartproxy","targetPort":N,"options"?:{...},"protocol"?:"tcp"|"http"}'
 */
import { startPipeRelay } from './pipe-relay.js';
import { serveChild } from './child-ipc.js';
import { startBenchSmartProxy, type BenchProxyOptions } from './smartproxy-module.js';

export type ProxyKind = 'pipe' | 'pipe-opts' | 'smartproxy';

export interface IProxyChildConfig {
  kind: ProxyKind;
  targetPort: number;
  options?: BenchProxyOptions;
  protocol?: 'tcp' | 'http';
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as IProxyChildConfig;
void serveChild(() =>
  cfg.kind === 'smartproxy'
    ? startBenchSmartProxy(
        (port) => ({
          name: 'bench',
          match: { ports: port },
          action: { type: 'forward', target: { host: '127.0.0.1', port: cfg.targetPort }, ...(cfg.protocol ? { protocol: cfg.protocol } : {}) },
        }),
        cfg.options,
      )
    : startPipeRelay(cfg.targetPort, 0, cfg.kind === 'pipe-opts'),
);
