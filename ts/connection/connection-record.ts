/**
 * One accepted client connection, from accept to close: the one lifecycle every engine uses.
 *
 * - It owns its sockets: the raw client socket from birth, the TLS socket that may wrap it, the
 *   backend socket once attached. Each gets two listeners, once, when it joins (named module
 *   functions, as ws does: `socketOnError`, `socketOnClose`); they find the record through a
 *   symbol on the socket and stay behind as no-ops after the record closes, so a late error
 *   never escapes.
 * - It closes through one `close(side, reason, error)`: the first call wins, destroys every
 *   socket it owns, cancels its deadlines, tells its engine, and releases its limits, metrics
 *   and events through the host (the ConnectionManager) exactly once, whatever order the
 *   sockets and timers come in.
 * - Its deadlines are one entry in the deadline service: fixed deadlines (first bytes, TLS
 *   handshake, backend connect, request head, response head, one engine timer, lifetime) plus
 *   the idle limits (socketTimeout, inactivity, half-close), which are judged from the client
 *   socket's byte counters (every byte relayed either way crosses it), sampled often enough that
 *   a limit fires within max(limit / 16, 100 ms) of its value: no work per byte or per read.
 *
 * An engine (the L4 relay, the HTTP session) becomes the record's `engine` to hear about its
 * sockets closing and about the deadlines it answers itself (504, 408); without one, a closed
 * client socket closes the connection.
 */
import type * as net from 'node:net';
import { normalizeIp } from '../core/ip.js';
import { NOT_SCHEDULED, type DeadlineService, type Timed } from '../core/deadlines.js';
import type { RelayReader } from '../core/node-internals.js';
import { reasonForError, type CloseReason, type CloseSide } from './close-reason.js';
import { firstIdleCheck, idleCheckStep, judgeIdle, type IdleState } from './idle-policy.js';

export type { CloseReason, CloseSide };

/** Facts learnt from the first bytes. */
export interface SniffFacts {
  isTls: boolean;
  /** The first bytes were (or looked like) an HTTP request. */
  isHttp: boolean;
  sni: string | undefined;
  tlsVersion: string | undefined;
  httpHost: string | undefined;
}

/** Fixed per-connection deadlines (one slot each; the idle limits and lifetime are separate). */
export const enum Timer {
  InitialData = 0,
  TlsHandshake = 1,
  Connect = 2,
  Headers = 3,
  Response = 4,
  /** Owned by the current engine or socket handler (WebSocket pings, a one-request handler's head). */
  Engine = 5,
}
const TIMER_COUNT = 6;
const TIMER_REASON: readonly CloseReason[] = ['initial_data_timeout', 'tls_handshake_timeout', 'connect_timeout', 'headers_timeout', 'response_timeout', 'handler_error'];

/** What the current engine hears from the record. */
export interface ConnectionEngine {
  /** A socket of the connection closed (the record is still open). */
  onSocketClose(side: 'client' | 'backend'): void;
  /** A fixed deadline fired; true when the engine answers it (and closes the record itself). */
  onTimeout?(reason: CloseReason): boolean;
  /** The record closed: release what the engine holds. */
  onClosed?(): void;
  /** The close reason a socket error stands for in this engine's phase (default reset/error). */
  errorReason?(side: 'client' | 'backend', err: Error): CloseReason;
}

export interface BackendConnectDefaults {
  readonly timeoutMs: number;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelay: number;
}

/** What the record needs of its owner (the ConnectionManager). */
export interface RecordHost {
  readonly deadlines: DeadlineService;
  /** How long a half-closed connection may stay idle (ms, 0 = no limit). */
  readonly halfCloseTimeout: number;
  /** How backend connections of this connection are opened (connectionTimeout, TCP keep-alive). */
  readonly connect: BackendConnectDefaults;
  /** Called exactly once, when the record closes. */
  released(record: ConnectionRecord): void;
}

const kRecord = Symbol('smartproxy.connection');
const kSide = Symbol('smartproxy.side');
interface OwnedSocket extends net.Socket {
  [kRecord]?: ConnectionRecord;
  [kSide]?: 'client' | 'backend';
}

function socketOnError(this: OwnedSocket, err: Error): void {
  this[kRecord]?.socketError(this[kSide] ?? 'client', err);
}
function socketOnClose(this: OwnedSocket): void {
  this[kRecord]?.socketClosed(this[kSide] ?? 'client');
}

/** The record that owns `socket` (the raw client socket or its TLS socket), if any. */
export function recordOf(socket: net.Socket): ConnectionRecord | undefined {
  const r = (socket as OwnedSocket)[kRecord];
  return r !== undefined && !r.closed ? r : undefined;
}

export class ConnectionRecord implements Timed {
  readonly idText: string;
  /** What engines read and write: the raw socket, or the TLS socket wrapping it. */
  stream: net.Socket;
  backend: net.Socket | undefined = undefined;
  engine: ConnectionEngine | undefined = undefined;
  routeName: string | undefined = undefined;
  routeIndex: number | undefined = undefined;
  /** The client socket's reader, on ports where every route relays (see core/node-internals.ts). */
  clientReader: RelayReader | undefined = undefined;
  backendHost: string | undefined = undefined;
  backendPort: number | undefined = undefined;
  facts: SniffFacts | undefined = undefined;
  /** Bytes of an accepted PROXY header: read from the client but never counted. */
  proxyHeaderBytes = 0;
  /** The destination port the client connected to (from a PROXY header, else the local port). */
  destPort: number;
  private destIpValue: string | undefined = undefined;
  /** TCP keep-alive probes on: keepAliveTreatment applies. */
  keepAlive = false;
  /** Fixed when the connection is created (jitter applied once); Infinity = none. */
  lifetimeLimit = Infinity;
  /** When the zombie sweep first saw exactly one side destroyed. */
  halfDeadSince = 0;
  /** HTTP sessions wait on slow backends legitimately: the "data in, nothing out" zombie rule does not apply. */
  exemptFromStuckRule = false;
  /** connection:open was emitted. */
  announced = false;
  /** Counted against the per-IP limits (released exactly once). */
  countedForIp = false;
  /** Counted against its route's maxConnections (released exactly once). */
  countedForRoute: string | undefined = undefined;
  metricsSampledIn = 0;
  metricsSampledOut = 0;

  closed = false;
  closeSide: CloseSide | undefined = undefined;
  closeReason: CloseReason | undefined = undefined;
  closeError: Error | undefined = undefined;

  /** A FIN passed one way and the other still flows: halfCloseTimeout applies. */
  private halfClosedFlag = false;
  /** An HTTP request waits for its response: socketTimeout does not apply (responseTimeout does). */
  private inFlightFlag = false;

  deadlineKey = NOT_SCHEDULED;
  private scheduledFor = Infinity;
  private readonly due = new Float64Array(TIMER_COUNT).fill(Infinity);
  private engineTimer: ((now: number) => void) | undefined = undefined;
  private lifetimeDue = Infinity;
  private idleCheckDue = Infinity;
  /** Idle limits and what the checks have seen (connection/idle-policy.ts). */
  private readonly idle: IdleState;

  constructor(
    readonly id: number,
    readonly client: net.Socket,
    public clientIp: string,
    public clientPort: number,
    readonly localPort: number,
    readonly startTime: number,
    private readonly host: RecordHost,
  ) {
    this.idText = id.toString(36);
    this.destPort = localPort;
    this.idle = {
      inactivityLimit: Infinity,
      socketIdleLimit: Infinity,
      halfCloseLimit: host.halfCloseTimeout,
      halfClosed: false,
      inFlight: false,
      lastActivity: startTime,
      seenTraffic: 0,
    };
    this.stream = client;
    own(client, this, 'client');
  }

  /** Set the limits and schedule the first check (the manager calls this once, at create). */
  limits(inactivity: number, lifetime: number, socketIdle = Infinity): void {
    this.idle.inactivityLimit = inactivity;
    this.idle.socketIdleLimit = socketIdle;
    this.lifetimeLimit = lifetime;
    this.lifetimeDue = this.startTime + lifetime;
    this.idleCheckDue = firstIdleCheck(this.idle, this.startTime);
    this.reschedule();
  }

  /** Now, on the clock the record's deadlines run on. */
  now(): number {
    return this.host.deadlines.clock.now();
  }

  /** How this connection's backend connections are opened. */
  get connectDefaults(): BackendConnectDefaults {
    return this.host.connect;
  }

  /** The address the client connected to: from a PROXY header, else this socket's local address (plain form). */
  get destIp(): string {
    this.destIpValue ??= normalizeIp(this.client.localAddress ?? '');
    return this.destIpValue;
  }

  set destIp(ip: string) {
    this.destIpValue = ip;
  }

  get isTls(): boolean {
    return this.facts?.isTls ?? false;
  }

  bytesIn(): number {
    return Math.max(0, this.client.bytesRead - this.proxyHeaderBytes);
  }

  bytesOut(): number {
    return this.client.bytesWritten;
  }

  // ---- sockets ----

  /** The client stream is now `tls` (a TLS socket over the raw one); both are owned. */
  attachStream(tls: net.Socket): void {
    if (this.closed) {
      tls.on('error', noop);
      tls.destroy();
      return;
    }
    this.stream = tls;
    own(tls, this, 'client');
  }

  /** The backend socket joins the connection (destroyed at once if the connection has closed). */
  attachBackend(socket: net.Socket): void {
    if (this.closed) {
      socket.on('error', noop);
      socket.destroy();
      return;
    }
    this.backend = socket;
    own(socket, this, 'backend');
  }

  /**
   * A backend socket the record uses without owning its listeners (an HTTP keep-alive socket,
   * wired by the pool): destroyed if the connection closes while it is in use.
   */
  useBackend(socket: net.Socket | undefined): void {
    this.backend = socket;
  }

  /** @internal from socketOnError. */
  socketError(side: 'client' | 'backend', err: Error): void {
    if (this.closed) return;
    this.close(side, this.engine?.errorReason?.(side, err) ?? reasonForError(err), err);
  }

  /** @internal from socketOnClose. */
  socketClosed(side: 'client' | 'backend'): void {
    if (this.closed) return;
    if (this.engine) this.engine.onSocketClose(side);
    else this.close(side, 'closed');
  }

  /**
   * End the connection: the first call wins. Destroys every socket, cancels the deadlines,
   * tells the engine, then releases limits, metrics and events (through the host) once.
   */
  close(side: CloseSide, reason: CloseReason, error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeSide = side;
    this.closeReason = reason;
    this.closeError = error;
    this.host.deadlines.cancel(this);
    const engine = this.engine;
    this.engine = undefined;
    this.engineTimer = undefined;
    if (engine?.onClosed) {
      try {
        engine.onClosed();
      } catch {
        // an engine's clean-up never stops the release below
      }
    }
    if (!this.stream.destroyed) this.stream.destroy();
    if (!this.client.destroyed) this.client.destroy();
    if (this.backend && !this.backend.destroyed) this.backend.destroy();
    this.host.released(this);
  }

  // ---- deadlines ----

  /** Start (or restart) a fixed deadline `ms` from now (`from`: an earlier start, e.g. accept). */
  startTimer(timer: Timer, ms: number, now: number, from = now): void {
    if (this.closed) return;
    const due = from + ms;
    this.due[timer] = due;
    if (due < this.scheduledFor) this.scheduleAt(due);
  }

  clearEngineTimer(): void {
    this.clearTimer(Timer.Engine);
  }

  clearTimer(timer: Timer): void {
    // Lazy: the entry fires at the old time and re-schedules itself for what is left.
    this.due[timer] = Infinity;
    if (timer === Timer.Engine) this.engineTimer = undefined;
  }

  /** The engine's own timer: `fn` runs once at now + ms unless cleared or replaced. */
  startEngineTimer(ms: number, now: number, fn: (now: number) => void): void {
    if (this.closed) return;
    this.engineTimer = fn;
    this.startTimer(Timer.Engine, ms, now);
  }

  /** A FIN has passed one way: from now the connection may stay idle only halfCloseTimeout. */
  markHalfClosed(now: number): void {
    const idle = this.idle;
    if (idle.halfClosed || this.closed) return;
    idle.halfClosed = true;
    // The FIN is traffic: the half-close limit counts from it (or from later bytes).
    if (now > idle.lastActivity) idle.lastActivity = now;
    this.recheckIdle(now);
  }

  get halfClosed(): boolean {
    return this.idle.halfClosed;
  }

  /** halfCloseTimeout of the proxy this connection belongs to (0 = none). */
  get halfCloseTimeout(): number {
    return this.idle.halfCloseLimit;
  }

  /** An HTTP request waits on its backend (socketTimeout paused) or is done (it applies again). */
  setInFlight(inFlight: boolean, now: number): void {
    const idle = this.idle;
    if (idle.inFlight === inFlight) return;
    idle.inFlight = inFlight;
    if (!inFlight && idle.socketIdleLimit !== Infinity) this.recheckIdle(now, idleCheckStep(idle.socketIdleLimit));
  }

  get inFlight(): boolean {
    return this.idle.inFlight;
  }

  /** Run an idle check within `within` ms (default: at the next bucket). */
  private recheckIdle(now: number, within = 0): void {
    const at = now + within;
    if (at < this.idleCheckDue) {
      this.idleCheckDue = at;
      if (at < this.scheduledFor) this.scheduleAt(at);
    }
  }

  /** @internal from the deadline service. */
  onDeadline(now: number): void {
    this.scheduledFor = Infinity;
    if (this.closed) return;
    const due = this.due;
    for (let t = 0; t < TIMER_COUNT; t++) {
      if (due[t]! > now) continue;
      due[t] = Infinity;
      this.timerFired(t as Timer, now);
      if (this.closed) return;
    }
    if (now >= this.lifetimeDue) {
      this.close('proxy', 'lifetime');
      return;
    }
    if (now >= this.idleCheckDue) {
      const v = judgeIdle(this.idle, this.client.bytesRead + this.client.bytesWritten, now);
      if (v.close !== undefined) {
        this.close('proxy', v.close);
        return;
      }
      this.idleCheckDue = v.next;
    }
    this.reschedule();
  }

  private timerFired(timer: Timer, now: number): void {
    if (timer === Timer.Engine) {
      const fn = this.engineTimer;
      this.engineTimer = undefined;
      fn?.(now);
      return;
    }
    const reason = TIMER_REASON[timer]!;
    if (this.engine?.onTimeout?.(reason) === true) return;
    this.close('proxy', reason);
  }

  private reschedule(): void {
    let next = this.lifetimeDue < this.idleCheckDue ? this.lifetimeDue : this.idleCheckDue;
    const due = this.due;
    for (let t = 0; t < TIMER_COUNT; t++) if (due[t]! < next) next = due[t]!;
    if (next === Infinity) {
      this.host.deadlines.cancel(this);
      this.scheduledFor = Infinity;
      return;
    }
    this.scheduleAt(next);
  }

  private scheduleAt(due: number): void {
    this.scheduledFor = due;
    this.host.deadlines.schedule(this, due);
  }
}

function own(socket: net.Socket, record: ConnectionRecord, side: 'client' | 'backend'): void {
  const s = socket as OwnedSocket;
  s[kRecord] = record;
  s[kSide] = side;
  s.on('error', socketOnError);
  s.on('close', socketOnClose);
}

function noop(): void {}
