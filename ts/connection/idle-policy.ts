/**
 * Pure idle policy of one connection: which idle limit applies now, and what a check of the
 * client socket's byte counters concludes (close, or when to look again). The record keeps an
 * IdleState and runs checks from its deadline entry.
 */
import type { CloseReason } from './close-reason.js';

export interface IdleState {
  /** ms of silence before 'inactivity' (keep-alive treatment applied); Infinity = none. */
  inactivityLimit: number;
  /** socketTimeout: ms of silence before 'socket_timeout' while no request waits on its backend. */
  socketIdleLimit: number;
  /** halfCloseTimeout: ms of silence after a FIN passed one way (0 = none). */
  halfCloseLimit: number;
  halfClosed: boolean;
  /** An HTTP request waits on its backend (responseTimeout governs; socketIdleLimit pauses). */
  inFlight: boolean;
  /** Never earlier than the last byte, at most one check step later. */
  lastActivity: number;
  /** Byte counters at the last check. */
  seenTraffic: number;
}

/**
 * How often an idle limit is checked: a sixteenth of it, at least 100 ms. An idle connection
 * closes within that (plus the deadline service's 10 ms) after its limit: inside the
 * contract's max(10 %, 250 ms).
 */
export function idleCheckStep(limit: number): number {
  return Math.max(limit / 16, 100);
}

/** The shortest idle limit that applies now, and the reason it closes with. */
export function idleLimit(s: IdleState): { limit: number; reason: CloseReason } {
  let limit = s.inactivityLimit;
  let reason: CloseReason = 'inactivity';
  if (!s.inFlight && s.socketIdleLimit < limit) {
    limit = s.socketIdleLimit;
    reason = 'socket_timeout';
  }
  if (s.halfClosed && s.halfCloseLimit > 0 && s.halfCloseLimit < limit) {
    limit = s.halfCloseLimit;
    reason = 'half_close_timeout';
  }
  return { limit, reason };
}

/** When the first check of a fresh connection is due (Infinity: no idle limit applies). */
export function firstIdleCheck(s: IdleState, start: number): number {
  const { limit } = idleLimit(s);
  return limit === Infinity ? Infinity : start + Math.min(limit, idleCheckStep(limit));
}

export type IdleVerdict = { close: CloseReason } | { close: undefined; next: number };

/**
 * One check, given the client socket's byte counters now. Traffic since the last check moves
 * `lastActivity` to now, so a limit is never judged early and fires at most one step late;
 * checks run every step until the limit is reached.
 */
export function judgeIdle(s: IdleState, traffic: number, now: number): IdleVerdict {
  if (traffic !== s.seenTraffic) {
    s.seenTraffic = traffic;
    s.lastActivity = now;
  }
  const { limit, reason } = idleLimit(s);
  if (limit === Infinity) return { close: undefined, next: Infinity };
  const expires = s.lastActivity + limit;
  if (now >= expires) return { close: reason };
  return { close: undefined, next: Math.min(expires, now + idleCheckStep(limit)) };
}
