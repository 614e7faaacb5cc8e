import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Clock } from '../../core/clock.js';
import type { Ticker, TickerTask } from '../../core/ticker.js';
import { FrameTracker, OP_CLOSE, OP_PING, OP_PONG, MAX_CONTROL_PAYLOAD, encodeFrame } from '../../protocol/ws-frames.js';

export interface WebSocketRelayOptions {
  /** Ping the client after this much silence from it; off when absent or 0. */
  pingIntervalMs?: number;
  /** Close both sides when nothing arrives from the client this long after a ping (default pingIntervalMs). */
  pingTimeoutMs?: number;
  clock: Clock;
  ticker: Ticker;
}

export interface WebSocketRelay {
  close(reason?: string): void;
}

type Stream = net.Socket | tls.TLSSocket;

/** Why a relay ended (the first cause wins); `close(reason)` passes its own. */
export type WebSocketCloseReason =
  | 'client_closed'
  | 'backend_closed'
  | 'client_error'
  | 'backend_error'
  | 'ws_ping_timeout'
  | 'ws_protocol_error'
  | 'closed';

interface PingState {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  check(now: number): void;
}

interface Sweeper {
  readonly relays: Set<PingState>;
  readonly task: TickerTask;
}

/** One ticker task per (ticker, sweep period), shared by every relay using it. */
const sweepers = new WeakMap<Ticker, Map<number, Sweeper>>();

/** How often relays with these limits are checked: a ping or timeout is late by at most this. */
export function sweepPeriod(intervalMs: number, timeoutMs: number): number {
  return Math.max(10, Math.floor(Math.min(intervalMs, timeoutMs) / 8));
}

function register(ticker: Ticker, state: PingState): () => void {
  const period = sweepPeriod(state.intervalMs, state.timeoutMs);
  let byPeriod = sweepers.get(ticker);
  if (!byPeriod) sweepers.set(ticker, (byPeriod = new Map()));
  let sweeper = byPeriod.get(period);
  if (!sweeper) {
    const relays = new Set<PingState>();
    // Deleting from a Set while iterating it is safe: a relay closed by its check is just skipped.
    const task = ticker.every(period, (now) => {
      for (const relay of relays) relay.check(now);
    });
    sweeper = { relays, task };
    byPeriod.set(period, sweeper);
  }
  const own = sweeper;
  own.relays.add(state);
  return () => {
    if (!own.relays.delete(state) || own.relays.size > 0) return;
    own.task.cancel();
    if (byPeriod.get(period) === own) byPeriod.delete(period);
  };
}

/** Relays currently watched for pings on this ticker (diagnostics, leak tests). */
export function pingedRelayCount(ticker: Ticker): number {
  let n = 0;
  for (const sweeper of sweepers.get(ticker)?.values() ?? []) n += sweeper.relays.size;
  return n;
}

/**
 * Splice a WebSocket connection after the 101: client <-> backend, frames passed through
 * unchanged. `clientRest` / `backendRest` (bytes read past the handshake) are replayed first.
 * Without `pingIntervalMs` this is a plain pipe both ways. With it, the proxy pings a silent
 * client (only between frames of the backend's stream), swallows the Pongs that answer its
 * own pings, and closes both sides ('ws_ping_timeout') when the client stays silent.
 * `onClose(reason)` runs once, after both sockets have closed.
 */
export function relayWebSocket(
  client: Stream,
  backend: Stream,
  clientRest: Buffer | undefined,
  backendRest: Buffer | undefined,
  opts: WebSocketRelayOptions,
  onClose: (reason: string) => void,
): WebSocketRelay {
  let reason: string | undefined;
  let open = 2;
  let finished = false;
  let unregister: (() => void) | undefined;
  const closedOne = (): void => {
    if (--open > 0) return;
    finished = true;
    unregister?.();
    onClose(reason ?? 'closed');
  };
  const close = (why: string): void => {
    reason ??= why;
    unregister?.();
    client.destroy();
    backend.destroy();
  };
  client.on('error', () => close('client_error'));
  backend.on('error', () => close('backend_error'));
  client.once('end', () => {
    reason ??= 'client_closed';
  });
  backend.once('end', () => {
    reason ??= 'backend_closed';
  });
  client.once('close', () => {
    reason ??= 'client_closed';
    if (!backend.writableEnded) backend.end();
    closedOne();
  });
  backend.once('close', () => {
    reason ??= 'backend_closed';
    if (!client.writableEnded) client.end();
    closedOne();
  });

  const interval = opts.pingIntervalMs ?? 0;
  if (interval > 0) {
    const timeout = opts.pingTimeoutMs && opts.pingTimeoutMs > 0 ? opts.pingTimeoutMs : interval;
    unregister = startPinging(client, backend, clientRest, backendRest, opts.clock, interval, timeout, close, (state) =>
      register(opts.ticker, state),
    );
  } else {
    if (clientRest && clientRest.length > 0) backend.write(clientRest);
    if (backendRest && backendRest.length > 0) client.write(backendRest);
    client.pipe(backend);
    backend.pipe(client);
  }
  client.resume();
  backend.resume();
  return {
    close: (why?: string) => {
      if (!finished) close(why ?? 'closed');
    },
  };
}

/** Forward `src` to `dst` through `onChunk`, with backpressure and FIN propagation. */
function forward(src: Stream, dst: Stream, onChunk: (chunk: Buffer) => void, onEnd: () => void): void {
  const resume = (): void => {
    src.resume();
  };
  src.on('data', (chunk: Buffer) => {
    onChunk(chunk);
    if (dst.writableNeedDrain) {
      src.pause();
      dst.once('drain', resume);
    }
  });
  src.once('end', () => {
    onEnd();
    if (!dst.writableEnded) dst.end();
  });
}

function startPinging(
  client: Stream,
  backend: Stream,
  clientRest: Buffer | undefined,
  backendRest: Buffer | undefined,
  clock: Clock,
  intervalMs: number,
  timeoutMs: number,
  close: (why: string) => void,
  registerState: (state: PingState) => () => void,
): () => void {
  const token = randomBytes(8);
  const ping = encodeFrame(OP_PING, token);
  const fromClient = new FrameTracker();
  const fromBackend = new FrameTracker({ captureControl: false });
  let lastHeard = clock.now();
  /** When the unanswered ping went out, else undefined. */
  let awaitingSince: number | undefined;
  /** A ping is due but the backend's stream is in the middle of a frame. */
  let pingPending = false;
  /** A Close frame or a FIN was seen: no more pings. */
  let closing = false;
  /** Bytes of an unfinished client Pong that may be ours (at most 2 + 4 + 125). */
  let held: Buffer | undefined;

  const sendPing = (): void => {
    pingPending = false;
    if (closing || !client.writable) return;
    client.write(ping);
    awaitingSince = clock.now();
  };

  const isOurPong = (payload: Buffer | undefined): boolean => payload !== undefined && payload.equals(token);
  const mayBeOurPong = (): boolean =>
    fromClient.currentOpcode === OP_PONG && fromClient.currentPayloadLength <= MAX_CONTROL_PAYLOAD;

  const onClientChunk = (chunk: Buffer): void => {
    lastHeard = clock.now();
    awaitingSince = undefined;
    pingPending = false;
    const parts: Buffer[] = [];
    let out = 0;
    let pos = 0;
    while (pos < chunk.length) {
      const before = pos;
      const startsFrame = fromClient.atBoundary;
      pos = fromClient.step(chunk, pos);
      const frame = fromClient.completed;
      if (frame) {
        if (frame.opcode === OP_PONG && isOurPong(frame.payload)) {
          if (startsFrame && before > out) parts.push(chunk.subarray(out, before));
          held = undefined;
          out = pos;
        } else if (held) {
          parts.push(held);
          held = undefined;
        }
        if (frame.opcode === OP_CLOSE) closing = true;
      } else if (fromClient.error) {
        close('ws_protocol_error');
        return;
      } else if (mayBeOurPong()) {
        // The chunk ends inside a Pong: keep its bytes until it is complete.
        const from = startsFrame ? before : 0;
        if (from > out) parts.push(chunk.subarray(out, from));
        const tail = Buffer.from(chunk.subarray(from));
        held = held ? Buffer.concat([held, tail]) : tail;
        out = chunk.length;
      } else if (held) {
        parts.push(held);
        held = undefined;
      }
    }
    if (out < chunk.length) parts.push(out === 0 ? chunk : chunk.subarray(out));
    for (const part of parts) backend.write(part);
  };

  const onBackendChunk = (chunk: Buffer): void => {
    let pos = 0;
    let out = 0;
    while (pos < chunk.length) {
      pos = fromBackend.step(chunk, pos);
      const frame = fromBackend.completed;
      if (fromBackend.error) {
        close('ws_protocol_error');
        return;
      }
      if (!frame) continue;
      if (frame.opcode === OP_CLOSE) {
        closing = true;
        pingPending = false;
      } else if (pingPending) {
        client.write(chunk.subarray(out, pos));
        out = pos;
        sendPing();
      }
    }
    if (out < chunk.length) client.write(out === 0 ? chunk : chunk.subarray(out));
  };

  forward(client, backend, onClientChunk, () => {
    closing = true;
    if (held) backend.write(held);
    held = undefined;
  });
  forward(backend, client, onBackendChunk, () => {
    closing = true;
  });

  const state: PingState = {
    intervalMs,
    timeoutMs,
    check(now: number): void {
      if (awaitingSince !== undefined) {
        if (now - awaitingSince >= timeoutMs) close('ws_ping_timeout');
        return;
      }
      if (closing || pingPending || now - lastHeard < intervalMs) return;
      if (fromBackend.atBoundary) sendPing();
      else pingPending = true;
    },
  };
  const unregister = registerState(state);
  if (backendRest && backendRest.length > 0) onBackendChunk(backendRest);
  if (clientRest && clientRest.length > 0) onClientChunk(clientRest);
  return unregister;
}
