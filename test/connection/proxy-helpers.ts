/**
 * Helpers for the end-to-end ConnectionManager tests: a real SmartProxy with real sockets
 * on 127.0.0.1, but a ManualClock and a manual Ticker so every timeout runs in milliseconds.
 */
import type * as net from 'node:net';
import { ManualClock } from '../../ts/core/clock.js';
import { Ticker } from '../../ts/core/ticker.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';
import type { IRouteConfig } from '../../ts/types.js';
import { connectTo, readUntil } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';

export interface FakeTime {
  clock: ManualClock;
  ticker: Ticker;
  /** Move the clock by `ms` in steps of `stepMs`, running due ticker tasks after each step. */
  advance(ms: number, stepMs?: number): void;
}

export function fakeTime(defaultStepMs = 1000): FakeTime {
  // A whole second: deadlines (10 ms buckets, rounded up) then fall on the steps exactly.
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const ticker = new Ticker(clock, { manual: true });
  return {
    clock,
    ticker,
    advance(ms: number, stepMs = defaultStepMs): void {
      let left = ms;
      while (left > 0) {
        const step = Math.min(stepMs, left);
        clock.advance(step);
        left -= step;
        ticker.runDue();
      }
    },
  };
}

export function forwardRoute(name: string, port: number, target: number, extra: Partial<IRouteConfig> = {}): IRouteConfig {
  return { name, match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: target } }, ...extra };
}

/** The payload of 'connection:close' (see SmartProxy's onClosed). */
export interface CloseEvent {
  connectionId: string;
  clientIp: string;
  route: string | undefined;
  reason: string;
  side: 'client' | 'backend' | 'proxy';
  durationMs: number;
}

export interface BlockedEvent {
  reason: string;
  clientIp: string;
  port: number;
  route?: string;
}

export function recordEvents(proxy: SmartProxy): { closes: CloseEvent[]; blocked: BlockedEvent[] } {
  const closes: CloseEvent[] = [];
  const blocked: BlockedEvent[] = [];
  proxy.on('connection:close', (e: CloseEvent) => closes.push(e));
  proxy.on('security:blocked', (e: BlockedEvent) => blocked.push(e));
  return { closes, blocked };
}

/**
 * Connect through the proxy to an echo backend and prove the path with one round trip,
 * so the record has its backend socket before the clock moves.
 */
export async function echoConnection(port: number, t: { after(fn: () => unknown): void }, payload = 'ping'): Promise<net.Socket> {
  const socket = await connectTo(port);
  t.after(() => socket.destroy());
  socket.write(payload);
  await readUntil(socket, (b) => b.toString().includes(payload), 3000);
  return socket;
}

/** One more echo round trip on an open socket (traffic for the activity check). */
export async function echo(socket: net.Socket, payload = 'again'): Promise<void> {
  const done = readUntil(socket, (b) => b.toString().includes(payload), 3000);
  socket.write(payload);
  await done;
}

/** Resolves once the socket is closed (by the proxy); rejects after `timeoutMs`. */
export function closedWithin(socket: net.Socket, timeoutMs = 2000): Promise<void> {
  if (socket.destroyed && socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
  });
}

/** Give the event loop a few turns so a close that would happen does happen. */
export async function settle(ms = 30): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Termination counters by side and reason, read from the Prometheus exposition. */
export async function terminations(proxy: SmartProxy): Promise<Record<string, number>> {
  const text = await proxy.getPrometheusMetrics();
  const out: Record<string, number> = {};
  const re = /^smartproxy_connection_terminations_total\{side="(\w+)",reason="(\w+)"\} (\d+)/gm;
  for (const m of text.matchAll(re)) out[`${m[1]}:${m[2]}`] = Number(m[3]);
  return out;
}

/** `smartproxy_connections_closed_total` by reason, from the Prometheus exposition. */
export async function closesByReason(proxy: SmartProxy): Promise<Record<string, number>> {
  const text = await proxy.getPrometheusMetrics();
  const out: Record<string, number> = {};
  const re = /^smartproxy_connections_closed_total\{reason="(\w+)"\} (\d+)/gm;
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Refusal counters by reason, read from the Prometheus exposition. */
export async function refusals(proxy: SmartProxy): Promise<Record<string, number>> {
  const text = await proxy.getPrometheusMetrics();
  const out: Record<string, number> = {};
  const re = /^smartproxy_connections_refused_total\{reason="(\w+)"\} (\d+)/gm;
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

export async function waitForRecords(proxy: SmartProxy, n: number, timeoutMs = 3000): Promise<void> {
  await waitFor(() => proxy.connectionCount === n, timeoutMs, {
    message: () => `connectionCount ${proxy.connectionCount}, want ${n}`,
  });
}
