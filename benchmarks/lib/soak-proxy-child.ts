/**
 * The proxy under soak, in a process of its own (so its heap, RSS and handles are its own):
 * SmartProxy from the built package (dist_ts/index.js, or the module named by env
 * BENCH_SMARTPROXY_MODULE) on 127.0.0.1 with these routes:
 *   http port      app.soak   -> stable HTTP backend (WebSocket enabled)
 *                  flaky.soak -> the flaky HTTP backend (killed and restarted by the parent)
 *   tls port       app.soak   TLS terminated here -> stable HTTP backend (WebSocket enabled)
 *                  pass.soak  TLS passthrough by SNI -> stable TLS echo backend
 *   tcp port       L4 forward -> stable TCP echo backend
 *   tcpFlaky port  L4 forward -> the flaky backend's echo port
 * After { type: 'begin' } it sends one IProxySample a second (soak-protocol.ts); every
 * gcEvery-th sample it also forces a full collection and records heap/RSS after it and a
 * breakdown of the active resources. { type: 'stop' } runs proxy.stop() and answers with a
 * last sample. Run with --expose-gc.
 * Usage: node soak-proxy-child.js '<ISoakProxyConfig as JSON>'
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ILogger, IMetrics, IRouteConfig, ISmartProxyOptions } from '../../ts/types.js';
import { REPO_ROOT } from './net-util.js';
import { APP_HOST, FLAKY_HOST, PASS_HOST, type IProxySample, type ISoakProxyConfig, type SoakParentToProxy, type SoakProxyToParent } from './soak-protocol.js';

interface ISmartProxyLike {
  start(): Promise<void>;
  stop(): Promise<void>;
  getStats(): IMetrics;
  getDiagnostics(): { connectionRecords: number; trackedIps: number; metricsTrackedIps: number; tickerTasks: number };
  getListeningPorts(): number[];
}
type SmartProxyCtor = new (options: ISmartProxyOptions) => ISmartProxyLike;

const send = (m: SoakProxyToParent): void => {
  process.send?.(m);
};

/** A logger that prints nothing and counts warn/error calls, keeping the first few messages. */
const logCounts = { warn: 0, error: 0 };
const firstLogs: string[] = [];
function note(level: 'warn' | 'error', obj: object | string, msg?: string): void {
  logCounts[level]++;
  if (firstLogs.length < 20) {
    let detail = '';
    if (typeof obj === 'string') detail = obj;
    else {
      const err = (obj as { err?: unknown }).err;
      detail = err instanceof Error ? `${err.name}: ${err.message}` : '';
    }
    firstLogs.push(`${level}: ${msg ?? ''} ${detail}`.trim());
  }
}
const countingLogger: ILogger = {
  trace() {},
  debug() {},
  info() {},
  warn(obj, msg) {
    note('warn', obj, msg);
  },
  error(obj, msg) {
    note('error', obj, msg);
  },
  child() {
    return countingLogger;
  },
};

async function loadSmartProxy(): Promise<SmartProxyCtor> {
  const file = process.env.BENCH_SMARTPROXY_MODULE ?? resolve(REPO_ROOT, 'dist_ts/index.js');
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { SmartProxy?: SmartProxyCtor };
  if (typeof mod.SmartProxy !== 'function') throw new Error(`${file} does not export SmartProxy`);
  return mod.SmartProxy;
}

function routes(cfg: ISoakProxyConfig): IRouteConfig[] {
  const { ports, targets } = cfg;
  const to = (port: number) => ({ host: '127.0.0.1', port });
  return [
    { name: 'http-app', match: { ports: ports.http, domains: APP_HOST }, action: { type: 'forward', target: to(targets.app), websocket: { enabled: true } } },
    { name: 'http-flaky', match: { ports: ports.http, domains: FLAKY_HOST }, action: { type: 'forward', target: to(targets.flakyHttp) } },
    {
      name: 'https-app',
      match: { ports: ports.tls, domains: APP_HOST },
      action: { type: 'forward', target: to(targets.app), websocket: { enabled: true }, tls: { mode: 'terminate', certificate: cfg.appCert } },
    },
    { name: 'tls-pass', match: { ports: ports.tls, domains: PASS_HOST }, action: { type: 'forward', target: to(targets.tlsEcho), tls: { mode: 'passthrough' } } },
    { name: 'tcp', match: { ports: ports.tcp }, action: { type: 'forward', target: to(targets.echo) } },
    { name: 'tcp-flaky', match: { ports: ports.tcpFlaky }, action: { type: 'forward', target: to(targets.flakyEcho) } },
  ];
}

/**
 * The proxy process's TCP sockets by role and state, from the handles Node keeps alive
 * (process._getActiveHandles: undocumented, diagnostics only): 'client@http open',
 * 'upstream->app readOnly', ... A connected socket whose peer address can no longer be read
 * (the peer process is gone) shows as 'upstream->?'.
 */
function socketRoles(cfg: ISoakProxyConfig): Record<string, number> {
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  const out: Record<string, number> = {};
  if (typeof getHandles !== 'function') return out;
  const listen = new Map<number, string>(Object.entries(cfg.ports).map(([k, v]) => [v, k]));
  const target = new Map<number, string>(Object.entries(cfg.targets).map(([k, v]) => [v, k]));
  for (const h of getHandles.call(process)) {
    if (!(h instanceof net.Socket)) continue;
    let local: number | undefined;
    try {
      local = (h.address() as net.AddressInfo).port;
    } catch {
      local = undefined;
    }
    const remote = h.remotePort;
    let role: string;
    if (local !== undefined && listen.has(local)) role = `client@${listen.get(local)}`;
    else if (remote !== undefined && target.has(remote)) role = `upstream->${target.get(remote)}`;
    else if (local === undefined) role = 'no local address (closed underneath)';
    else if (remote === undefined) role = 'upstream->? (peer address gone)';
    else role = 'other';
    const state = h.destroyed ? 'destroyed' : h.readyState;
    const key = `${role} ${state}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

function resourceCounts(): { total: number; byName: Record<string, number> } {
  const names = process.getActiveResourcesInfo();
  const byName: Record<string, number> = {};
  for (const n of names) byName[n] = (byName[n] ?? 0) + 1;
  return { total: names.length, byName };
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ISoakProxyConfig;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the soak proxy child with --expose-gc');
  const SmartProxy = await loadSmartProxy();
  const proxy = new SmartProxy({
    routes: routes(cfg),
    listenAddress: '127.0.0.1',
    // One client IP opens hundreds of connections a second: the per-IP defaults are lifted.
    maxConnectionsPerIP: 0,
    connectionRateLimitPerMinute: 0,
    metrics: { enabled: true },
    ...(cfg.options as Partial<ISmartProxyOptions>),
    logger: countingLogger,
  });
  await proxy.start();

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let n = 0;
  const take = (withGc: boolean): IProxySample => {
    const m = process.memoryUsage();
    const res = resourceCounts();
    const d = proxy.getDiagnostics();
    const stats = proxy.getStats();
    const cpu = process.cpuUsage();
    const s: IProxySample = {
      ts: Date.now(),
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      rss: m.rss,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      handles: res.total,
      tcpSockets: res.byName.TCPSocketWrap ?? 0,
      tcpServers: res.byName.TCPServerWrap ?? 0,
      records: d.connectionRecords,
      active: stats.connections.active(),
      trackedIps: d.trackedIps,
      metricsTrackedIps: d.metricsTrackedIps,
      tickerTasks: d.tickerTasks,
      cpuMs: (cpu.user + cpu.system) / 1000,
      loopP99Ms: loop.percentile(99) / 1e6,
      requestsTotal: stats.requests.total(),
      connectionsTotal: stats.totals.connections(),
      logWarn: logCounts.warn,
      logError: logCounts.error,
    };
    loop.reset();
    if (withGc) {
      gc();
      const after = process.memoryUsage();
      s.heapAfterGc = after.heapUsed;
      s.rssAfterGc = after.rss;
      s.resources = res.byName;
    }
    return s;
  };

  let timer: NodeJS.Timeout | undefined;
  process.on('message', (msg: SoakParentToProxy) => {
    if (msg.type === 'begin' && timer === undefined) {
      timer = setInterval(() => {
        n++;
        send({ type: 'sample', sample: take(n % cfg.gcEvery === 0) });
      }, 1000);
    } else if (msg.type === 'sockets') {
      send({ type: 'sockets', sockets: socketRoles(cfg) });
    } else if (msg.type === 'stop') {
      clearInterval(timer);
      const t0 = performance.now();
      void proxy.stop().then(
        async () => {
          const stopMs = performance.now() - t0;
          // Let close callbacks run before the last look.
          await new Promise((r) => setTimeout(r, 500));
          send({ type: 'stopped', stopMs, sample: take(true), firstLogs, sockets: socketRoles(cfg) });
        },
        (e: unknown) => send({ type: 'error', message: `stop() failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` }),
      );
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ports: proxy.getListeningPorts() });
}

process.on('uncaughtException', (e) => {
  send({ type: 'error', message: `uncaught exception in the proxy process: ${e.stack ?? e.message}` });
  process.stderr.write(`[soak proxy] uncaught exception: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  send({ type: 'error', message: `unhandled rejection in the proxy process: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
  process.stderr.write(`[soak proxy] unhandled rejection: ${String(e)}\n`);
  process.exit(1);
});

main().catch((e: unknown) => {
  send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
  process.disconnect?.();
});
