/**
 * A WebSocket connection after the 101: client <-> backend through the one relay
 * (forwarding/relay.ts), frames passed through unchanged. Without `pingIntervalMs` it is the
 * plain relay. With it, the proxy pings a silent client (only between frames of the backend's
 * stream), swallows the Pongs that answer its own pings, and closes the connection
 * ('ws_ping_timeout') when the client stays silent past `pingTimeoutMs`; the ping schedule is
 * the connection's engine timer on the deadline service.
 */
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import type { Clock } from '../../core/clock.js';
import { relay, type RelayOwner } from '../../forwarding/relay.js';
import { FrameTracker, OP_CLOSE, OP_PING, OP_PONG, MAX_CONTROL_PAYLOAD, encodeFrame } from '../../protocol/ws-frames.js';

export interface WebSocketRelayOptions {
  /** Ping the client after this much silence from it; off when absent or 0. */
  pingIntervalMs?: number;
  /** Close when nothing arrives from the client this long after a ping (default pingIntervalMs). */
  pingTimeoutMs?: number;
  clock: Clock;
}

/** What pinging needs of the connection besides the relay: its one engine timer. */
export interface PingOwner extends RelayOwner {
  startEngineTimer(ms: number, now: number, fn: (now: number) => void): void;
}

/**
 * Relay `owner.stream` <-> `backend` (attached to the owner already). `clientRest` / `backendRest`
 * (bytes read past the handshake) are replayed first. `onClosed` runs once when the connection closes.
 */
export function relayWebSocket(
  owner: PingOwner,
  backend: net.Socket,
  clientRest: Buffer | undefined,
  backendRest: Buffer | undefined,
  opts: WebSocketRelayOptions,
  onClosed: () => void,
): void {
  const now = (): number => opts.clock.now();
  const interval = opts.pingIntervalMs ?? 0;
  if (interval <= 0) {
    relay(owner, backend, { toBackend: clientRest, toClient: backendRest, onClosed, now });
    return;
  }
  const timeout = opts.pingTimeoutMs && opts.pingTimeoutMs > 0 ? opts.pingTimeoutMs : interval;
  const pinger = new Pinger(owner, backend, opts.clock, interval, timeout);
  relay(owner, backend, {
    fromClient: pinger.onClientChunk,
    fromBackend: pinger.onBackendChunk,
    onFin: pinger.onFin,
    onClosed,
    now,
  });
  if (backendRest && backendRest.length > 0) pinger.onBackendChunk(backendRest);
  if (clientRest && clientRest.length > 0) pinger.onClientChunk(clientRest);
  pinger.arm(now());
}

/** Proxy pings towards the client, between the backend's frames; the client's answers are swallowed. */
class Pinger {
  private readonly token = randomBytes(8);
  private readonly ping: Buffer;
  private readonly fromClient = new FrameTracker();
  private readonly fromBackend = new FrameTracker({ captureControl: false });
  private lastHeard: number;
  /** When the unanswered ping went out, else undefined. */
  private awaitingSince: number | undefined;
  /** A ping is due but the backend's stream is in the middle of a frame. */
  private pingPending = false;
  /** A Close frame or a FIN was seen: no more pings. */
  private closing = false;
  /** Bytes of an unfinished client Pong that may be ours (at most 2 + 4 + 125). */
  private held: Buffer | undefined;
  private readonly client: net.Socket;

  constructor(
    private readonly owner: PingOwner,
    private readonly backend: net.Socket,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {
    this.ping = encodeFrame(OP_PING, this.token);
    this.lastHeard = clock.now();
    this.client = owner.stream;
  }

  /** The engine timer: at the answer's deadline while a ping is out, else at the next ping. */
  arm(now: number): void {
    let at: number;
    if (this.awaitingSince !== undefined) at = this.awaitingSince + this.timeoutMs;
    else if (this.closing) return;
    else at = this.lastHeard + this.intervalMs;
    // A ping waiting for a frame boundary is sent from onBackendChunk; look again later meanwhile.
    if (at <= now) at = now + this.intervalMs;
    this.owner.startEngineTimer(at - now, now, this.check);
  }

  private readonly check = (now: number): void => {
    if (this.awaitingSince !== undefined) {
      if (now - this.awaitingSince >= this.timeoutMs) {
        this.owner.close('proxy', 'ws_ping_timeout');
        return;
      }
    } else if (!this.closing && !this.pingPending && now - this.lastHeard >= this.intervalMs) {
      if (this.fromBackend.atBoundary) this.sendPing();
      else this.pingPending = true;
    }
    this.arm(now);
  };

  private sendPing(): void {
    this.pingPending = false;
    if (this.closing || !this.client.writable) return;
    this.client.write(this.ping);
    const now = this.clock.now();
    this.awaitingSince = now;
    this.arm(now);
  }

  private isOurPong(payload: Buffer | undefined): boolean {
    return payload !== undefined && payload.equals(this.token);
  }

  private mayBeOurPong(): boolean {
    return this.fromClient.currentOpcode === OP_PONG && this.fromClient.currentPayloadLength <= MAX_CONTROL_PAYLOAD;
  }

  readonly onClientChunk = (chunk: Buffer): void => {
    const now = this.clock.now();
    // Heard from: the timer moves from the answer's deadline back to the next ping (a plain
    // chunk while nothing is out leaves it where it is; it re-arms itself when it fires).
    const rearm = this.awaitingSince !== undefined || this.pingPending;
    this.lastHeard = now;
    this.awaitingSince = undefined;
    this.pingPending = false;
    if (rearm) this.arm(now);
    const parts: Buffer[] = [];
    let out = 0;
    let pos = 0;
    const t = this.fromClient;
    while (pos < chunk.length) {
      const before = pos;
      const startsFrame = t.atBoundary;
      pos = t.step(chunk, pos);
      const frame = t.completed;
      if (frame) {
        if (frame.opcode === OP_PONG && this.isOurPong(frame.payload)) {
          if (startsFrame && before > out) parts.push(chunk.subarray(out, before));
          this.held = undefined;
          out = pos;
        } else if (this.held) {
          parts.push(this.held);
          this.held = undefined;
        }
        if (frame.opcode === OP_CLOSE) this.closing = true;
      } else if (t.error) {
        this.owner.close('client', 'protocol_error');
        return;
      } else if (this.mayBeOurPong()) {
        // The chunk ends inside a Pong: keep its bytes until it is complete.
        const from = startsFrame ? before : 0;
        if (from > out) parts.push(chunk.subarray(out, from));
        const tail = Buffer.from(chunk.subarray(from));
        this.held = this.held ? Buffer.concat([this.held, tail]) : tail;
        out = chunk.length;
      } else if (this.held) {
        parts.push(this.held);
        this.held = undefined;
      }
    }
    if (out < chunk.length) parts.push(out === 0 ? chunk : chunk.subarray(out));
    for (const part of parts) this.backend.write(part);
  };

  readonly onBackendChunk = (chunk: Buffer): void => {
    let pos = 0;
    let out = 0;
    const t = this.fromBackend;
    while (pos < chunk.length) {
      pos = t.step(chunk, pos);
      const frame = t.completed;
      if (t.error) {
        this.owner.close('backend', 'protocol_error');
        return;
      }
      if (!frame) continue;
      if (frame.opcode === OP_CLOSE) {
        this.closing = true;
        this.pingPending = false;
      } else if (this.pingPending) {
        this.client.write(chunk.subarray(out, pos));
        out = pos;
        this.sendPing();
      }
    }
    if (out < chunk.length) this.client.write(out === 0 ? chunk : chunk.subarray(out));
  };

  readonly onFin = (side: 'client' | 'backend'): void => {
    this.closing = true;
    if (side === 'client' && this.held) {
      this.backend.write(this.held);
      this.held = undefined;
    }
  };
}
