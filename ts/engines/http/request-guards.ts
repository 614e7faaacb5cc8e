/**
 * Per-route request guards at the HTTP level: Basic authentication and request rate limits.
 * Rate-limit windows live in one map per route, pruned on the shared ticker.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IRouteSecurity } from '../../types.js';

export class BasicAuth {
  private readonly digests: Buffer[];
  readonly challenge: string;

  constructor(cfg: NonNullable<IRouteSecurity['basicAuth']>) {
    this.digests = cfg.users.map((u) => sha(`${u.username}:${u.password}`));
    this.challenge = `Basic realm="${(cfg.realm ?? 'Restricted').replace(/["\r\n]/g, '')}", charset="UTF-8"`;
  }

  /** True when `authorization` carries valid credentials. Constant time per user. */
  check(authorization: string | undefined): boolean {
    if (!authorization) return false;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (!m) return false;
    const d = sha(Buffer.from(m[1]!, 'base64').toString('utf8'));
    let ok = false;
    for (const u of this.digests) if (timingSafeEqual(u, d)) ok = true;
    return ok;
  }
}

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Most rate-limit windows one route keeps; past it the oldest window is dropped (LRU by start). */
export const MAX_RATE_LIMIT_KEYS = 100_000;

/**
 * A fixed-window counter per key (`windowSeconds` long), like most proxies' simple limiters.
 * Bounded whatever keys clients choose (a header value, a path): windows are kept in order of
 * their start, expired ones are dropped on the shared ticker (pruneRouteRuntimes) and from the
 * front as new ones start, and at MAX_RATE_LIMIT_KEYS the oldest goes.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly windowMs: number;

  constructor(
    private readonly cfg: NonNullable<IRouteSecurity['rateLimit']>,
    private readonly maxKeys = MAX_RATE_LIMIT_KEYS,
  ) {
    // windowSeconds is set once the route is compiled (19.x's window is mapped onto it).
    this.windowMs = (cfg.windowSeconds ?? cfg.window ?? 1) * 1000;
  }

  /** security.rateLimit.errorMessage: the 429's body. */
  get errorMessage(): string | undefined {
    return this.cfg.errorMessage;
  }

  keyFor(clientIp: string, path: string, header: (name: string) => string | undefined): string {
    switch (this.cfg.keyBy) {
      case 'path':
        return path;
      case 'header':
        return header((this.cfg.headerName ?? '').toLowerCase()) ?? '';
      default:
        return clientIp;
    }
  }

  /** Count one request; false when over the limit. */
  allow(key: string, now: number): boolean {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      // A new window goes to the end of the map (delete first), so the map stays in start order.
      if (w) this.windows.delete(key);
      this.dropExpired(now, 2);
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count <= this.cfg.maxRequests;
  }

  /** Drop up to `max` expired windows from the front (the oldest). */
  private dropExpired(now: number, max: number): void {
    for (const [k, w] of this.windows) {
      if (max-- <= 0 || now - w.start < this.windowMs) return;
      this.windows.delete(k);
    }
  }

  /** Seconds until the key's window resets (for Retry-After). */
  retryAfter(key: string, now: number): number {
    const w = this.windows.get(key);
    return w ? Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) : 1;
  }

  /** Drop every expired window (they are in start order: stops at the first live one). */
  prune(now: number): void {
    this.dropExpired(now, Infinity);
  }

  get size(): number {
    return this.windows.size;
  }
}
