/**
 * Pure zombie rules, applied by the periodic sweep:
 * - both sides destroyed but the record alive: clean now;
 * - one side destroyed: clean after a grace (longer for TLS);
 * - data received but nothing ever sent back: clean after a grace (longer for TLS).
 * A grace of 0 disables that rule.
 */
export interface ZombieSettings {
  halfZombieGraceMs: number;
  halfZombieGraceTlsMs: number;
  stuckGraceMs: number;
  stuckGraceTlsMs: number;
}

export interface ZombieState {
  clientDestroyed: boolean;
  /** undefined when there is no backend socket (socket-handler routes, still connecting). */
  backendDestroyed: boolean | undefined;
  isTls: boolean;
  startTime: number;
  /** When a sweep first saw one side destroyed (0 = not yet). */
  halfDeadSince: number;
  bytesFromClient: number;
  bytesToClient: number;
  /** The "data in, nothing out" rule does not apply (HTTP sessions wait on slow backends legitimately). */
  stuckExempt: boolean;
}

export type ZombieVerdict = 'alive' | 'half-dead' | 'clean-dead' | 'clean-half-dead' | 'clean-stuck';

export function judgeZombie(z: ZombieSettings, s: ZombieState, now: number): ZombieVerdict {
  const backendGone = s.backendDestroyed === true;
  if (s.clientDestroyed && (backendGone || s.backendDestroyed === undefined)) return 'clean-dead';
  if (s.clientDestroyed || backendGone) {
    const grace = s.isTls ? z.halfZombieGraceTlsMs : z.halfZombieGraceMs;
    if (grace > 0 && s.halfDeadSince > 0 && now - s.halfDeadSince >= grace) return 'clean-half-dead';
    return 'half-dead';
  }
  if (!s.stuckExempt && s.bytesFromClient > 0 && s.bytesToClient === 0) {
    const grace = s.isTls ? z.stuckGraceTlsMs : z.stuckGraceMs;
    if (grace > 0 && now - s.startTime >= grace) return 'clean-stuck';
  }
  return 'alive';
}
