/**
 * Option defaults and validation. Routes themselves are validated by the route compiler;
 * here every other field is checked for type and range, and unknown fields are refused.
 */
import { configError } from './errors.js';
import { clampTimer } from './ticker.js';
import type { IAcmeOptions, IDefaultCertificate, ILogger, IMetricsOptions, ISmartProxyOptions, IZombieOptions, ProxyProtocolVersion } from '../types.js';
import { NODE_INTERNALS_DEFAULTS, type NodeInternalsOptions } from './node-internals.js';
import { anything, bool, count, fn, httpUrl, isObj, logger, ms, object, oneOf, pemCertificates, port, positive, str, stringArray, stringOrBuffer, type Check } from './option-checks.js';
import { LETSENCRYPT_PRODUCTION, LETSENCRYPT_STAGING, normalizeLegacyOptions, type OptionNote } from './legacy-options.js';

export { LETSENCRYPT_PRODUCTION, LETSENCRYPT_STAGING, type OptionNote };

export interface ResolvedZombieOptions {
  halfZombieGraceMs: number;
  halfZombieGraceTlsMs: number;
  stuckGraceMs: number;
  stuckGraceTlsMs: number;
}

export interface ResolvedMetricsOptions {
  enabled: boolean;
  sampleIntervalMs: number;
  retentionSeconds: number;
  maxTrackedIPs: number;
  prometheus: { port: number; path: string; host: string } | undefined;
}

/** `acme` with its defaults applied (absent when ACME is not configured or `enabled: false`). */
export interface ResolvedAcmeOptions {
  email: string;
  directoryUrl: string;
  port: number;
  certificateStore: string;
  renewThresholdDays: number;
  renewCheckIntervalHours: number;
  caCertificates: readonly string[];
  /** false: certificates are ordered once, never renewed (19.x acme.autoRenew). */
  autoRenew: boolean;
}


export interface ResolvedOptions {
  initialDataTimeout: number;
  connectionTimeout: number;
  responseTimeout: number;
  headersTimeout: number;
  halfCloseTimeout: number;
  socketTimeout: number;
  inactivityTimeout: number;
  maxConnectionLifetime: number;
  keepAliveTreatment: 'standard' | 'extended' | 'immortal';
  keepAliveInactivityMultiplier: number;
  extendedKeepAliveLifetime: number;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  inactivityCheckInterval: number;
  gracefulShutdownTimeout: number;
  maxConnectionsPerIP: number;
  connectionRateLimitPerMinute: number;
  maxConnections: number;
  acceptProxyProtocol: boolean;
  proxyIPs: string[];
  sendProxyProtocol: ProxyProtocolVersion;
  acme: ResolvedAcmeOptions | undefined;
  certProvisionFunction: ISmartProxyOptions['certProvisionFunction'];
  metrics: ResolvedMetricsOptions;
  listenAddress: string | undefined;
  logger: ILogger | undefined;
  timeoutJitter: boolean;
  zombie: ResolvedZombieOptions;
  maxSniffBytes: number;
  defaults: ISmartProxyOptions['defaults'];
  nodeInternals: Readonly<NodeInternalsOptions>;
  tls: ResolvedTlsOptions;
  /** Nagle's algorithm off on every client and backend socket (19.x noDelay; default true). */
  noDelay: boolean;
  /** Client bytes held while an HTTP request waits for its backend before reading pauses (19.x maxPendingDataSize). */
  maxPendingDataSize: number;
  /** false: no TLS session tickets on terminated connections (19.x allowSessionTicket). */
  allowSessionTicket: boolean;
  /** certProvisionFunction failures fall back to ACME when acme is configured (19.x; default true). */
  certProvisionFallbackToAcme: boolean;
  /** What 19.x options were mapped away or dropped: logged once, as warnings. */
  notes: readonly OptionNote[];
}

/** `tls` with its defaults applied (see ITlsOptions). */
export interface ResolvedTlsOptions {
  ciphers: string | undefined;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ecdhCurve: string | undefined;
  sessionTimeout: number | undefined;
  defaultCertificate: DefaultCertificate | undefined;
}

/** tls.defaultCertificate: a PEM pair (key may be encrypted: passphrase), or a PKCS#12 bundle (19.x pfx). */
export type DefaultCertificate = IDefaultCertificate;

/** The contract's defaults, in one place (timers in ms). */
export const DEFAULTS = Object.freeze({
  initialDataTimeout: 60_000,
  connectionTimeout: 30_000,
  responseTimeout: 60_000,
  headersTimeout: 30_000,
  halfCloseTimeout: 60_000,
  socketTimeout: 3_600_000,
  inactivityTimeout: 14_400_000,
  maxConnectionLifetime: 86_400_000,
  keepAliveTreatment: 'extended' as const,
  keepAliveInactivityMultiplier: 6,
  extendedKeepAliveLifetime: 604_800_000,
  keepAlive: true,
  keepAliveInitialDelay: 10_000,
  inactivityCheckInterval: 60_000,
  gracefulShutdownTimeout: 30_000,
  maxConnectionsPerIP: 100,
  connectionRateLimitPerMinute: 300,
  maxConnections: 0,
  maxSniffBytes: 65_536,
  maxPendingDataSize: 64 * 1024,
  zombie: Object.freeze({ halfZombieGraceMs: 30_000, halfZombieGraceTlsMs: 300_000, stuckGraceMs: 60_000, stuckGraceTlsMs: 300_000 }),
  metrics: Object.freeze({ enabled: true, sampleIntervalMs: 1000, retentionSeconds: 3600, maxTrackedIPs: 1000 }),
  nodeInternals: NODE_INTERNALS_DEFAULTS,
});

const TOP_LEVEL: Record<string, Check> = {
  routes: (v, path) => {
    if (!Array.isArray(v)) throw configError(path, 'is not an array');
  },
  // defaults.target / .security are checked by the route compiler
  defaults: object({ target: anything, security: anything, preserveSourceIP: bool }),
  initialDataTimeout: ms(false),
  connectionTimeout: ms(false),
  responseTimeout: ms(false),
  headersTimeout: ms(false),
  halfCloseTimeout: ms(),
  socketTimeout: ms(),
  inactivityTimeout: ms(false),
  maxConnectionLifetime: ms(false),
  keepAliveTreatment: oneOf('standard', 'extended', 'immortal'),
  keepAliveInactivityMultiplier: positive,
  extendedKeepAliveLifetime: ms(false),
  keepAlive: bool,
  keepAliveInitialDelay: ms(),
  inactivityCheckInterval: ms(false),
  gracefulShutdownTimeout: ms(),
  maxConnectionsPerIP: count,
  connectionRateLimitPerMinute: count,
  maxConnections: count,
  acceptProxyProtocol: bool,
  proxyIPs: stringArray,
  sendProxyProtocol: oneOf(false, true, 'v1', 'v2'),
  acme: object(
    {
      email: str,
      directoryUrl: httpUrl,
      port,
      certificateStore: str,
      renewThresholdDays: positive,
      renewCheckIntervalHours: positive,
      caCertificates: pemCertificates,
      enabled: bool,
      useProduction: bool,
      autoRenew: bool,
      skipConfiguredCerts: bool,
    },
    ['email'],
  ),
  certProvisionFunction: fn,
  metrics: object({
    enabled: bool,
    sampleIntervalMs: ms(false),
    retentionSeconds: (v, p) => { count(v, p); if ((v as number) < 60) throw configError(p, `${String(v)} is below 60 seconds`); },
    maxTrackedIPs: count,
    prometheus: object({ port, path: str, host: str }, ['port']),
  }),
  listenAddress: str,
  logger,
  timeoutJitter: bool,
  zombie: object({ halfZombieGraceMs: ms(), halfZombieGraceTlsMs: ms(), stuckGraceMs: ms(), stuckGraceTlsMs: ms() }),
  maxSniffBytes: (v, p) => { count(v, p); if ((v as number) < 1024) throw configError(p, `${String(v)} is below 1024 bytes`); },
  nodeInternals: object({ acceptTakeover: bool, directRead: bool, listenerSocketOptions: bool, raiseMallocThresholds: bool }),
  tls: object({
    ciphers: str,
    minVersion: oneOf('TLSv1.2', 'TLSv1.3'),
    ecdhCurve: str,
    sessionTimeout: positive,
    defaultCertificate: defaultCertificate,
  }),
  noDelay: bool,
  maxPendingDataSize: (v, p) => {
    count(v, p);
    if ((v as number) < 1024) throw configError(p, `${String(v)} is below 1024 bytes`);
  },
  allowSessionTicket: bool,
  disableInactivityCheck: bool,
  certProvisionFallbackToAcme: bool,
};

function defaultCertificate(v: unknown, path: string): void {
  if (isObj(v) && v.pfx !== undefined) {
    object({ pfx: stringOrBuffer, passphrase: str })(v, path);
    return;
  }
  object({ key: stringOrBuffer, cert: stringOrBuffer, passphrase: str }, ['key', 'cert'])(v, path);
}

/** Validate every field (unknown ones included) and fill in the contract's defaults. */
export function resolveOptions(given: ISmartProxyOptions): ResolvedOptions {
  if (!isObj(given)) throw configError('options', 'must be an object');
  // 19.x names are mapped (or dropped with a note) first; then every field is checked, all
  // problems reported in one throw, paths without an `options.` prefix.
  const legacy = normalizeLegacyOptions(given);
  const o = legacy.options as ISmartProxyOptions;
  object(TOP_LEVEL, ['routes'])(o, '');
  const m: IMetricsOptions = o.metrics ?? {};
  const z: IZombieOptions = o.zombie ?? {};
  const sendProxy = o.sendProxyProtocol === true ? 'v1' : (o.sendProxyProtocol ?? false);
  const d = DEFAULTS;
  return {
    initialDataTimeout: clampTimer(o.initialDataTimeout ?? d.initialDataTimeout),
    connectionTimeout: clampTimer(o.connectionTimeout ?? d.connectionTimeout),
    responseTimeout: clampTimer(o.responseTimeout ?? d.responseTimeout),
    headersTimeout: clampTimer(o.headersTimeout ?? d.headersTimeout),
    halfCloseTimeout: clampTimer(o.halfCloseTimeout ?? d.halfCloseTimeout),
    socketTimeout: clampTimer(o.socketTimeout ?? d.socketTimeout),
    // 19.x disableInactivityCheck: no inactivity limit at all
    inactivityTimeout: o.disableInactivityCheck === true ? Infinity : clampTimer(o.inactivityTimeout ?? d.inactivityTimeout),
    maxConnectionLifetime: clampTimer(o.maxConnectionLifetime ?? d.maxConnectionLifetime),
    keepAliveTreatment: o.keepAliveTreatment ?? d.keepAliveTreatment,
    keepAliveInactivityMultiplier: o.keepAliveInactivityMultiplier ?? d.keepAliveInactivityMultiplier,
    extendedKeepAliveLifetime: clampTimer(o.extendedKeepAliveLifetime ?? d.extendedKeepAliveLifetime),
    keepAlive: o.keepAlive ?? d.keepAlive,
    keepAliveInitialDelay: clampTimer(o.keepAliveInitialDelay ?? d.keepAliveInitialDelay),
    inactivityCheckInterval: Math.max(1, clampTimer(o.inactivityCheckInterval ?? d.inactivityCheckInterval)),
    gracefulShutdownTimeout: clampTimer(o.gracefulShutdownTimeout ?? d.gracefulShutdownTimeout),
    maxConnectionsPerIP: o.maxConnectionsPerIP ?? d.maxConnectionsPerIP,
    connectionRateLimitPerMinute: o.connectionRateLimitPerMinute ?? d.connectionRateLimitPerMinute,
    maxConnections: o.maxConnections ?? d.maxConnections,
    acceptProxyProtocol: o.acceptProxyProtocol ?? false,
    proxyIPs: o.proxyIPs ?? [],
    sendProxyProtocol: sendProxy,
    acme: resolveAcme(o.acme),
    certProvisionFunction: o.certProvisionFunction,
    metrics: {
      enabled: m.enabled ?? d.metrics.enabled,
      sampleIntervalMs: m.sampleIntervalMs ?? d.metrics.sampleIntervalMs,
      retentionSeconds: m.retentionSeconds ?? d.metrics.retentionSeconds,
      maxTrackedIPs: m.maxTrackedIPs ?? d.metrics.maxTrackedIPs,
      prometheus: m.prometheus ? { port: m.prometheus.port, path: m.prometheus.path ?? '/metrics', host: m.prometheus.host ?? '127.0.0.1' } : undefined,
    },
    listenAddress: o.listenAddress,
    logger: o.logger,
    timeoutJitter: o.timeoutJitter ?? false,
    zombie: { ...d.zombie, ...definedOnly(z) },
    maxSniffBytes: o.maxSniffBytes ?? d.maxSniffBytes,
    defaults: o.defaults,
    nodeInternals: Object.freeze({ ...d.nodeInternals, ...definedOnly(o.nodeInternals ?? {}) }),
    tls: Object.freeze({
      ciphers: o.tls?.ciphers,
      minVersion: o.tls?.minVersion ?? 'TLSv1.2',
      ecdhCurve: o.tls?.ecdhCurve,
      sessionTimeout: o.tls?.sessionTimeout,
      defaultCertificate: o.tls?.defaultCertificate,
    }),
    noDelay: o.noDelay ?? true,
    maxPendingDataSize: o.maxPendingDataSize ?? d.maxPendingDataSize,
    allowSessionTicket: o.allowSessionTicket ?? true,
    certProvisionFallbackToAcme: o.certProvisionFallbackToAcme ?? true,
    notes: legacy.notes,
  };
}

/** The fields of `o` that are set (so `{ a: undefined }` does not override a default). */
function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function resolveAcme(a: IAcmeOptions | undefined): ResolvedAcmeOptions | undefined {
  if (a === undefined || a.enabled === false) return undefined;
  return {
    email: a.email!,
    directoryUrl: a.directoryUrl ?? (a.useProduction === false ? LETSENCRYPT_STAGING : LETSENCRYPT_PRODUCTION),
    port: a.port ?? 80,
    certificateStore: a.certificateStore ?? './certs',
    renewThresholdDays: a.renewThresholdDays ?? 30,
    renewCheckIntervalHours: a.renewCheckIntervalHours ?? 24,
    caCertificates: [...(a.caCertificates ?? [])],
    autoRenew: a.autoRenew ?? true,
  };
}
