/**
 * Kind 8 — route security blocks, written as a 19.6 user writes them: IP allow/block lists,
 * maxConnections, maxConnectionsPerIP, basicAuth with excludePaths, rateLimit with window (seconds)
 * and errorMessage, jwtAuth (HS256 and RS256), and blocks switched off with `enabled: false`.
 *
 * Shapes and sources:
 * - Route-level `security: { ipAllowList, ipBlockList, maxConnections, maxConnectionsPerIP }`, block
 *   wins, `0` = unlimited: dossier §2d (security-utils / security-manager of unpkg 21.1.3) and the
 *   19.6.2 keep-alive guide (`security: { maxConnections: 0, maxConnectionsPerIP: 0 }`).
 * - `rateLimit: { enabled, maxRequests, window (seconds), keyBy?: 'ip'|'path'|'header',
 *   headerName?, errorMessage? }`, `basicAuth: { enabled, users: [{ username, password }], realm?,
 *   excludePaths? }`, `jwtAuth: { enabled, secret, algorithm?, issuer?, audience?, expiresIn?,
 *   excludePaths? }`: dossier §2d; `addRateLimiting`, `addBasicAuth`, `addJwtAuth` are exported
 *   next to them (unpkg 21.1.3 utils/index.d.ts) [field lists from memory of 19.x route-types.ts
 *   IRouteSecurity / IRouteRateLimit, where `enabled` is required]. 19.x has only `secret` for
 *   jwtAuth: for RS256 the PEM public key goes into `secret` [most plausible 19.6 shape].
 */
import type { IRouteConfig, ISmartProxyOptions } from '../../../ts/index.js';

export interface SecurityEnv {
  ipPort: number;
  maxConnPort: number;
  perIpPort: number;
  basicPort: number;
  ratePort: number;
  jwtPort: number;
  jwtRsPort: number;
  offPort: number;
  /** HTTP backend (answers every path with 200). */
  httpBackend: number;
  /** TCP echo backend. */
  tcpBackend: number;
  /** HS256 shared secret. */
  jwtSecret: string;
  /** RS256 public key (PEM). */
  jwtPublicKey: string;
}

export function securityRoutes(env: SecurityEnv): IRouteConfig[] {
  const http = { host: '127.0.0.1', port: env.httpBackend };
  const tcp = { host: '127.0.0.1', port: env.tcpBackend };
  return [
    {
      name: 'ip-lists',
      match: { ports: env.ipPort, domains: 'secure.test' },
      action: { type: 'forward', target: http },
      security: { ipAllowList: ['127.0.0.1', '127.0.0.2'], ipBlockList: ['127.0.0.2'] },
    },
    {
      name: 'max-connections',
      match: { ports: env.maxConnPort },
      action: { type: 'forward', target: tcp },
      security: { maxConnections: 1 },
    },
    {
      name: 'max-connections-per-ip',
      match: { ports: env.perIpPort },
      action: { type: 'forward', target: tcp },
      security: { maxConnectionsPerIP: 1 },
    },
    {
      name: 'basic-auth',
      match: { ports: env.basicPort, domains: 'secure.test' },
      action: { type: 'forward', target: http },
      security: {
        basicAuth: {
          enabled: true,
          users: [{ username: 'admin', password: 's3cret' }],
          realm: 'Compat Realm',
          excludePaths: ['/health', '/public/*'],
        },
      },
    },
    {
      name: 'rate-limit',
      match: { ports: env.ratePort, domains: 'secure.test' },
      action: { type: 'forward', target: http },
      security: {
        rateLimit: {
          enabled: true,
          maxRequests: 3,
          window: 60, // seconds
          keyBy: 'ip',
          errorMessage: 'Too many requests, slow down',
        },
      },
    },
    {
      name: 'jwt-hs256',
      match: { ports: env.jwtPort, domains: 'secure.test' },
      action: { type: 'forward', target: http },
      security: {
        jwtAuth: {
          enabled: true,
          secret: env.jwtSecret,
          algorithm: 'HS256',
          issuer: 'https://auth.secure.test',
          audience: 'compat-api',
          expiresIn: 3600,
          excludePaths: ['/login'],
        },
      },
    },
    {
      name: 'jwt-rs256',
      match: { ports: env.jwtRsPort, domains: 'secure.test' },
      action: { type: 'forward', target: http },
      security: {
        jwtAuth: {
          enabled: true,
          secret: env.jwtPublicKey,
          algorithm: 'RS256',
        },
      },
    },
    {
      name: 'security-off',
      match: { ports: env.offPort, domains: 'secure.test' },
      action: { type: 'forward', target: http },
      security: {
        basicAuth: { enabled: false, users: [{ username: 'admin', password: 's3cret' }] },
        rateLimit: { enabled: false, maxRequests: 1, window: 60 },
        jwtAuth: { enabled: false, secret: env.jwtSecret },
      },
    },
  ];
}

export function securityOptions(env: SecurityEnv): ISmartProxyOptions {
  return { routes: securityRoutes(env) };
}
