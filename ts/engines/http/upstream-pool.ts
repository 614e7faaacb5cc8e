import type * as net from 'node:net';
import type { Ticker, TickerTask } from '../../core/ticker.js';
import type { Clock } from '../../core/clock.js';
import { connectUpstream, type ConnectResult, type PendingConnect } from '../../forwarding/upstream-connector.js';
import { connectTlsUpstream } from '../../forwarding/tls-upstream.js';

/** TLS towards the backend ('terminate-and-reencrypt'). */
export interface UpstreamTls {
  servername: string | undefined;
  verify: boolean;
  ca: string[] | undefined;
}

/** Pool key: sockets are shared only between requests that would open identical connections. */
export function upstreamKey(host: string, port: number, tls: UpstreamTls | undefined): string {
  return tls ? `tls:${host}:${port}:${tls.servername ?? ''}:${tls.verify ? 1 : 0}` : `${host}:${port}`;
}

/** Whoever is using a backend socket right now (an HTTP session), told about its events. */
export interface UpstreamOwner {
  onUpstreamData(chunk: Buffer): void;
  /** The backend sent FIN. */
  onUpstreamEnd(): void;
  /** The socket closed (after an error, a reset, or both sides ending). */
  onUpstreamClose(): void;
}

export interface PooledSocket {
  readonly socket: net.Socket;
  readonly key: string;
  /** True when this socket served an earlier request (a stale-connection reset may be retried). */
  reused: boolean;
  idleSince: number;
  /** The current user; undefined while idle in the pool. */
  owner: UpstreamOwner | undefined;
  /** In the idle list. */
  pooled: boolean;
  /** The pool's own listeners (removed when the socket leaves HTTP, e.g. for a WebSocket). */
  unwire: (() => void) | undefined;
}

export interface UpstreamPoolOptions {
  clock: Clock;
  ticker: Ticker;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  /** Idle sockets kept per upstream. */
  maxIdlePerKey?: number;
  /** Idle sockets kept in all (the oldest go first beyond it). */
  maxIdle?: number;
  /** Idle sockets older than this are closed by the sweep. */
  idleTimeoutMs?: number;
}

/**
 * Keep-alive connections to backends, per host:port. Idle sockets are kept LIFO (the warmest
 * first), destroyed as soon as the backend ends or closes them (never left in CLOSE_WAIT), swept
 * when idle too long, and bounded per upstream and in all. A socket in use belongs to the
 * connection record using it (which destroys it if the connection closes); an attempt in
 * progress belongs to its caller's connect deadline. Each socket gets its listeners once, at
 * connect; they dispatch to the socket's current owner, so handing a socket from request to
 * request costs no listener churn.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, PooledSocket[]>();
  private readonly maxIdlePerKey: number;
  private readonly maxIdle: number;
  private readonly idleTimeout: number;
  private idleTotal = 0;
  private task: TickerTask | undefined;

  constructor(private readonly o: UpstreamPoolOptions) {
    this.maxIdlePerKey = o.maxIdlePerKey ?? 256;
    this.maxIdle = o.maxIdle ?? 4096;
    this.idleTimeout = o.idleTimeoutMs ?? 30_000;
  }

  /** An idle socket for the key, now owned by `owner`, or undefined. */
  take(key: string, owner: UpstreamOwner): PooledSocket | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const p = list.pop()!;
      p.pooled = false;
      this.idleTotal--;
      if (!p.socket.destroyed && p.socket.readyState === 'open') {
        if (list.length === 0) this.idle.delete(key);
        p.owner = owner;
        return p;
      }
    }
    if (list && list.length === 0) this.idle.delete(key);
    return undefined;
  }

  /** Open a new connection, owned by `owner` once connected (not pooled until released). */
  connect(host: string, port: number, tls: UpstreamTls | undefined, owner: UpstreamOwner, done: (r: ConnectResult, pooled: PooledSocket | undefined) => void): PendingConnect {
    const key = upstreamKey(host, port, tls);
    const o = { host, port, noDelay: this.o.noDelay, keepAlive: this.o.keepAlive, keepAliveInitialDelay: this.o.keepAliveInitialDelay };
    const connected = (r: ConnectResult): void => {
      if (!r.ok) return done(r, undefined);
      const p: PooledSocket = { socket: r.socket, key, reused: false, idleSince: 0, owner, pooled: false, unwire: undefined };
      this.wire(p);
      done(r, p);
    };
    if (tls) {
      return connectTlsUpstream(
        { ...o, ...(tls.servername !== undefined ? { servername: tls.servername } : {}), rejectUnauthorized: tls.verify, ...(tls.ca ? { ca: tls.ca } : {}) },
        connected,
      );
    }
    return connectUpstream(o, connected);
  }

  private wire(p: PooledSocket): void {
    const s = p.socket;
    // Errors end in 'close'; this handler keeps them from escaping.
    s.on('error', noop);
    const onData = (chunk: Buffer): void => {
      if (p.owner) p.owner.onUpstreamData(chunk);
      else s.destroy(); // bytes from an idle backend: not a clean keep-alive socket
    };
    const onEnd = (): void => {
      if (p.owner) p.owner.onUpstreamEnd();
      else s.destroy(); // the backend closed an idle socket: close ours too (no CLOSE_WAIT)
    };
    const onClose = (): void => {
      if (p.owner) p.owner.onUpstreamClose();
      if (p.pooled) this.forget(p);
    };
    s.on('data', onData);
    s.on('end', onEnd);
    s.on('close', onClose);
    p.unwire = () => {
      s.removeListener('data', onData);
      s.removeListener('end', onEnd);
      s.removeListener('close', onClose);
      s.pause();
      p.unwire = undefined;
    };
  }

  /** Take a socket out of HTTP handling altogether (an upgraded connection); the caller owns it. */
  detach(p: PooledSocket): net.Socket {
    p.owner = undefined;
    p.unwire?.();
    return p.socket;
  }

  /** Return a socket whose exchange completed cleanly; it is destroyed if it cannot be kept. */
  release(p: PooledSocket): void {
    p.owner = undefined;
    const s = p.socket;
    if (s.destroyed || s.readyState !== 'open' || s.readableLength > 0 || s.readableEnded) {
      s.destroy();
      return;
    }
    let list = this.idle.get(p.key);
    if (!list) {
      list = [];
      this.idle.set(p.key, list);
    }
    if (list.length >= this.maxIdlePerKey) {
      s.destroy();
      return;
    }
    if (this.idleTotal >= this.maxIdle) this.evictOldest();
    p.reused = true;
    p.idleSince = this.o.clock.now();
    p.pooled = true;
    list.push(p);
    this.idleTotal++;
    this.task ??= this.o.ticker.every(Math.max(1000, Math.floor(this.idleTimeout / 2)), (now) => this.sweep(now));
  }

  /** Give up a socket without pooling it. */
  discard(p: PooledSocket): void {
    p.owner = undefined;
    p.socket.destroy();
  }

  private forget(p: PooledSocket): void {
    if (!p.pooled) return;
    p.pooled = false;
    this.idleTotal--;
    const list = this.idle.get(p.key);
    if (!list) return;
    const i = list.indexOf(p);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(p.key);
  }

  private evictOldest(): void {
    let oldest: PooledSocket | undefined;
    for (const list of this.idle.values()) {
      const p = list[0];
      if (p && (!oldest || p.idleSince < oldest.idleSince)) oldest = p;
    }
    if (!oldest) return;
    this.forget(oldest);
    oldest.socket.destroy();
  }

  sweep(now: number): void {
    for (const [key, list] of this.idle) {
      const keep = list.filter((p) => {
        if (now - p.idleSince < this.idleTimeout && !p.socket.destroyed) return true;
        p.pooled = false;
        this.idleTotal--;
        p.socket.destroy();
        return false;
      });
      if (keep.length === 0) this.idle.delete(key);
      else this.idle.set(key, keep);
    }
    if (this.idle.size === 0) {
      this.task?.cancel();
      this.task = undefined;
    }
  }

  get idleCount(): number {
    return this.idleTotal;
  }

  closeAll(): void {
    for (const list of this.idle.values()) {
      for (const p of list) {
        p.pooled = false;
        p.socket.destroy();
      }
    }
    this.idle.clear();
    this.idleTotal = 0;
    this.task?.cancel();
    this.task = undefined;
  }
}

function noop(): void {}
