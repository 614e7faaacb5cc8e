/** The option groups of ISmartProxyOptions: ACME, metrics, zombie rules, logger, Node internals, TLS, certificates. */

/** ACME (RFC 8555) certificates by HTTP-01 for terminating routes with `certificate: 'auto'` (docs/acme.md). */
export interface IAcmeOptions {
  /** Account contact, sent as `mailto:<email>`. Required (or `accountEmail`). */
  email?: string;
  /** 19.x name of email. */
  accountEmail?: string;
  /** 19.x: 'production' or 'staging' Let's Encrypt directory, when `directoryUrl` is not set. */
  environment?: 'production' | 'staging';
  /**
   * false: no periodic renewal check; certificates are still ordered (and renewed when due) at start() and
   * updateRoutes().
   * @default true
   */
  autoRenew?: boolean;
  /** 19.x: routes with a static certificate are never ordered from ACME (always so here; false is warned). */
  skipConfiguredCerts?: boolean;
  /** 19.x: extra forwards of the challenge port (not used: warned). */
  routeForwards?: unknown[];
  /**
   * ACME directory URL.
   * @default Let's Encrypt production (staging with useProduction: false)
   */
  directoryUrl?: string;
  /**
   * Port of the HTTP-01 challenge listener.
   * @default 80
   */
  port?: number;
  /**
   * Directory for issued certificates and the account key; files are owner-only.
   * @default './certs'
   */
  certificateStore?: string;
  /**
   * Renew a certificate this many days before it expires.
   * @default 30
   */
  renewThresholdDays?: number;
  /**
   * How often certificates are checked for renewal.
   * @default 24
   */
  renewCheckIntervalHours?: number;
  /** PEM CA certificates trusted (besides the system roots) for the HTTPS connection to the directory. */
  caCertificates?: string[];
  /**
   * false turns ACME off.
   * @default true
   */
  enabled?: boolean;
  /**
   * 19.x: false picks Let's Encrypt staging when `directoryUrl` is not set.
   * @default true
   */
  useProduction?: boolean;
}

/** What is measured and kept (`options.metrics`). */
export interface IMetricsOptions {
  /**
   * false: nothing is counted (getStats() reads zeros).
   * @default true
   */
  enabled?: boolean;
  /**
   * ms between throughput samples.
   * @default 1000
   */
  sampleIntervalMs?: number;
  /**
   * Seconds of per-second history kept (at least 60).
   * @default 3600
   */
  retentionSeconds?: number;
  /**
   * Most client IPs tracked individually; the rest are aggregated under 'other'.
   * @default 1000
   */
  maxTrackedIPs?: number;
  /** A Prometheus endpoint of its own: { port, path = '/metrics', host = '127.0.0.1' }. */
  prometheus?: { port: number; path?: string; host?: string };
}

/** Zombie-detection rules, each in ms (0 disables a rule). */
export interface IZombieOptions {
  /**
   * One side destroyed, the other still open: clean after this long (0 = never).
   * @default 30000
   */
  halfZombieGraceMs?: number;
  /**
   * The same for TLS connections.
   * @default 300000
   */
  halfZombieGraceTlsMs?: number;
  /**
   * Bytes received but nothing ever sent back: clean after this long (0 = never).
   * @default 60000
   */
  stuckGraceMs?: number;
  /**
   * The same for TLS connections.
   * @default 300000
   */
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
  /**
   * Build accepted sockets from the listening handle, so client sockets can read through `onread`.
   * @default true
   */
  acceptTakeover?: boolean;
  /**
   * Relay reads through `onread` into a shared buffer instead of the Readable stream.
   * @default true
   */
  directRead?: boolean;
  /**
   * Set Nagle-off and TCP keep-alive once on the listening socket (Linux: accepted sockets inherit them).
   * @default true
   */
  listenerSocketOptions?: boolean;
  /**
   * At start(), raise glibc's malloc trim threshold (fewer page faults in bulk relays; ~62 MiB may stay
   * mapped).
   * @default false
   */
  raiseMallocThresholds?: boolean;
}

/**
 * The TLS front door of terminating routes, applied through every cached secure context. The
 * server's cipher order is always enforced (honorCipherOrder), as nginx and HAProxy do.
 */
export interface ITlsOptions {
  /**
   * OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are Node's).
   * @default Node's
   */
  ciphers?: string;
  /**
   * Lowest protocol version offered (a route's tls.versions may differ).
   * @default 'TLSv1.2'
   */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * Key-exchange groups in preference order, e.g. 'X25519:P-256:P-384'.
   * @default Node's 'auto'
   */
  ecdhCurve?: string;
  /**
   * Seconds a session (and its ticket's lifetime hint) stays resumable.
   * @default Node's (7200 s hint)
   */
  sessionTimeout?: number;
  /**
   * The certificate for clients that send no SNI, or a name no route names, on ports with terminating
   * routes (nginx's default_server): the connection is terminated with it and each request routed by its
   * Host. Without it such connections are closed.
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
  /** The private key (PEM). */
  privateKey: string;
  /** The certificate chain (PEM), despite the name. */
  publicKey: string;
  /** Accepted, not used. */
  id?: string;
  /** Accepted, not used. */
  domainName?: string;
  /** Accepted, not used. */
  created?: number;
  /** Accepted, not used. */
  validUntil?: number;
  /** Accepted, not used. */
  csr?: string;
}

/** What certProvisionFunction answers. */
export type ICertProvisionResult = { key: string; cert: string } | ICertificateObject | 'http01';
