import type { Clock } from './clock.js';
import { systemClock } from './clock.js';

export interface TickerTask {
  cancel(): void;
}

/** A one-shot wake-up on the ticker, moved with `set()` (one timer for any number of alarms). */
export interface TickerAlarm {
  /** Run the alarm's function at `due` (ms since the epoch on the ticker's clock); replaces an earlier setting. */
  set(due: number): void;
  clear(): void;
}

interface Task {
  /** 0 for an alarm (one-shot, re-set by its owner). */
  readonly intervalMs: number;
  readonly fn: (now: number) => void;
  nextDue: number;
  cancelled: boolean;
}

/** Largest delay setTimeout accepts; longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function clampTimer(ms: number): number {
  if (!Number.isFinite(ms)) return MAX_TIMER_MS;
  return Math.min(Math.max(0, Math.floor(ms)), MAX_TIMER_MS);
}

/**
 * The one timer behind all periodic work (sweeps, samples) and the deadline service's
 * alarm: a single `unref()`ed setTimeout armed for the earliest due task (undici lib/util/timers).
 * With `manual: true` no real timer is armed; tests move the clock and call `runDue()`.
 */
export class Ticker {
  private readonly tasks = new Set<Task>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly options: { manual?: boolean; onError?: (err: unknown) => void } = {},
  ) {}

  /** Run `fn` every `intervalMs` (first run one interval from now). */
  every(intervalMs: number, fn: (now: number) => void): TickerTask {
    const interval = Math.max(1, clampTimer(intervalMs));
    const task: Task = { intervalMs: interval, fn, nextDue: this.clock.now() + interval, cancelled: false };
    this.tasks.add(task);
    this.stopped = false;
    this.arm();
    return {
      cancel: () => {
        task.cancelled = true;
        this.tasks.delete(task);
        if (this.tasks.size === 0) this.disarm();
      },
    };
  }

  /** A one-shot alarm, idle until `set()`. It survives stop(): setting it again re-arms it. */
  alarm(fn: (now: number) => void): TickerAlarm {
    const task: Task = { intervalMs: 0, fn, nextDue: Infinity, cancelled: false };
    return {
      set: (due: number) => {
        task.nextDue = due;
        task.cancelled = false;
        if (!this.tasks.has(task)) this.tasks.add(task);
        this.stopped = false;
        this.arm();
      },
      clear: () => {
        task.nextDue = Infinity;
        if (this.tasks.delete(task) && this.tasks.size === 0) this.disarm();
      },
    };
  }

  get size(): number {
    return this.tasks.size;
  }

  /** Run every task that is due now, once each. */
  runDue(): void {
    const now = this.clock.now();
    for (const task of [...this.tasks]) {
      if (task.cancelled || task.nextDue > now) continue;
      if (task.intervalMs === 0) {
        // An alarm fires once; its function may set it again.
        task.nextDue = Infinity;
        this.tasks.delete(task);
      } else {
        // Skip missed periods rather than bursting to catch up.
        task.nextDue += task.intervalMs;
        if (task.nextDue <= now) task.nextDue = now + task.intervalMs;
      }
      try {
        task.fn(now);
      } catch (err) {
        this.options.onError?.(err);
      }
    }
    this.armedFor = Infinity;
    this.arm();
  }

  /** Cancel every task and clear the timer, so an idle process can exit. */
  stop(): void {
    this.stopped = true;
    for (const task of this.tasks) task.cancelled = true;
    this.tasks.clear();
    this.disarm();
  }

  private arm(): void {
    if (this.options.manual || this.stopped || this.tasks.size === 0) return;
    let earliest = Infinity;
    for (const task of this.tasks) if (task.nextDue < earliest) earliest = task.nextDue;
    if (earliest >= this.armedFor && this.timer) return;
    this.disarm();
    this.armedFor = earliest;
    const delay = clampTimer(earliest - this.clock.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runDue();
    }, delay);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }
}
