import type { IRouteAction, IRouteContext } from '../types.js';

const DOWN_MS = 10_000;

/**
 * Picks backends for one route: resolves host and port (values or functions), spreads load
 * (round-robin, least-connections, ip-hash) and skips targets that just refused a connection
 * (passive health: down for 10 s, unless every target is down).
 */
export class TargetSelector {
  private rr = 0;
  private readonly active = new Map<string, number>();
  private readonly downUntil = new Map<string, number>();

  /** A fixed host list, built once (no allocation per request for the common case). */
  private readonly fixedHosts: string[] | undefined;

  private readonly countsActive: boolean;

  constructor(private readonly action: IRouteAction) {
    this.countsActive = action.loadBalancing?.algorithm === 'least-connections';
    const h = action.target?.host;
    this.fixedHosts = typeof h === 'string' ? [h] : Array.isArray(h) ? [...h] : undefined;
  }

  /**
   * Candidate hosts in the order to try them. `ctx` builds the route context; it is called
   * only when a target function needs it.
   */
  hosts(ctx: () => IRouteContext, clientIp: string, now: number): string[] {
    const target = this.action.target;
    if (!target) return [];
    let list = this.fixedHosts;
    if (!list) {
      const raw = (target.host as (c: IRouteContext) => string | string[])(ctx());
      list = Array.isArray(raw) ? raw : [raw];
    }
    if (list.length <= 1) return list;
    const healthy = list.filter((h) => (this.downUntil.get(h) ?? 0) <= now);
    const pool = healthy.length > 0 ? healthy : list;
    const first = this.pick(pool, clientIp);
    const rest = list.filter((h) => h !== first);
    return [first, ...rest];
  }

  /** `localPort`: the port the client connected to ('preserve'). */
  port(ctx: () => IRouteContext, localPort: number): number {
    const p = this.action.target?.port;
    if (p === 'preserve' || p === undefined) return localPort;
    return typeof p === 'function' ? p(ctx()) : p;
  }

  private pick(pool: string[], clientIp: string): string {
    switch (this.action.loadBalancing?.algorithm) {
      case 'least-connections': {
        let best = pool[0]!;
        let bestCount = Infinity;
        for (const h of pool) {
          const c = this.active.get(h) ?? 0;
          if (c < bestCount) {
            best = h;
            bestCount = c;
          }
        }
        return best;
      }
      case 'ip-hash':
        return pool[hash(clientIp) % pool.length]!;
      default:
        return pool[this.rr++ % pool.length]!;
    }
  }

  /** Active-connection counts are kept only where least-connections reads them. */
  acquired(host: string): void {
    if (!this.countsActive) return;
    this.active.set(host, (this.active.get(host) ?? 0) + 1);
  }

  released(host: string): void {
    if (!this.countsActive) return;
    const n = (this.active.get(host) ?? 1) - 1;
    if (n <= 0) this.active.delete(host);
    else this.active.set(host, n);
  }

  failed(host: string, now: number): void {
    // Hosts from a target function are unbounded: expired marks go before a new one is added.
    if (this.downUntil.size >= 64) for (const [h, until] of this.downUntil) if (until <= now) this.downUntil.delete(h);
    this.downUntil.set(host, now + DOWN_MS);
  }

  succeeded(host: string): void {
    if (this.downUntil.size > 0) this.downUntil.delete(host);
  }
}

/** FNV-1a: stable across restarts, so ip-hash keeps a client on one backend. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
