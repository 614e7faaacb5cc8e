/**
 * Pure timeout policy: which inactivity and lifetime limits apply to a connection under
 * the keep-alive treatment, and what a sweep should do about a connection now.
 */
export interface TimeoutSettings {
  inactivityTimeout: number;
  maxConnectionLifetime: number;
  keepAliveTreatment: 'standard' | 'extended' | 'immortal';
  keepAliveInactivityMultiplier: number;
  extendedKeepAliveLifetime: number;
  timeoutJitter: boolean;
}

export interface Limits {
  /** ms without traffic before the connection is warned and then closed; Infinity = never. */
  inactivity: number;
  /** ms of age before it is closed; Infinity = never. */
  lifetime: number;
}

/** `random` returns [0, 1); jitter moves each limit by up to +-5%. */
export function limitsFor(s: TimeoutSettings, keepAlive: boolean, random: () => number = Math.random): Limits {
  let inactivity = s.inactivityTimeout;
  let lifetime = s.maxConnectionLifetime;
  if (keepAlive) {
    if (s.keepAliveTreatment === 'immortal') return { inactivity: Infinity, lifetime: Infinity };
    if (s.keepAliveTreatment === 'extended') {
      inactivity = s.inactivityTimeout * s.keepAliveInactivityMultiplier;
      lifetime = s.extendedKeepAliveLifetime;
    }
  }
  if (s.timeoutJitter) {
    inactivity = Math.round(inactivity * (0.95 + random() * 0.1));
    lifetime = Math.round(lifetime * (0.95 + random() * 0.1));
  }
  return { inactivity, lifetime };
}

export type TimeoutVerdict = 'ok' | 'warn-inactive' | 'close-inactive' | 'close-lifetime';

export interface TimeoutState {
  startTime: number;
  lastActivity: number;
  inactivityWarned: boolean;
  inactivityLimit: number;
  lifetimeLimit: number;
}

/**
 * Inactivity is warned on the first check past the limit and closed on the next check if
 * still idle; lifetime closes at once.
 */
export function judgeTimeouts(state: TimeoutState, now: number): TimeoutVerdict {
  if (now - state.startTime >= state.lifetimeLimit) return 'close-lifetime';
  if (now - state.lastActivity >= state.inactivityLimit) {
    return state.inactivityWarned ? 'close-inactive' : 'warn-inactive';
  }
  return 'ok';
}
