/**
 * The deadline service: every per-connection deadline (first bytes, TLS handshake, backend
 * connect, request head, response head, idle, half-close, lifetime, WebSocket pings) is an
 * entry here, on the shared ticker and its clock (undici's lib/util/timers is the model).
 *
 * Entries sit in buckets of `resolutionMs` (a bucket per due time, rounded up: an entry never
 * fires early), the bucket keys in a min-heap. Scheduling is a Set insertion (plus a heap push
 * for a bucket's first entry); cancelling is a Set deletion; the ticker's one timer is armed for
 * the earliest bucket. A record owns one entry for all its deadlines (connection-record.ts), so
 * 100,000 open connections are 100,000 entries, not timers, and moving a deadline later costs
 * nothing until it would have fired (the owner then re-schedules itself).
 */
import type { Clock } from './clock.js';
import type { Ticker, TickerAlarm } from './ticker.js';

/** Something with a deadline: one entry at a time, moved by scheduling it again. */
export interface Timed {
  /** The bucket it sits in; managed by the service (start with NOT_SCHEDULED). */
  deadlineKey: number;
  onDeadline(now: number): void;
}

export const NOT_SCHEDULED = -1;

/** Bucket width: how much later than due an entry may fire, at most (plus the event loop's lag). */
export const DEADLINE_RESOLUTION_MS = 10;

export class DeadlineService {
  private readonly buckets = new Map<number, Set<Timed>>();
  /** Bucket keys, a binary min-heap; each key is pushed once, when its bucket is created. */
  private readonly heap: number[] = [];
  private readonly alarm: TickerAlarm;
  private armedKey = Infinity;
  /** While buckets run, re-scheduled entries go after the one running (no loop within a run). */
  private runningKey = -Infinity;
  private count = 0;

  constructor(
    /** The clock deadlines are measured on (the ticker's). */
    readonly clock: Clock,
    ticker: Ticker,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly resolutionMs = DEADLINE_RESOLUTION_MS,
  ) {
    this.alarm = ticker.alarm((now) => this.run(now));
  }

  /** Entries scheduled now. */
  get size(): number {
    return this.count;
  }

  /** (Re)schedule `t` to fire at `due` (ms on the clock), or soon after; never before. */
  schedule(t: Timed, due: number): void {
    let key = Math.ceil(due / this.resolutionMs);
    if (key <= this.runningKey) key = this.runningKey + 1;
    if (t.deadlineKey === key) return;
    if (t.deadlineKey !== NOT_SCHEDULED) this.buckets.get(t.deadlineKey)?.delete(t);
    else this.count++;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(key, bucket);
      push(this.heap, key);
    }
    bucket.add(t);
    t.deadlineKey = key;
    if (key < this.armedKey) {
      this.armedKey = key;
      this.alarm.set(key * this.resolutionMs);
    }
  }

  cancel(t: Timed): void {
    if (t.deadlineKey === NOT_SCHEDULED) return;
    this.buckets.get(t.deadlineKey)?.delete(t);
    t.deadlineKey = NOT_SCHEDULED;
    if (--this.count === 0 && this.runningKey === -Infinity) {
      // Nothing left: the ticker's timer goes (its empty buckets are dropped as they come up).
      this.armedKey = Infinity;
      this.alarm.clear();
    }
  }

  /** Fire every entry whose bucket is due at `now` (the ticker calls this; tests may too). */
  run(now: number = this.clock.now()): void {
    const nowKey = Math.floor(now / this.resolutionMs);
    const heap = this.heap;
    while (heap.length > 0 && heap[0]! <= nowKey) {
      const key = pop(heap);
      const bucket = this.buckets.get(key);
      if (!bucket) continue;
      this.runningKey = key;
      // The bucket stays in the map while it runs, so an entry cancelled or moved by another
      // entry's callback leaves it (a Set's iteration skips deleted members).
      for (const t of bucket) {
        bucket.delete(t);
        t.deadlineKey = NOT_SCHEDULED;
        this.count--;
        try {
          t.onDeadline(now);
        } catch (err) {
          this.onError(err);
        }
      }
      this.buckets.delete(key);
    }
    this.runningKey = -Infinity;
    // Buckets emptied by cancellations are dropped as they come up.
    while (heap.length > 0 && this.buckets.get(heap[0]!)?.size === 0) this.buckets.delete(pop(heap));
    this.armedKey = heap.length > 0 ? heap[0]! : Infinity;
    if (this.armedKey !== Infinity) this.alarm.set(this.armedKey * this.resolutionMs);
    else this.alarm.clear();
  }

  /** Drop every entry (the proxy stopped). */
  clear(): void {
    for (const bucket of this.buckets.values()) for (const t of bucket) t.deadlineKey = NOT_SCHEDULED;
    this.buckets.clear();
    this.heap.length = 0;
    this.count = 0;
    this.armedKey = Infinity;
    this.alarm.clear();
  }
}

function push(heap: number[], v: number): void {
  let i = heap.length;
  heap.push(v);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= v) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = v;
}

function pop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  const n = heap.length;
  if (n > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]! < heap[l]! ? r : l;
      if (heap[c]! >= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }
  return top;
}
