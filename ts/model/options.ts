/** ISmartProxyOptions: every option of the proxy, with its default (docs/options.md is generated from these comments). */
import type { IRouteTarget, ProxyProtocolVersion } from './route-basics.js';
import type { IRouteSecurity } from './route-security.js';
import type { IRouteConfig } from './route.js';
import type { IAcmeOptions, ICertProvisionResult, ILogger, IMetricsOptions, INodeInternalsOptions, ITlsOptions, IZombieOptions } from './option-parts.js';

/** Options of `new SmartProxy(options)`; only `routes` is required. docs/options.md lists every field with its default. */
export interface ISmartProxyOptions {
  /**
   * The route table (required). Validated and compiled at construction; every problem is reported in one
   * SmartProxyConfigError (`errors`).
   */
  routes: IRouteConfig[];
  /**
   * Applied to routes that lack them: `target` (for 'forward' routes without one) and `security` (merged
   * under the route's own); `preserveSourceIP` is 19.x's and warned when true.
   */
  defaults?: { target?: IRouteTarget; security?: IRouteSecurity; preserveSourceIP?: boolean };
  /**
   * ms to wait for the first bytes when a route decision needs them (SNI, Host); also closes a connection
   * that sent some but not enough.
   * @default 60000
   */
  initialDataTimeout?: number;
  /**
   * ms to establish a backend connection (TLS handshake included for re-encryption); then 504 at HTTP,
   * close at L4.
   * @default 30000
   */
  connectionTimeout?: number;
  /**
   * ms from a request's last byte sent upstream to the response head; then 504.
   * @default 60000
   */
  responseTimeout?: number;
  /**
   * ms from the first byte of a request head to its end, for every request on a connection; then 408 and
   * close.
   * @default 30000
   */
  headersTimeout?: number;
  /**
   * ms a half-closed connection (one side sent FIN) may stay idle before both sides are closed (0 = no
   * limit).
   * @default 60000
   */
  halfCloseTimeout?: number;
  /**
   * ms a connection may be idle while no HTTP request waits on its backend (0 = no limit); closes with
   * socket_timeout.
   * @default 3600000
   */
  socketTimeout?: number;
  /**
   * ms without traffic either way before a connection is closed (keep-alive connections: see
   * keepAliveTreatment).
   * @default 14400000
   */
  inactivityTimeout?: number;
  /**
   * ms, a hard cap on a connection's age.
   * @default 86400000
   */
  maxConnectionLifetime?: number;
  /**
   * How TCP keep-alive connections are timed out: 'standard' (as any), 'extended' (inactivity x
   * keepAliveInactivityMultiplier, lifetime extendedKeepAliveLifetime), 'immortal' (no idle or age limit).
   * @default 'extended'
   */
  keepAliveTreatment?: 'standard' | 'extended' | 'immortal';
  /**
   * The inactivity multiplier under 'extended'.
   * @default 6
   */
  keepAliveInactivityMultiplier?: number;
  /**
   * The lifetime cap of keep-alive connections under 'extended' (ms).
   * @default 604800000
   */
  extendedKeepAliveLifetime?: number;
  /**
   * TCP keep-alive probes on client and backend sockets.
   * @default true
   */
  keepAlive?: boolean;
  /**
   * ms of idleness before the first keep-alive probe.
   * @default 10000
   */
  keepAliveInitialDelay?: number;
  /**
   * ms between sweeps for zombie connections (idle limits themselves fire on time, on the shared deadline
   * service).
   * @default 60000
   */
  inactivityCheckInterval?: number;
  /**
   * ms stop() waits for open connections before closing them.
   * @default 30000
   */
  gracefulShutdownTimeout?: number;
  /**
   * Concurrent connections per client IP (0 = unlimited).
   * @default 100
   */
  maxConnectionsPerIP?: number;
  /**
   * New connections per client IP per rolling minute (0 = unlimited).
   * @default 300
   */
  connectionRateLimitPerMinute?: number;
  /**
   * Concurrent connections in all (0 = unlimited).
   * @default 0
   */
  maxConnections?: number;
  /**
   * Parse PROXY v1/v2 headers, only from `proxyIPs` (a connection from there must send one).
   * @default false
   */
  acceptProxyProtocol?: boolean;
  /**
   * Trusted upstream proxies (IPs, CIDRs): they may send PROXY headers, and their X-Forwarded-For is
   * appended to.
   * @default []
   */
  proxyIPs?: string[];
  /**
   * Default for routes: prepend a PROXY header ('v1', 'v2'; true means 'v1') to backend connections.
   * @default false
   */
  sendProxyProtocol?: boolean | ProxyProtocolVersion;
  /** ACME (RFC 8555, HTTP-01) certificates for terminating routes with certificate: 'auto'. */
  acme?: IAcmeOptions;
  /**
   * A certificate for a domain of a route with certificate: 'auto': `{ key, cert }`, 19.x's certificate
   * object (`privateKey`, chain in `publicKey`), or 'http01' to order it from ACME. Bounded to 60 s per
   * call.
   */
  certProvisionFunction?: (domain: string) => Promise<ICertProvisionResult>;
  /** Throughput, connection and request metrics (getStats()). */
  metrics?: IMetricsOptions;
  /**
   * The address every listener binds.
   * @default '::' (dual-stack), else '0.0.0.0'
   */
  listenAddress?: string;
  /**
   * A pino-compatible logger, used as given.
   * @default pino at level 'warn' to stderr ('silent' when NODE_ENV=test)
   */
  logger?: ILogger;
  /**
   * +-5% on inactivity and lifetime limits, so connections opened together do not close together.
   * @default false
   */
  timeoutJitter?: boolean;
  /** Rules of the zombie sweep. */
  zombie?: IZombieOptions;
  /**
   * Most bytes read while sniffing (ClientHello, request head) before a decision is forced (at least 1024).
   * @default 65536
   */
  maxSniffBytes?: number;
  /** Tricks that reach into Node's private surface, each with a tested fallback. */
  nodeInternals?: INodeInternalsOptions;
  /** The TLS front door of terminating routes: ciphers, versions, curves, sessions, the default certificate. */
  tls?: ITlsOptions;
  /**
   * Nagle's algorithm off (TCP_NODELAY) on every client and backend socket.
   * @default true
   */
  noDelay?: boolean;
  /**
   * Bytes of a client's request held while its backend connection opens or its response is awaited; past it
   * the client is not read until the backend takes them (at least 1024).
   * @default 65536
   */
  maxPendingDataSize?: number;
  /**
   * false: terminated TLS connections get no session tickets (TLS 1.2 resumption by ticket off).
   * @default true
   */
  allowSessionTicket?: boolean;
  /**
   * true: no inactivity limit at all (inactivityTimeout is not applied).
   * @default false
   */
  disableInactivityCheck?: boolean;
  /**
   * When certProvisionFunction throws (or times out) for a domain, order its certificate from ACME instead
   * (when acme is configured).
   * @default true
   */
  certProvisionFallbackToAcme?: boolean;
  /** 19.x name of keepAlive. */
  enableKeepAliveProbes?: boolean;
  /** 19.x name of timeoutJitter. */
  enableRandomizedTimeouts?: boolean;
  /** @deprecated 19.x: not used (warned once): pass a logger at level 'debug' instead. */
  enableDetailedLogging?: boolean;
  /** @deprecated 19.x: not used (warned once): pass a logger at level 'debug' instead. */
  enableTlsDebugLogging?: boolean;
  /** @deprecated 19.x: HTTP is handled in process on every port; not used (warned once). */
  useHttpProxy?: number[];
  /** @deprecated 19.x: there is no internal HttpProxy port; not used (warned once). */
  httpProxyPort?: number;
  /** @deprecated 19.x (before 19.3): there is no internal NetworkProxy port; not used (warned once). */
  networkProxyPort?: number;
  /** @deprecated 19.x (before 19.3): not used (warned once). */
  useNetworkProxy?: number[];
  /**
   * @deprecated 19.x: the client address cannot be kept toward backends (no transparent proxying); true is
   * warned once: use sendProxyProtocol so backends learn it.
   */
  preserveSourceIP?: boolean;
  /** 19.x: the default certificate's key (PEM; see tls.defaultCertificate). */
  key?: string | Buffer;
  /** 19.x: the default certificate's chain (PEM; see tls.defaultCertificate). */
  cert?: string | Buffer;
  /** 19.x: the default certificate as a PKCS#12 bundle holding an RSA key (see tls.defaultCertificate). */
  pfx?: string | Buffer;
  /** 19.x: the passphrase of `key` or `pfx`. */
  passphrase?: string;
}
