/**
 * Per-IP concurrency and rolling-minute connection-rate bookkeeping. State for an IP is
 * dropped as soon as it has no open connections and no admissions inside the window.
 */
const WINDOW_MS = 60_000;

interface IpState {
  open: number;
  /** Admission times inside the rolling window, oldest first (a ring would save little: capped by the limit). */
  recent: number[];
}

export type IpRefusal = 'max_connections_per_ip' | 'rate_limit';

export class IpLimiter {
  private readonly state = new Map<string, IpState>();

  constructor(
    private readonly maxPerIp: number,
    private readonly ratePerMinute: number,
  ) {}

  /** Check and, when allowed, count one new connection for `ip`. */
  admit(ip: string, now: number): IpRefusal | undefined {
    let s = this.state.get(ip);
    if (s) {
      if (this.maxPerIp > 0 && s.open >= this.maxPerIp) return 'max_connections_per_ip';
      if (this.ratePerMinute > 0) {
        trim(s.recent, now);
        if (s.recent.length >= this.ratePerMinute) return 'rate_limit';
      }
    } else {
      s = { open: 0, recent: [] };
      this.state.set(ip, s);
    }
    s.open++;
    if (this.ratePerMinute > 0) s.recent.push(now);
    return undefined;
  }

  release(ip: string, now: number): void {
    const s = this.state.get(ip);
    if (!s) return;
    if (s.open > 0) s.open--;
    if (s.open === 0) {
      trim(s.recent, now);
      if (s.recent.length === 0) this.state.delete(ip);
    }
  }

  /** Drop idle IPs whose window has emptied. */
  prune(now: number): void {
    for (const [ip, s] of this.state) {
      if (s.open > 0) continue;
      trim(s.recent, now);
      if (s.recent.length === 0) this.state.delete(ip);
    }
  }

  openFor(ip: string): number {
    return this.state.get(ip)?.open ?? 0;
  }

  get trackedIps(): number {
    return this.state.size;
  }
}

function trim(times: number[], now: number): void {
  let drop = 0;
  while (drop < times.length && now - times[drop]! >= WINDOW_MS) drop++;
  if (drop > 0) times.splice(0, drop);
}
