/**
 * The public shapes of ../shared/api-contract.md: options, routes, route context, metrics.
 */
import type * as net from 'node:net';

export type PortRange = { from: number; to: number };
export type PortSpec = number | number[] | PortRange[] | Array<number | PortRange>;
export type TlsMode = 'passthrough' | 'terminate' | 'terminate-and-reencrypt';
export type ProxyProtocolVersion = false | 'v1' | 'v2';

/** What user code (target functions, socket handlers, templates) sees of a connection or request. Read-only. */
export interface IRouteContext {
  readonly connectionId: string;
  /** The port the client connected to. */
  readonly port: number;
  /** SNI (TLS) or Host without port (HTTP), lower-cased; undefined when the client gave none. */
  readonly domain?: string;
  readonly clientIp: string;
  readonly clientPort: number;
  /** Local address the client connected to. */
  readonly serverIp: string;
  readonly isTls: boolean;
  readonly tlsVersion?: string;
  readonly routeName?: string;
  readonly routeIndex?: number;
  readonly timestamp: number;
  /** HTTP level only. */
  readonly path?: string;
  readonly query?: string;
  readonly method?: string;
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Parameters captured by a path pattern such as `/users/:id`. */
  readonly params?: Readonly<Record<string, string>>;
}

export type TargetHost = string | string[] | ((ctx: IRouteContext) => string | string[]);
export type TargetPort = number | 'preserve' | ((ctx: IRouteContext) => number);

export interface IRouteTarget {
  host: TargetHost;
  port: TargetPort;
  /**
   * HTTP only: rewrite the request path. A template: `{remainder}` (what the route's path
   * pattern left after its literal prefix, e.g. '/users/7' for '/api/*' on '/api/users/7'),
   * `{path}` (the whole path) and `{name}` for each `:name` parameter. The query string is kept.
   * Example: `{ path: '/v2{remainder}' }`.
   */
  path?: string;
}

export interface IRouteTls {
  mode: TlsMode;
  certificate?: 'auto' | { key: string; cert: string };
  /** 'terminate-and-reencrypt': verify the backend's certificate (default false). */
  verifyBackend?: boolean;
  /** 'terminate-and-reencrypt': CAs (PEM) trusted for the backend when verifying; default the system store. */
  backendCa?: string[];
}

export interface IRouteMatch {
  ports: PortSpec;
  domains?: string | string[];
  path?: string;
  clientIp?: string[];
  tlsVersion?: string[];
  headers?: Record<string, string | RegExp>;
}

export interface IRouteAction {
  type: 'forward' | 'socket-handler';
  protocol?: 'tcp' | 'http';
  target?: IRouteTarget;
  tls?: IRouteTls;
  websocket?: { enabled?: boolean; pingIntervalMs?: number; pingTimeoutMs?: number };
  loadBalancing?: { algorithm: 'round-robin' | 'least-connections' | 'ip-hash' };
  headers?: { request?: Record<string, string>; response?: Record<string, string> };
  sendProxyProtocol?: ProxyProtocolVersion;
  socketHandler?: (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;
}

export interface IRouteSecurity {
  ipAllowList?: string[];
  ipBlockList?: string[];
  maxConnections?: number;
  basicAuth?: { users: Array<{ username: string; password: string }>; realm?: string };
  rateLimit?: { maxRequests: number; windowSeconds: number; keyBy?: 'ip' | 'path' | 'header'; headerName?: string };
}

export interface IRouteConfig {
  name?: string;
  priority?: number;
  enabled?: boolean;
  match: IRouteMatch;
  action: IRouteAction;
  security?: IRouteSecurity;
}

/** ACME (RFC 8555) certificates by HTTP-01 for terminating routes with `certificate: 'auto'` (docs/acme.md). */
export interface IAcmeOptions {
  /** Account contact, sent as `mailto:<email>`. */
  email: string;
  /** ACME directory. Default: Let's Encrypt production (staging with `useProduction: false`). */
  directoryUrl?: string;
  /** Port of the HTTP-01 challenge listener (default 80). */
  port?: number;
  /** Directory for issued certificates and the account key (default './certs'); files are owner-only. */
  certificateStore?: string;
  /** Renew a certificate this many days before it expires (default 30). */
  renewThresholdDays?: number;
  /** How often certificates are checked for renewal (default 24). */
  renewCheckIntervalHours?: number;
  /** PEM CA certificates trusted (besides the system roots) for the HTTPS connection to the directory. */
  caCertificates?: string[];
  /** Accepted for @push.rocks/smartproxy 19.x configs: false turns ACME off. */
  enabled?: boolean;
  /** Accepted for 19.x configs: false picks Let's Encrypt staging when `directoryUrl` is not set. */
  useProduction?: boolean;
}

export interface IMetricsOptions {
  enabled?: boolean;
  sampleIntervalMs?: number;
  retentionSeconds?: number;
  /** Most client IPs tracked individually; the rest are aggregated under `other`. */
  maxTrackedIPs?: number;
  prometheus?: { port: number; path?: string; host?: string };
}

/** Zombie-detection rules, each in ms (0 disables a rule). */
export interface IZombieOptions {
  halfZombieGraceMs?: number;
  halfZombieGraceTlsMs?: number;
  stuckGraceMs?: number;
  stuckGraceTlsMs?: number;
}

/** A pino-compatible logger: the subset SmartProxy calls. */
export interface ILogger {
  trace(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): ILogger;
}

/**
 * Tricks that reach into Node's private surface (ts/core/node-internals.ts), each with a tested
 * fallback. The first three default to true; `raiseMallocThresholds` (it changes the host
 * process's allocator: glibc's trim threshold) defaults to false.
 */
export interface INodeInternalsOptions {
  /** Build accepted sockets from the listening handle, so client sockets can read through `onread`. */
  acceptTakeover?: boolean;
  /** Relay reads through `onread` into a shared buffer instead of the Readable stream. */
  directRead?: boolean;
  /** Set Nagle-off and TCP keep-alive once on the listening socket (Linux: accepted sockets inherit them). */
  listenerSocketOptions?: boolean;
  /** At start(), raise glibc's malloc trim threshold (fewer page faults in bulk relays; ~62 MiB may stay mapped). */
  raiseMallocThresholds?: boolean;
}

/**
 * The TLS front door of terminating routes, applied through every cached secure context. The
 * server's cipher order is always enforced (honorCipherOrder), as nginx and HAProxy do.
 */
export interface ITlsOptions {
  /** OpenSSL cipher list for TLS 1.2 (default Node's); TLS 1.3 suites are Node's. */
  ciphers?: string;
  /** Lowest protocol version offered: 'TLSv1.2' (default) or 'TLSv1.3'. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Key-exchange groups in preference order, e.g. 'X25519:P-256:P-384' (default Node's 'auto'). */
  ecdhCurve?: string;
  /** Seconds a session (and its ticket's lifetime hint) stays resumable (default Node's: 7200 s hint). */
  sessionTimeout?: number;
  /**
   * The certificate for clients that send no SNI, or a name no route names, on ports with
   * terminating routes (nginx's default_server): the connection is terminated with it and each
   * request routed by its Host. Without it such connections are closed.
   */
  defaultCertificate?: { key: string; cert: string };
}

export interface ISmartProxyOptions {
  routes: IRouteConfig[];
  defaults?: { target?: IRouteTarget; security?: IRouteSecurity; preserveSourceIP?: boolean };
  initialDataTimeout?: number;
  connectionTimeout?: number;
  /** ms from the request's last byte sent upstream to the response head (else 504). Default 60 000. */
  responseTimeout?: number;
  /** ms from the first byte of a request head to its end, for every request on a connection (else 408). Default 30 000. */
  headersTimeout?: number;
  /** ms a half-closed connection (one side sent FIN) may stay idle before both sides are closed. Default 60 000. */
  halfCloseTimeout?: number;
  socketTimeout?: number;
  inactivityTimeout?: number;
  maxConnectionLifetime?: number;
  keepAliveTreatment?: 'standard' | 'extended' | 'immortal';
  keepAliveInactivityMultiplier?: number;
  extendedKeepAliveLifetime?: number;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  inactivityCheckInterval?: number;
  gracefulShutdownTimeout?: number;
  maxConnectionsPerIP?: number;
  connectionRateLimitPerMinute?: number;
  maxConnections?: number;
  acceptProxyProtocol?: boolean;
  proxyIPs?: string[];
  sendProxyProtocol?: boolean | ProxyProtocolVersion;
  acme?: IAcmeOptions;
  certProvisionFunction?: (domain: string) => Promise<{ key: string; cert: string } | 'http01'>;
  metrics?: IMetricsOptions;
  listenAddress?: string;
  logger?: ILogger;
  /** +-5% jitter on inactivity and lifetime limits, so connections opened together do not close together. */
  timeoutJitter?: boolean;
  zombie?: IZombieOptions;
  /** Largest number of bytes read while sniffing before a decision is forced. */
  maxSniffBytes?: number;
  nodeInternals?: INodeInternalsOptions;
  tls?: ITlsOptions;
}

export interface IThroughput {
  in: number;
  out: number;
}

export interface IPercentiles {
  p50: number;
  p95: number;
  p99: number;
}

export interface IMetrics {
  connections: {
    active(): number;
    total(): number;
    byRoute(): Map<string, number>;
    byIP(): Map<string, number>;
    topIPs(limit?: number): Array<{ ip: string; count: number }>;
  };
  throughput: {
    instant(): IThroughput;
    recent(): IThroughput;
    average(): IThroughput;
    custom(seconds: number): IThroughput;
    history(seconds: number): Array<{ timestamp: number; in: number; out: number }>;
    byRoute(windowSeconds?: number): Map<string, IThroughput>;
    byIP(windowSeconds?: number): Map<string, IThroughput>;
  };
  requests: {
    perSecond(): number;
    perMinute(): number;
    total(): number;
  };
  totals: {
    bytesIn(): number;
    bytesOut(): number;
    connections(): number;
  };
  percentiles: {
    connectionDuration(): IPercentiles;
    bytesTransferred(): { in: IPercentiles; out: IPercentiles };
  };
}
