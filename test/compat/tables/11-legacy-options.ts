/**
 * Kind 11 — the 19.6 machinery options a user carried along for years (useHttpProxy,
 * httpProxyPort, networkProxyPort, enableDetailedLogging, enableTlsDebugLogging, preserveSourceIP,
 * forwardingEngine 'nftables' with `nftables`, `advanced`), the default certificate given as
 * `key`/`cert`/`passphrase` (and `pfx`/`passphrase`), and `tls.versions`. Must start, with warnings.
 *
 * Shapes and sources:
 * - `useHttpProxy: number[]` (ports handed to the internal HttpProxy), `httpProxyPort`,
 *   `enableDetailedLogging`: unpkg 21.1.3 ts/proxies/smart-proxy/http-proxy-bridge.ts (confirmed
 *   text: `settings.useHttpProxy`, `port: settings.httpProxyPort`, `logLevel:
 *   settings.enableDetailedLogging ? 'debug' : 'info'`). `networkProxyPort`: the pre-19.3 name
 *   (dossier §1b [unverified whether 19.6 still accepts it]). `enableTlsDebugLogging`: passed to
 *   SniHandler.processTlsPacket (dossier §6a). `preserveSourceIP`, `pfx`, `key`, `passphrase`,
 *   `cert`: unpkg 21.1.3 models/interfaces.d.ts (dossier §1a, confirmed).
 * - `action.forwardingEngine: 'node' | 'nftables'`, `action.nftables: { preserveSourceIP, protocol,
 *   maxRate, priority, tableName, useIPSets, useAdvancedNAT }`: dossier §2c/§9 (NFTables plan,
 *   NFTablesManager.provisionRoute, confirmed names).
 * - `action.advanced: { timeout?, headers?, keepAlive? }`: dossier §2c [unverified].
 * - `tls.versions: string[]`: 19.x IRouteTls [from memory of route-types.ts].
 */
import type { IRouteConfig, ISmartProxyOptions } from '../../../ts/index.js';

export interface LegacyEnv {
  /** Plain TCP port of the nftables route. */
  tcpPort: number;
  /** Plain HTTP port of the `advanced` route. */
  httpPort: number;
  /** HTTPS port (listed in useHttpProxy, as 19.x needed for termination). */
  httpsPort: number;
  tcpBackend: number;
  httpBackend: number;
  /** The certificate of legacy.test. */
  routeCert: { key: string; cert: string };
  /** The default certificate: an encrypted key, its passphrase, the certificate. */
  defaultCert: { key: string; cert: string; passphrase: string };
}

export function legacyRoutes(env: LegacyEnv): IRouteConfig[] {
  return [
    {
      name: 'nft-forward',
      match: { ports: env.tcpPort },
      action: {
        type: 'forward',
        target: { host: '127.0.0.1', port: env.tcpBackend },
        forwardingEngine: 'nftables',
        nftables: {
          protocol: 'tcp',
          preserveSourceIP: true,
          maxRate: '100mbps',
          priority: 10,
          tableName: 'smartproxy',
          useIPSets: true,
          useAdvancedNAT: true,
        },
      },
    },
    {
      name: 'advanced-http',
      match: { ports: env.httpPort, domains: 'legacy.test' },
      action: {
        type: 'forward',
        target: { host: '127.0.0.1', port: env.httpBackend },
        advanced: {
          timeout: 30_000,
          keepAlive: true,
          headers: { 'X-Legacy': 'yes' },
        },
      },
    },
    {
      name: 'legacy-terminate',
      match: { ports: env.httpsPort, domains: 'legacy.test' },
      action: {
        type: 'forward',
        target: { host: '127.0.0.1', port: env.httpBackend },
        tls: {
          mode: 'terminate',
          certificate: { key: env.routeCert.key, cert: env.routeCert.cert },
          versions: ['TLSv1.3'],
        },
      },
    },
  ];
}

export function legacyOptions(env: LegacyEnv): ISmartProxyOptions {
  return {
    routes: legacyRoutes(env),
    useHttpProxy: [env.httpsPort],
    httpProxyPort: 8443,
    networkProxyPort: 8444,
    enableDetailedLogging: true,
    enableTlsDebugLogging: true,
    preserveSourceIP: true,
    key: env.defaultCert.key,
    cert: env.defaultCert.cert,
    passphrase: env.defaultCert.passphrase,
  };
}

export interface LegacyPfxEnv {
  httpsPort: number;
  httpBackend: number;
  routeCert: { key: string; cert: string };
  /** The default certificate as a PKCS#12 bundle. */
  pfx: Buffer;
  passphrase: string;
}

/** The default certificate given as `pfx` + `passphrase`. */
export function legacyPfxOptions(env: LegacyPfxEnv): ISmartProxyOptions {
  return {
    pfx: env.pfx,
    passphrase: env.passphrase,
    routes: [
      {
        name: 'pfx-terminate',
        match: { ports: env.httpsPort, domains: 'legacy.test' },
        action: {
          type: 'forward',
          target: { host: '127.0.0.1', port: env.httpBackend },
          tls: { mode: 'terminate', certificate: { key: env.routeCert.key, cert: env.routeCert.cert } },
        },
      },
    ],
  };
}
