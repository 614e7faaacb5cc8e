/**
 * Options of @push.rocks/smartproxy 19.x, brought onto this proxy's options before they are
 * validated (pure: raw options in, the options to validate and the notes to log out).
 *
 * | 19.x option                                  | here                                                         |
 * |----------------------------------------------|--------------------------------------------------------------|
 * | `acme.accountEmail`                          | `acme.email`                                                 |
 * | `acme.environment: 'production' / 'staging'` | `acme.directoryUrl` (Let's Encrypt)                          |
 * | `acme.useProduction`, `acme.autoRenew`, `acme.skipConfiguredCerts: true` | implemented as in 19.x           |
 * | route `action.tls.acme` (no `options.acme`)  | `acme` (email, useProduction, challengePort -> port, renewBeforeDays -> renewThresholdDays) |
 * | `enableKeepAliveProbes`                      | `keepAlive`                                                  |
 * | `enableRandomizedTimeouts`                   | `timeoutJitter`                                              |
 * | `key` / `cert` / `pfx` / `passphrase`        | `tls.defaultCertificate`                                     |
 * | `noDelay`, `maxPendingDataSize`, `allowSessionTicket`, `disableInactivityCheck`, `certProvisionFallbackToAcme` | implemented |
 * | `useHttpProxy`, `httpProxyPort`, `networkProxyPort`, `useNetworkProxy`, `enableDetailedLogging`, `enableTlsDebugLogging`, `preserveSourceIP`, `acme.routeForwards`, `acme.skipConfiguredCerts: false` | accepted, one warning each, naming what to do instead |
 */
export interface OptionNote {
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const LETSENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETSENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

/** Options that named machinery this proxy replaced: dropped with a warning that says what to do. */
const REPLACED: Record<string, string> = {
  useHttpProxy: 'HTTP is handled in process on every port (no separate HttpProxy): remove useHttpProxy',
  httpProxyPort: 'there is no internal HttpProxy port (HTTP is handled in process): remove httpProxyPort',
  networkProxyPort: 'there is no internal NetworkProxy port (HTTP is handled in process): remove networkProxyPort',
  useNetworkProxy: 'HTTP is handled in process on every port (no NetworkProxy): remove useNetworkProxy',
  enableDetailedLogging: "pass a logger at level 'debug' (options.logger) instead",
  enableTlsDebugLogging: "pass a logger at level 'debug' (options.logger) instead: TLS failures are logged there and counted as connection:error",
  preserveSourceIP: 'the client address cannot be spoofed toward backends (no kernel transparent proxying): use sendProxyProtocol so backends learn it',
};

/** The options as this proxy validates them, and the notes for what was mapped away or dropped. */
export function normalizeLegacyOptions(raw: unknown): { options: unknown; notes: OptionNote[] } {
  const notes: OptionNote[] = [];
  if (!isObj(raw)) return { options: raw, notes };
  const o: Obj = { ...raw };
  for (const [key, instead] of Object.entries(REPLACED)) {
    if (o[key] === undefined) continue;
    // preserveSourceIP: false asks for nothing; everything else is named.
    if (!(key === 'preserveSourceIP' && o[key] === false)) notes.push({ path: key, message: `is not used: ${instead}` });
    delete o[key];
  }
  if (o.enableKeepAliveProbes !== undefined) {
    o.keepAlive ??= o.enableKeepAliveProbes;
    delete o.enableKeepAliveProbes;
  }
  if (o.enableRandomizedTimeouts !== undefined) {
    o.timeoutJitter ??= o.enableRandomizedTimeouts;
    delete o.enableRandomizedTimeouts;
  }
  if (o.key !== undefined || o.cert !== undefined || o.pfx !== undefined || o.passphrase !== undefined) {
    const tls: Obj = isObj(o.tls) ? { ...o.tls } : {};
    const dflt: Obj = {};
    for (const k of ['key', 'cert', 'pfx', 'passphrase'] as const) {
      if (o[k] !== undefined) dflt[k] = o[k];
      delete o[k];
    }
    tls.defaultCertificate ??= dflt;
    o.tls = tls;
  }
  if (o.acme === undefined) {
    const fromRoute = routeAcme(o.routes);
    if (fromRoute !== undefined) {
      o.acme = fromRoute.acme;
      notes.push({ path: `${fromRoute.path}`, message: 'configures ACME for the whole proxy (one account, one challenge port): options.acme is the place for it' });
    }
  }
  if (isObj(o.acme)) {
    const a: Obj = { ...o.acme };
    if (a.accountEmail !== undefined) {
      a.email ??= a.accountEmail;
      delete a.accountEmail;
    }
    if (a.environment !== undefined) {
      if (a.environment === 'production' || a.environment === 'staging') {
        a.directoryUrl ??= a.environment === 'production' ? LETSENCRYPT_PRODUCTION : LETSENCRYPT_STAGING;
        delete a.environment;
      } // anything else is left for validation to name
    }
    if (a.routeForwards !== undefined) {
      notes.push({ path: 'acme.routeForwards', message: 'is not used: the challenge port is an ordinary listener of this proxy; remove routeForwards' });
      delete a.routeForwards;
    }
    if (a.skipConfiguredCerts === false) {
      notes.push({ path: 'acme.skipConfiguredCerts', message: 'false is not supported: routes with a static certificate are served with it, never ordered from ACME' });
    }
    o.acme = a;
  }
  return { options: o, notes };
}

/**
 * 19.x routes carried their own ACME settings (`action.tls.acme`); here one ACME account serves
 * the proxy. Without options.acme, the first route's settings become it: email, useProduction,
 * challengePort -> port, renewBeforeDays -> renewThresholdDays.
 */
function routeAcme(routes: unknown): { acme: Obj; path: string } | undefined {
  if (!Array.isArray(routes)) return undefined;
  for (let i = 0; i < routes.length; i++) {
    const r: unknown = routes[i];
    const tls = isObj(r) && isObj(r.action) && isObj(r.action.tls) ? r.action.tls : undefined;
    const ra = tls?.acme;
    if (!isObj(ra)) continue;
    const acme: Obj = {};
    if (ra.email !== undefined) acme.email = ra.email;
    if (ra.useProduction !== undefined) acme.useProduction = ra.useProduction;
    if (ra.challengePort !== undefined) acme.port = ra.challengePort;
    if (ra.renewBeforeDays !== undefined) acme.renewThresholdDays = ra.renewBeforeDays;
    return { acme, path: `routes[${i}].action.tls.acme` };
  }
  return undefined;
}
