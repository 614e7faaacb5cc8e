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

/** Per-route ACME settings as 19.x wrote them (`action.tls.acme`); used when the options have no `acme`. */
export interface IRouteAcme {
  /** Account contact (`acme.email`). */
  email?: string;
  /** true: Let's Encrypt production; false (19.x's default): staging. */
  useProduction?: boolean;
  /** Port of the HTTP-01 challenge listener (`acme.port`). */
  challengePort?: number;
  /** Renew this many days before expiry (`acme.renewThresholdDays`). */
  renewBeforeDays?: number;
}

export interface IRouteTls {
  mode: TlsMode;
  /** 'auto': from ACME or certProvisionFunction; or a PEM pair. Default for terminating modes: 'auto'. */
  certificate?: 'auto' | { key: string; cert: string };
  /** 'terminate-and-reencrypt': verify the backend's certificate (default false). */
  verifyBackend?: boolean;
  /** 'terminate-and-reencrypt': CAs (PEM) trusted for the backend when verifying; default the system store. */
  backendCa?: string[];
  /** 19.x: ACME settings for this route's certificate (see IRouteAcme). */
  acme?: IRouteAcme;
  /** 19.x: the TLS versions this route's handshakes may use, e.g. ['TLSv1.2', 'TLSv1.3']. */
  versions?: string[];
}

export interface IRouteMatch {
  ports: PortSpec;
  /** SNI for TLS, Host for HTTP; '*.example.com' (never the apex); '*' alone matches every connection. */
  domains?: string | string[];
  /** HTTP only: '/api/*', '/users/:id'. */
  path?: string;
  /** '10.0.0.0/8', '192.168.1.*', '::1', '::ffff:1.2.3.4'. */
  clientIp?: string[];
  /** 'TLSv1.2', 'TLSv1.3'. */
  tlsVersion?: string[];
  headers?: Record<string, string | RegExp>;
}

/** Header rules: values are templates ({clientIp}, {domain}, {path}, ...; see docs/options.md). */
export interface IRouteHeaders {
  request?: Record<string, string>;
  response?: Record<string, string>;
}

export interface IRouteWebSocket {
  /** false: refuse WebSocket upgrades on this route (403). */
  enabled?: boolean;
  /** Ping the client after this much silence from it (ms). */
  pingIntervalMs?: number;
  /** Close a client that answers no ping for this long (ms; default pingIntervalMs). */
  pingTimeoutMs?: number;
  /** 19.x name of pingIntervalMs. */
  pingInterval?: number;
  /** 19.x name of pingTimeoutMs. */
  pingTimeout?: number;
}

/** Active health checks of a load-balanced route's targets (contract; ms). */
export interface IHealthCheck {
  type?: 'tcp' | 'http';
  path?: string;
  interval?: number;
  timeout?: number;
  unhealthyThreshold?: number;
  healthyThreshold?: number;
  expectStatus?: number[];
}

export interface ILoadBalancing {
  algorithm: 'round-robin' | 'least-connections' | 'ip-hash';
  healthCheck?: IHealthCheck;
}

/** 19.x `action.nftables`: kernel forwarding settings; this proxy forwards in process (accepted, warned). */
export interface INfTablesOptions {
  preserveSourceIP?: boolean;
  protocol?: 'tcp' | 'udp' | 'all';
  maxRate?: string;
  priority?: number;
  tableName?: string;
  useIPSets?: boolean;
  useAdvancedNAT?: boolean;
}

/** 19.x `action.advanced`. `headers` are request header rules; the rest is accepted with a warning. */
export interface IRouteAdvanced {
  timeout?: number;
  headers?: Record<string, string>;
  keepAlive?: boolean;
  staticFiles?: { root: string; index?: string[]; headers?: Record<string, string> };
  urlRewrite?: { pattern: string; target: string; flags?: string; onlyRewritePath?: boolean };
}

export interface IRouteAction {
  type: 'forward' | 'socket-handler';
  /** Force L4 ('tcp') or HTTP-level ('http') handling. */
  protocol?: 'tcp' | 'http';
  target?: IRouteTarget;
  tls?: IRouteTls;
  websocket?: IRouteWebSocket;
  loadBalancing?: ILoadBalancing;
  headers?: IRouteHeaders;
  sendProxyProtocol?: ProxyProtocolVersion | boolean;
  socketHandler?: (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;
  /** 19.x: 'node' (this proxy) or 'nftables' (kernel forwarding: not available, forwarded in process with a warning). */
  forwardingEngine?: 'node' | 'nftables';
  nftables?: INfTablesOptions;
  advanced?: IRouteAdvanced;
}

export interface IBasicAuth {
  users: Array<{ username: string; password: string }>;
  realm?: string;
  /** 19.x: false turns the check off. */
  enabled?: boolean;
  /** Paths (patterns as match.path) that need no credentials. */
  excludePaths?: string[];
}

export interface IRateLimit {
  maxRequests: number;
  /** Window length in seconds. */
  windowSeconds?: number;
  /** 19.x name of windowSeconds. */
  window?: number;
  keyBy?: 'ip' | 'path' | 'header';
  headerName?: string;
  /** 19.x: false turns the limit off. */
  enabled?: boolean;
  /** Body of the 429 answer. */
  errorMessage?: string;
}

/** Bearer JWTs (HS256 with `secret`, RS256 with `publicKey`); a missing or bad token gets 401. */
export interface IJwtAuth {
  /** false turns the check off. */
  enabled?: boolean;
  /** HS256 shared secret. */
  secret?: string;
  /** RS256: the PEM public key (or certificate) tokens are verified with. */
  publicKey?: string;
  /** Default 'HS256' with `secret`, 'RS256' with `publicKey`. */
  algorithm?: 'HS256' | 'RS256';
  issuer?: string;
  audience?: string;
  /** 19.x: the lifetime tokens are issued with; accepted (verification uses each token's own exp). */
  expiresIn?: number;
  /** Paths (patterns as match.path) that need no token. */
  excludePaths?: string[];
}

export interface IRouteSecurity {
  /** Block wins over allow. */
  ipAllowList?: string[];
  ipBlockList?: string[];
  /** Open connections on this route (0 = unlimited). */
  maxConnections?: number;
  /** Open connections on this route per client IP (0 = unlimited). */
  maxConnectionsPerIP?: number;
  basicAuth?: IBasicAuth;
  rateLimit?: IRateLimit;
  jwtAuth?: IJwtAuth;
}

export interface IRouteConfig {
  /** Key for metrics, certificate status and logs; generated ('route-<index>') when absent. */
  name?: string;
  /** 19.x: an identifier of your own (kept, not used). */
  id?: string;
  description?: string;
  tags?: string[];
  /** Higher wins. */
  priority?: number;
  /** false: the route is compiled (validated) but not used. */
  enabled?: boolean;
  match: IRouteMatch;
  action: IRouteAction;
  security?: IRouteSecurity;
  /** 19.x route-level header rules (the same as action.headers). */
  headers?: IRouteHeaders;
}

/** ACME (RFC 8555) certificates by HTTP-01 for terminating routes with `certificate: 'auto'` (docs/acme.md). */
export interface IAcmeOptions {
  /** Account contact, sent as `mailto:<email>` (required unless `accountEmail` is given). */
  email?: string;
  /** 19.x name of email. */
  accountEmail?: string;
  /** 19.x: 'production' or 'staging' Let's Encrypt directory, when `directoryUrl` is not set. */
  environment?: 'production' | 'staging';
  /** 19.x: false stops renewal checks (certificates are still ordered once). Default true. */
  autoRenew?: boolean;
  /** 19.x: routes with a static certificate are never ordered by ACME (always so here). */
  skipConfiguredCerts?: boolean;
  /** 19.x: extra forwards of the challenge port (not used here: accepted with a warning). */
  routeForwards?: unknown[];
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
  defaultCertificate?: IDefaultCertificate;
}

/**
 * The default certificate: a PEM pair (the key may be encrypted, with `passphrase`) or a
 * PKCS#12 bundle (`pfx`, with `passphrase`). Strings or Buffers.
 */
export type IDefaultCertificate =
  | { key: string | Buffer; cert: string | Buffer; passphrase?: string }
  | { pfx: string | Buffer; passphrase?: string };

/**
 * 19.x's certificate object (@tsclass ICert): `privateKey` is the key PEM, `publicKey` the
 * certificate chain PEM; the other fields are accepted and not used.
 */
export interface ICertificateObject {
  privateKey: string;
  publicKey: string;
  id?: string;
  domainName?: string;
  created?: number;
  validUntil?: number;
  csr?: string;
}

/** What certProvisionFunction answers. */
export type ICertProvisionResult = { key: string; cert: string } | ICertificateObject | 'http01';

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
  /**
   * A certificate for a domain of a route with `certificate: 'auto'`: `{ key, cert }` (PEM), 19.x's
   * certificate object (`privateKey`, certificate PEM in `publicKey`), or 'http01' to order it from ACME.
   */
  certProvisionFunction?: (domain: string) => Promise<ICertProvisionResult>;
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
  /** Nagle's algorithm off (TCP_NODELAY) on every client and backend socket. Default true. */
  noDelay?: boolean;
  /**
   * Bytes of a client's request body held while its backend connection opens; past it the
   * client is no longer read until the backend takes them. Default 65 536 (at least 1024).
   */
  maxPendingDataSize?: number;
  /** false: terminated TLS connections get no session tickets (full handshakes only). Default true. */
  allowSessionTicket?: boolean;
  /** true: no inactivity limit at all (inactivityTimeout is not applied). Default false. */
  disableInactivityCheck?: boolean;
  /** When certProvisionFunction throws for a domain, order its certificate from ACME instead (if acme is set). Default true. */
  certProvisionFallbackToAcme?: boolean;
  /** 19.x name of keepAlive (TCP keep-alive probes on client and backend sockets). */
  enableKeepAliveProbes?: boolean;
  /** 19.x name of timeoutJitter (+-5% on inactivity and lifetime limits). */
  enableRandomizedTimeouts?: boolean;
  /** @deprecated 19.x: not used, logged once; pass a logger at level 'debug' instead. */
  enableDetailedLogging?: boolean;
  /** @deprecated 19.x: not used, logged once; pass a logger at level 'debug' instead. */
  enableTlsDebugLogging?: boolean;
  /** @deprecated 19.x: HTTP is handled in process on every port; not used, logged once. */
  useHttpProxy?: number[];
  /** @deprecated 19.x: there is no internal HttpProxy port; not used, logged once. */
  httpProxyPort?: number;
  /** @deprecated 19.x (pre-19.3): there is no internal NetworkProxy port; not used, logged once. */
  networkProxyPort?: number;
  /** @deprecated 19.x (pre-19.3): not used, logged once. */
  useNetworkProxy?: number[];
  /**
   * @deprecated 19.x: the client address cannot be kept toward backends (no transparent
   * proxying); `true` is logged once; use sendProxyProtocol so backends learn it.
   */
  preserveSourceIP?: boolean;
  /** 19.x: the default certificate's key (see tls.defaultCertificate). */
  key?: string | Buffer;
  /** 19.x: the default certificate's chain (see tls.defaultCertificate). */
  cert?: string | Buffer;
  /** 19.x: the default certificate as a PKCS#12 bundle (see tls.defaultCertificate). */
  pfx?: string | Buffer;
  /** 19.x: the passphrase of `key` or `pfx`. */
  passphrase?: string;
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
