/**
 * Child-process entry running one SmartProxy with caller-chosen options (proxy-child.ts runs a
 * fixed configuration; IPC: child-ipc.ts, stats included). One forward route named 'bench' to
 * 127.0.0.1:targetPort; `options` (JSON) go over the benchmark defaults, e.g.
 * `{ "metrics": { "enabled": false } }`.
 * Usage: node options-proxy-child.js '{"targetPort":N,"options":{...},"protocol"?:"tcp"|"http"}'
 */
import { serveChild } from './child-ipc.js';
import { startBenchSmartProxy, type BenchProxyOptions } from './smartproxy-module.js';

export interface IOptionsChildConfig {
  targetPort: number;
  options?: BenchProxyOptions;
  /** Force the route's layer (`action.protocol`): 'http' runs the HTTP engine. */
  protocol?: 'tcp' | 'http';
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as IOptionsChildConfig;
void serveChild(() =>
  startBenchSmartProxy(
    (port) => ({
      name: 'bench',
      match: { ports: port },
      action: { type: 'forward', target: { host: '127.0.0.1', port: cfg.targetPort }, ...(cfg.protocol ? { protocol: cfg.protocol } : {}) },
    }),
    cfg.options,
  ),
);
