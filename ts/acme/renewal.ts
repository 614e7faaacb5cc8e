/** Pure timing decisions for ACME certificates: when to renew, when to retry a failed issuance. */
import { clampTimer } from '../core/ticker.js';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
/** First retry after a failed issuance; doubles per failure up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 5 * 60_000;
export const RETRY_MAX_MS = HOUR_MS;

/** True when a certificate expiring at `notAfterMs` is within `thresholdDays` of expiry at `nowMs` (or past it). */
export function renewalDue(notAfterMs: number, nowMs: number, thresholdDays: number): boolean {
  return notAfterMs - nowMs <= thresholdDays * DAY_MS;
}

/**
 * Delay before the next attempt after `failures` consecutive failures (>= 1): 5, 10, 20, 40,
 * 60, 60 ... minutes, so a broken setup stays under a CA's failed-validation limits
 * (Let's Encrypt: 5 per hour per name).
 */
export function retryDelayMs(failures: number): number {
  const n = Math.max(1, Math.floor(failures));
  return Math.min(RETRY_BASE_MS * 2 ** Math.min(n - 1, 20), RETRY_MAX_MS);
}

/** The renewal check period in ms (at least 1 ms, at most the largest timer). */
export function renewCheckIntervalMs(hours: number): number {
  return Math.max(1, clampTimer(hours * HOUR_MS));
}
