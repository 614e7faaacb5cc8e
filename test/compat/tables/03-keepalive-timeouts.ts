/**
 * Kind 3 — keep-alive treatments and the timeout options, written as a 19.6 user writes them
 * (the WebSocket-over-passthrough recipe of the 19.6.2 keep-alive guide, a plain TCP forward and a
 * createWebSocketRoute route).
 *
 * Shapes and sources:
 * - `keepAliveTreatment: 'standard'|'extended'|'immortal'`, `keepAliveInactivityMultiplier`,
 *   `inactivityTimeout: 14400000`, route `security: { maxConnections: 0, maxConnectionsPerIP: 0 }`
 *   ("0 = unlimited"), the 'websocket-passthrough' route: readme.websocket-keepalive-config.md and
 *   readme.websocket-keepalive-fix.md as published in 19.6.2 (the 19.6.2 -> 19.6.7 diff page,
 *   ../shared/reference/000_9e1d941f8d13e201.txt), which also names `keepAliveInitialDelay`.
 * - `extendedKeepAliveLifetime`, `maxConnectionLifetime`, `socketTimeout`, `connectionTimeout`,
 *   `initialDataTimeout`, `inactivityCheckInterval`, `gracefulShutdownTimeout`, `noDelay`,
 *   `keepAlive`, `enableKeepAliveProbes`, `maxPendingDataSize`, `disableInactivityCheck`,
 *   `enableRandomizedTimeouts`, `allowSessionTicket`, `maxConnectionsPerIP`,
 *   `connectionRateLimitPerMinute`: dossier §1b (names confirmed in 19.x docs/code; values here are
 *   the 19.x defaults as far as the dossier knows them).
 * - `createWebSocketRoute(domains, target, { path, httpPort, pingInterval, pingTimeout })` and
 *   `action.websocket: { enabled, pingInterval, pingTimeout }`: [from memory of 19.x
 *   route-helpers.ts / route-types.ts IRouteWebSocket; the helper's second parameter also accepts a
 *   path string in 19.x — the target-object form is used here; unverified in a stored copy].
 */
import { createWebSocketRoute, type ISmartProxyOptions } from '../../../ts/index.js';

export type KeepAliveTreatment = 'standard' | 'extended' | 'immortal';

export interface KeepAliveEnv {
  /** TLS passthrough port (443 in production). */
  tlsPort: number;
  /** Plain TCP forward port. */
  tcpPort: number;
  /** Plain HTTP port of the WebSocket route. */
  wsPort: number;
  tlsBackend: number;
  tcpBackend: number;
  wsBackend: number;
}

export function keepAliveOptions(env: KeepAliveEnv, treatment: KeepAliveTreatment = 'extended'): ISmartProxyOptions {
  return {
    // timeouts (ms)
    connectionTimeout: 30_000,
    initialDataTimeout: 60_000,
    socketTimeout: 3_600_000,
    inactivityCheckInterval: 60_000,
    maxConnectionLifetime: 86_400_000,
    inactivityTimeout: 14_400_000,
    gracefulShutdownTimeout: 30_000,
    // keep-alive
    keepAliveTreatment: treatment,
    keepAliveInactivityMultiplier: 6,
    extendedKeepAliveLifetime: 7 * 24 * 60 * 60 * 1000,
    keepAlive: true,
    enableKeepAliveProbes: true,
    keepAliveInitialDelay: 10_000,
    // socket behaviour
    noDelay: true,
    maxPendingDataSize: 10 * 1024 * 1024,
    disableInactivityCheck: false,
    enableRandomizedTimeouts: true,
    allowSessionTicket: true,
    // limits
    maxConnectionsPerIP: 100,
    connectionRateLimitPerMinute: 300,
    routes: [
      {
        name: 'websocket-passthrough',
        match: { ports: env.tlsPort, domains: ['ws.example.com', 'wss.example.com'] },
        action: {
          type: 'forward',
          target: { host: '127.0.0.1', port: env.tlsBackend },
          tls: { mode: 'passthrough' },
        },
        security: {
          // Disable connection limits for this route
          maxConnections: 0, // 0 = unlimited
          maxConnectionsPerIP: 0, // 0 = unlimited
        },
      },
      {
        name: 'tcp-forward',
        match: { ports: env.tcpPort },
        action: { type: 'forward', target: { host: '127.0.0.1', port: env.tcpBackend } },
      },
      createWebSocketRoute(
        'ws.keepalive.test',
        { host: '127.0.0.1', port: env.wsBackend },
        { path: '/ws', httpPort: env.wsPort, pingInterval: 30_000, pingTimeout: 5_000, name: 'websocket' },
      ),
    ],
  };
}
