/**
 * Child-process entry running one SmartProxy with caller-chosen options (proxy-child.ts runs a
 * fixed configuration). One L4 forward route named 'bench' to 127.0.0.1:targetPort; `options`
 * (JSON) is spread over the benchmark defaults, so e.g. `{ "metrics": { "enabled": false } }`.
 * IPC, as proxy-child.ts plus a stats query:
 *   parent -> { type: 'cpu' } | { type: 'stats' } | { type: 'stop' }
 *   child  -> { type: 'ready', port } | { type: 'cpu', ms } | { type: 'stats', stats } | { type: 'error', message }
 * Usage: node --import tsx options-proxy-child.ts '{"targetPort":N,"options":{...}}'
 */
import type { ISmartProxyOptions } from '../../ts/types.js';
import { freePort } from './net-util.js';
import { selfCpuMs } from './cpu.js';
import { loadSmartProxy, silentLogger } from './smartproxy-module.js';

export interface IProxyStats {
  bytesIn: number;
  bytesOut: number;
  connections: number;
  requests: number;
}

export type OptionsChildToParent =
  | { type: 'ready'; port: number }
  | { type: 'cpu'; ms: number }
  | { type: 'stats'; stats: IProxyStats }
  | { type: 'error'; message: string };
export type OptionsParentToChild = { type: 'cpu' } | { type: 'stats' } | { type: 'stop' };

/** JSON-serialisable options merged over the defaults below (routes, logger and listenAddress are set here). */
export type ChildProxyOptions = Omit<ISmartProxyOptions, 'routes' | 'logger' | 'certProvisionFunction'>;

export interface IOptionsChildConfig {
  targetPort: number;
  options?: ChildProxyOptions;
  /** Force the route's layer (`action.protocol`): 'http' runs the HTTP engine. */
  protocol?: 'tcp' | 'http';
}

async function main(): Promise<void> {
  const send = (m: OptionsChildToParent): void => {
    process.send?.(m);
  };
  try {
    const cfg = JSON.parse(process.argv[2] ?? '{}') as IOptionsChildConfig;
    const SmartProxy = await loadSmartProxy();
    const port = await freePort();
    const proxy = new SmartProxy({
      // One load-generator IP opens many connections: lift the per-IP defaults.
      maxConnectionsPerIP: 0,
      connectionRateLimitPerMinute: 0,
      ...cfg.options,
      routes: [
        {
          name: 'bench',
          match: { ports: port },
          action: { type: 'forward', target: { host: '127.0.0.1', port: cfg.targetPort }, ...(cfg.protocol ? { protocol: cfg.protocol } : {}) },
        },
      ],
      listenAddress: '127.0.0.1',
      logger: silentLogger,
    });
    await proxy.start();
    process.on('message', (m: OptionsParentToChild) => {
      if (m.type === 'cpu') send({ type: 'cpu', ms: selfCpuMs() });
      else if (m.type === 'stats') {
        const s = proxy.getStats();
        send({
          type: 'stats',
          stats: { bytesIn: s.totals.bytesIn(), bytesOut: s.totals.bytesOut(), connections: s.connections.total(), requests: s.requests.total() },
        });
      } else if (m.type === 'stop') {
        const hard = setTimeout(() => process.exit(0), 5000);
        hard.unref();
        void proxy.stop().finally(() => process.exit(0));
      }
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready', port });
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
    process.exitCode = 1;
    process.disconnect?.();
  }
}

void main();
