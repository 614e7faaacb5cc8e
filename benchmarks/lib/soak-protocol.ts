/**
 * Shapes shared by the soak benchmark (benchmarks/soak.ts) and its child processes:
 * the proxy child (soak-proxy-child.ts) and the backend children (soak-backend-child.ts).
 * Everything here crosses a child IPC channel as JSON.
 */

/** Host names the soak uses (never resolved: clients connect to 127.0.0.1 and send these in Host / SNI). */
export const APP_HOST = 'app.soak';
export const FLAKY_HOST = 'flaky.soak';
export const PASS_HOST = 'pass.soak';

/** The proxy's listening ports (picked free on 127.0.0.1 by the parent). */
export interface ISoakProxyPorts {
  /** Plain HTTP: app.soak (with WebSocket) and flaky.soak. */
  http: number;
  /** TLS by SNI: app.soak terminated at the proxy (with WebSocket), pass.soak passed through. */
  tls: number;
  /** L4 TCP forward to the stable echo backend. */
  tcp: number;
  /** L4 TCP forward to the flaky backend's echo port. */
  tcpFlaky: number;
}

/** Backend ports the proxy forwards to. */
export interface ISoakTargets {
  app: number;
  tlsEcho: number;
  echo: number;
  flakyHttp: number;
  flakyEcho: number;
}

export interface IPem {
  key: string;
  cert: string;
}

/** argv[2] of soak-proxy-child.ts. */
export interface ISoakProxyConfig {
  ports: ISoakProxyPorts;
  targets: ISoakTargets;
  /** Certificate for app.soak (terminated at the proxy). */
  appCert: IPem;
  /** A forced full GC (and a resource breakdown) every this many samples. */
  gcEvery: number;
  /** Merged into the proxy options (SOAK_PROXY_OPTIONS). */
  options: Record<string, unknown>;
}

/** argv[2] of soak-backend-child.ts. */
export type SoakBackendConfig =
  | { kind: 'stable'; passCert: IPem }
  /** Ports fixed by the parent so a restarted backend comes back where the proxy expects it. */
  | { kind: 'flaky'; httpPort: number; echoPort: number };

/** One sample of the proxy process, taken in that process once per second. */
export interface IProxySample {
  /** Date.now() when taken. */
  ts: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /** process.getActiveResourcesInfo().length */
  handles: number;
  /** 'TCPSocketWrap' entries among them (TLS sockets included: they sit on one). */
  tcpSockets: number;
  /** 'TCPServerWrap' entries (the listeners). */
  tcpServers: number;
  /** getDiagnostics().connectionRecords */
  records: number;
  /** getStats().connections.active() */
  active: number;
  trackedIps: number;
  metricsTrackedIps: number;
  tickerTasks: number;
  /** Cumulative user+system CPU ms of the proxy process. */
  cpuMs: number;
  /** Event-loop delay p99 over the last second, ms. */
  loopP99Ms: number;
  /** getStats().requests.total() and totals.connections(). */
  requestsTotal: number;
  connectionsTotal: number;
  /** Cumulative warn / error calls on the proxy's logger. */
  logWarn: number;
  logError: number;
  /** On every gcEvery-th sample: heap and RSS right after a forced full collection. */
  heapAfterGc?: number;
  rssAfterGc?: number;
  /** On the same samples: process.getActiveResourcesInfo() counted by name. */
  resources?: Record<string, number>;
}

export type SoakProxyToParent =
  | { type: 'ready'; ports: number[] }
  | { type: 'sample'; sample: IProxySample }
  | { type: 'stopped'; stopMs: number; sample: IProxySample; firstLogs: string[]; sockets: Record<string, number> }
  | { type: 'sockets'; sockets: Record<string, number> }
  | { type: 'error'; message: string };

export type SoakParentToProxy = { type: 'begin' } | { type: 'sockets' } | { type: 'stop' };

export type SoakBackendToParent =
  | { type: 'ready'; targets: Partial<ISoakTargets> }
  | { type: 'error'; message: string };

export type SoakParentToBackend = { type: 'stop' };
