/**
 * Kind 2 — HTTPS terminate with `certificate: 'auto'` and the 19.6 ACME options, plus a static
 * certificate and a `certProvisionFunction`, written as a 19.6 user writes them.
 *
 * The run test points this table at Pebble (test/helpers/pebble.ts): it adds `acme.directoryUrl`
 * and `acme.caCertificates`, which 19.6 does not have (19.6 only knows Let's Encrypt through
 * `useProduction` / `environment`), next to the port transform. Nothing else is changed.
 *
 * Shapes and sources:
 * - `acme: { accountEmail, enabled, useProduction }`: dcrouter readme.hints.md (code.foss.global
 *   serve.zone/dcrouter, commit fb424d8: "Use accountEmail (not email) for the ACME contact email").
 * - IAcmeOptions `enabled, email, environment: 'production'|'staging', accountEmail, port,
 *   useProduction, renewThresholdDays, autoRenew, certificateStore, skipConfiguredCerts,
 *   renewCheckIntervalHours`: dossier §1a (unpkg 21.1.3 models/interfaces.d.ts).
 * - Route `action.tls: { mode: 'terminate', certificate: 'auto', acme: { email, useProduction },
 *   versions }`: route-types.ts IRouteTls / IRouteAcme (`email`, `useProduction`, `challengePort`,
 *   `renewBeforeDays`) [field list from memory of 19.x route-types.ts; `acme` per route confirmed by
 *   readme.hints.md of v19.0.0 (commit 02603c3): "ACME configuration must be placed within
 *   individual route TLS settings"].
 * - `certProvisionFunction: (domain) => Promise<TSmartProxyCertProvisionObject>` with
 *   `TSmartProxyCertProvisionObject = tsclass ICert | 'http01'`, and `certProvisionFallbackToAcme`
 *   (default true): dossier §1b, unpkg 21.1.3 index.d.ts (exports TSmartProxyCertProvisionObject).
 *   The ICert object is `{ id, domainName, created, validUntil, privateKey, publicKey, csr }`
 *   (@tsclass/tsclass network ICert; `publicKey` carries the certificate PEM) [field list from
 *   memory of @tsclass/tsclass, unverified].
 */
import type { IRouteConfig, ISmartProxyOptions } from '../../../ts/index.js';

export interface PemPair {
  key: string;
  cert: string;
}

export interface TerminateAcmeEnv {
  /** The HTTPS port (443 in production). */
  httpsPort: number;
  /** The HTTP-01 challenge port (80 in production). */
  acmePort: number;
  backendPort: number;
  /** Where certificates and the account key are kept. */
  certificateStore: string;
  /** The certificate of static.acme.test (a configured certificate: never ordered). */
  staticCert: PemPair;
  /** What the certProvisionFunction hands out for custom.acme.test. */
  customCert: PemPair;
}

export function terminateAcmeOptions(env: TerminateAcmeEnv): ISmartProxyOptions {
  const target = { host: '127.0.0.1', port: env.backendPort };
  const routes: IRouteConfig[] = [
    {
      name: 'auto-cert',
      match: { ports: env.httpsPort, domains: ['app.acme.test'] },
      action: {
        type: 'forward',
        target,
        tls: {
          mode: 'terminate',
          certificate: 'auto',
          acme: { email: 'ops@acme.test', useProduction: false },
          versions: ['TLSv1.2', 'TLSv1.3'],
        },
      },
    },
    {
      name: 'custom-cert',
      match: { ports: env.httpsPort, domains: ['custom.acme.test'] },
      action: { type: 'forward', target, tls: { mode: 'terminate', certificate: 'auto' } },
    },
    {
      name: 'static-cert',
      match: { ports: env.httpsPort, domains: ['static.acme.test'] },
      action: {
        type: 'forward',
        target,
        tls: { mode: 'terminate', certificate: { key: env.staticCert.key, cert: env.staticCert.cert } },
      },
    },
  ];
  return {
    acme: {
      enabled: true,
      accountEmail: 'ops@acme.test',
      email: 'ops@acme.test',
      environment: 'staging',
      useProduction: false,
      port: env.acmePort,
      renewThresholdDays: 30,
      autoRenew: true,
      skipConfiguredCerts: true,
      certificateStore: env.certificateStore,
    },
    certProvisionFunction: async (domain: string) => {
      if (domain === 'custom.acme.test') {
        return {
          id: 'custom-acme-test',
          domainName: domain,
          created: Date.now(),
          validUntil: Date.now() + 90 * 86_400_000,
          privateKey: env.customCert.key,
          publicKey: env.customCert.cert,
          csr: '',
        };
      }
      return 'http01';
    },
    certProvisionFallbackToAcme: true,
    routes,
  };
}
