/**
 * Pure timeout policy: which inactivity and lifetime limits apply to a connection under
 * the keep-alive treatment (the record judges them on the deadline service).
 */
export interface TimeoutSettings {
  socketTimeout: number;
  inactivityTimeout: number;
  maxConnectionLifetime: number;
  keepAliveTreatment: 'standard' | 'extended' | 'immortal';
  keepAliveInactivityMultiplier: number;
  extendedKeepAliveLifetime: number;
  timeoutJitter: boolean;
}

export interface Limits {
  /** ms without traffic before the connection is closed ('inactivity'); Infinity = never. */
  inactivity: number;
  /** ms without traffic while no HTTP request waits on its backend ('socket_timeout'); Infinity = never. */
  socketIdle: number;
  /** ms of age before it is closed; Infinity = never. */
  lifetime: number;
}

/** `random` returns [0, 1); jitter moves each limit by up to +-5%. */
export function limitsFor(s: TimeoutSettings, keepAlive: boolean, random: () => number = Math.random): Limits {
  let inactivity = s.inactivityTimeout;
  let lifetime = s.maxConnectionLifetime;
  const socketIdle = s.socketTimeout > 0 ? s.socketTimeout : Infinity;
  if (keepAlive) {
    // Immortal: no timeout of any kind closes a keep-alive connection (19.x skips its socket timeout too).
    if (s.keepAliveTreatment === 'immortal') return { inactivity: Infinity, lifetime: Infinity, socketIdle: Infinity };
    if (s.keepAliveTreatment === 'extended') {
      inactivity = s.inactivityTimeout * s.keepAliveInactivityMultiplier;
      lifetime = s.extendedKeepAliveLifetime;
    }
  }
  if (s.timeoutJitter) {
    inactivity = Math.round(inactivity * (0.95 + random() * 0.1));
    lifetime = Math.round(lifetime * (0.95 + random() * 0.1));
  }
  return { inactivity, lifetime, socketIdle };
}
