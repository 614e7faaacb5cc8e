import type * as net from 'node:net';
import type { Ticker, TickerTask } from '../core/ticker.js';
import type { Clock } from '../core/clock.js';
import { connectUpstream, type ConnectResult } from '../forwarding/upstream-connector.js';

export interface UpstreamKey {
  host: string;
  port: number;
}

export interface PooledSocket {
  readonly socket: net.Socket;
  readonly key: string;
  /** True when this socket served an earlier request (a stale-connection reset may be retried). */
  reused: boolean;
  idleSince: number;
  /** The 'close' listener installed while idle (removed when taken). */
  onIdleClose: (() => void) | undefined;
}

export interface UpstreamPoolOptions {
  clock: Clock;
  ticker: Ticker;
  connectTimeoutMs: number;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  /** Idle sockets kept per upstream. */
  maxIdlePerKey?: number;
  /** Idle sockets older than this are closed by the sweep. */
  idleTimeoutMs?: number;
}

/**
 * Keep-alive connections to backends, per host:port. Idle sockets are kept LIFO (the
 * warmest first), dropped when the backend closes them, and swept when idle too long.
 * Every pooled socket has an error handler while idle.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, PooledSocket[]>();
  private readonly maxIdle: number;
  private readonly idleTimeout: number;
  private task: TickerTask | undefined;

  constructor(private readonly o: UpstreamPoolOptions) {
    this.maxIdle = o.maxIdlePerKey ?? 256;
    this.idleTimeout = o.idleTimeoutMs ?? 30_000;
  }

  static keyOf(host: string, port: number): string {
    return `${host}:${port}`;
  }

  /** An idle socket for `key`, or undefined. */
  take(key: string): PooledSocket | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const p = list.pop()!;
      if (p.onIdleClose) p.socket.removeListener('close', p.onIdleClose);
      p.onIdleClose = undefined;
      if (!p.socket.destroyed && p.socket.readyState === 'open') {
        if (list.length === 0) this.idle.delete(key);
        return p;
      }
    }
    if (list && list.length === 0) this.idle.delete(key);
    return undefined;
  }

  /** Open a new connection (not pooled until released). */
  connect(host: string, port: number, done: (r: ConnectResult, pooled: PooledSocket | undefined) => void): void {
    const key = UpstreamPool.keyOf(host, port);
    connectUpstream(
      { host, port, timeoutMs: this.o.connectTimeoutMs, keepAlive: this.o.keepAlive, keepAliveInitialDelay: this.o.keepAliveInitialDelay },
      (r) => {
        // Errors on a pooled socket (idle or busy) end in 'close'; this handler keeps them from escaping.
        if (r.ok) r.socket.on('error', noop);
        done(r, r.ok ? { socket: r.socket, key, reused: false, idleSince: 0, onIdleClose: undefined } : undefined);
      },
    );
  }

  /** Return a socket whose exchange completed cleanly; it is destroyed if it cannot be kept. */
  release(p: PooledSocket): void {
    const s = p.socket;
    if (s.destroyed || s.readyState !== 'open' || s.readableLength > 0) {
      s.destroy();
      return;
    }
    let list = this.idle.get(p.key);
    if (!list) {
      list = [];
      this.idle.set(p.key, list);
    }
    if (list.length >= this.maxIdle) {
      s.destroy();
      return;
    }
    p.reused = true;
    p.idleSince = this.o.clock.now();
    s.setTimeout(0);
    p.onIdleClose = () => this.forget(p);
    s.once('close', p.onIdleClose);
    list.push(p);
    this.task ??= this.o.ticker.every(Math.max(1000, Math.floor(this.idleTimeout / 2)), (now) => this.sweep(now));
  }

  private forget(p: PooledSocket): void {
    const list = this.idle.get(p.key);
    if (!list) return;
    const i = list.indexOf(p);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(p.key);
  }

  sweep(now: number): void {
    for (const [key, list] of this.idle) {
      const keep = list.filter((p) => {
        if (now - p.idleSince < this.idleTimeout && !p.socket.destroyed) return true;
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
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  closeAll(): void {
    for (const list of this.idle.values()) for (const p of list) p.socket.destroy();
    this.idle.clear();
    this.task?.cancel();
    this.task = undefined;
  }
}

function noop(): void {}
