/**
 * Shared pieces of the lifecycle suite (connection faults, deadlines, start/stop):
 *
 * - a per-test rig: a baseline of the process's active resources by kind, proxies and
 *   backends made through it, and `finish()`, which checks the proxies' books are empty
 *   (`connections.active()` 0, `byIP()` empty), stops everything and waits until every
 *   resource kind is back at its baseline;
 * - a scripted raw TCP backend (every connection recorded: bytes in/out, when it opened and
 *   closed) with small scripts (answer each request head, banner, silence, ...);
 * - a "black hole" backend whose TCP handshake never completes (a full accept queue);
 * - a raw client probe that records every byte with its arrival time, the status line of a
 *   response, FIN, RST and close;
 * - readers for `connection:close` events and `smartproxy_connections_closed_total`;
 * - `ss -tan` sockets by peer port (CLOSE_WAIT checks);
 * - a real ClientHello for a given SNI, captured at test time.
 *
 * Only 127.0.0.1 is ever used. Every wait is bounded.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { after } from 'node:test';
import { SmartProxy, type ISmartProxyOptions, type CloseReason, type CloseSide } from '../../ts/index.js';
import { freePort, freePorts, silentLogger } from '../integration/harness.js';
import { waitFor, delay, activeResources } from '../helpers/leaks.js';
import { watchProcessErrors, describeErrors, since, type IProcessErrorWatch } from '../leaks/kit.js';

export { freePort, freePorts, waitFor, delay, since };

// ---------------------------------------------------------------------------------------
// Options and events: the package's own types.

export type { CloseReason } from '../../ts/index.js';

export type LifecycleOptions = Omit<ISmartProxyOptions, 'logger'> & { logger?: ISmartProxyOptions['logger'] };

/** The payload of `connection:close` (the fields these tests read). */
export interface CloseEvent {
  connectionId: string;
  clientIp: string;
  port: number;
  route?: string;
  reason?: CloseReason;
  side?: CloseSide;
  durationMs?: number;
  /** performance.now() when the event was seen. */
  at: number;
}

/** Per-IP limits off: many connections from 127.0.0.1 must not be refused, and no per-IP state lingers. */
export const NO_IP_LIMITS = { maxConnectionsPerIP: 0, connectionRateLimitPerMinute: 0 } as const;

// ---------------------------------------------------------------------------------------
// Resources

export type ResourceCounts = Record<string, number>;

/** `process.getActiveResourcesInfo()` counted by kind. */
export function resourceCounts(): ResourceCounts {
  return activeResources();
}

/** Kinds whose count is above the baseline, as `kind: now > base`. */
export function resourceExcess(baseline: ResourceCounts, now: ResourceCounts = resourceCounts()): string[] {
  const out: string[] = [];
  for (const [kind, n] of Object.entries(now)) if (n > (baseline[kind] ?? 0)) out.push(`${kind}: ${n} > ${baseline[kind] ?? 0}`);
  return out;
}

/** Waits until no resource kind is above its baseline count; rejects with the excess after `timeoutMs`. */
export function waitForResourceBaseline(baseline: ResourceCounts, timeoutMs = 3000): Promise<void> {
  return waitFor(() => resourceExcess(baseline).length === 0, timeoutMs, {
    intervalMs: 20,
    message: () => `resources above baseline: ${resourceExcess(baseline).join(', ')} (baseline ${JSON.stringify(baseline)})`,
  });
}

/** Waits until the proxy's books are empty: `connections.active()` 0 and `byIP()` empty. */
export function waitForEmptyBooks(proxy: SmartProxy, timeoutMs = 2000): Promise<void> {
  const stats = proxy.getStats();
  return waitFor(() => stats.connections.active() === 0 && stats.connections.byIP().size === 0, timeoutMs, {
    intervalMs: 10,
    message: () => `active() = ${stats.connections.active()}, byIP() = ${JSON.stringify([...stats.connections.byIP()])}`,
  });
}

/**
 * A safety net for the whole file: once every test has ended, a process still kept alive by
 * handles (a listener a failed test left bound, a timer) exits with code 1 after `graceMs`
 * instead of hanging the run; the file is then reported failed. Call once at the top level.
 */
export function exitWhenDone(graceMs = 3000): void {
  after(() => {
    setTimeout(() => {
      console.error(`lifecycle: handles still open ${graceMs} ms after the last test: ${JSON.stringify(resourceCounts())}; exiting`);
      process.exit(1);
    }, graceMs).unref();
  });
}

export interface TestContextLike {
  after(fn: () => unknown): void;
  diagnostic?(message: string): void;
}

interface Closable {
  close(): Promise<void>;
}

/**
 * One test's world. Make it first (the baseline is taken then), make every proxy, backend and
 * client through it, and end with `await rig.finish()`.
 */
export class Rig {
  readonly baseline: ResourceCounts;
  readonly proxies: SmartProxy[] = [];
  private readonly closables: Closable[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly errors: IProcessErrorWatch;
  private finished = false;

  private constructor(t: TestContextLike) {
    this.baseline = resourceCounts();
    // Nothing may escape as an uncaught exception or unhandled rejection meanwhile.
    this.errors = watchProcessErrors(t);
    // On a failed assertion the test never reaches finish(): clean up anyway.
    t.after(() => this.cleanup());
  }

  static open(t: TestContextLike): Rig {
    return new Rig(t);
  }

  /** A SmartProxy on 127.0.0.1 (silent logger, no grace on stop unless given), started. */
  async proxy(options: LifecycleOptions): Promise<SmartProxy> {
    const proxy = this.makeProxy(options);
    await proxy.start();
    return proxy;
  }

  /** A SmartProxy on 127.0.0.1, not started. */
  makeProxy(options: LifecycleOptions): SmartProxy {
    const proxy = new SmartProxy({ listenAddress: '127.0.0.1', gracefulShutdownTimeout: 0, logger: silentLogger, ...options } as ISmartProxyOptions);
    this.proxies.push(proxy);
    return proxy;
  }

  /** Registers something to close at the end (a backend). */
  track<T extends Closable>(c: T): T {
    this.closables.push(c);
    return c;
  }

  /** Registers a client socket to destroy at the end. */
  socket<T extends net.Socket>(s: T): T {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    return s;
  }

  async backend(script: ConnectionScript, opts: ScriptedBackendOptions = {}): Promise<ScriptedBackend> {
    return this.track(await startScriptedBackend(script, opts));
  }

  async blackHole(): Promise<BlackHole> {
    return this.track(await startBlackHole());
  }

  async connect(port: number, opts: ProbeOptions = {}): Promise<Probe> {
    const p = await Probe.connect(port, opts);
    this.socket(p.socket);
    return p;
  }

  /**
   * (c) of every fault test: each proxy's books are empty, then everything is stopped and
   * closed, and every resource kind returns to its baseline.
   */
  async finish(opts: { booksTimeoutMs?: number; resourcesTimeoutMs?: number } = {}): Promise<void> {
    for (const p of this.proxies) await waitForEmptyBooks(p, opts.booksTimeoutMs ?? 2000);
    await this.cleanup();
    await waitForResourceBaseline(this.baseline, opts.resourcesTimeoutMs ?? 3000);
    if (this.errors.errors.length > 0) throw new Error(`process errors during the test:\n${describeErrors(this.errors)}`);
  }

  private async cleanup(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.allSettled(this.proxies.map((p) => withTimeout(p.stop(), 10_000, 'proxy.stop()')));
    await Promise.allSettled(this.closables.map((c) => withTimeout(c.close(), 5000, 'backend close()')));
  }
}

/** Rejects when `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} not settled within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------
// Close events and counters

/** Records every `connection:close` event of `proxy` (with its arrival time). */
export function recordCloses(proxy: SmartProxy): CloseEvent[] {
  const out: CloseEvent[] = [];
  proxy.on('connection:close', (e: Omit<CloseEvent, 'at'>) => out.push({ ...e, at: performance.now() }));
  return out;
}

/** `smartproxy_connections_closed_total` by reason. */
export async function closedTotals(proxy: SmartProxy): Promise<Map<string, number>> {
  const text = await proxy.getPrometheusMetrics();
  const out = new Map<string, number>();
  const re = /^smartproxy_connections_closed_total\{([^}]*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const reason = /(?:^|,)reason="([^"]*)"/.exec(m[1]!)?.[1];
    if (reason !== undefined) out.set(reason, (out.get(reason) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Waits until `n` close events were seen; returns them. */
export async function waitForCloses(closes: CloseEvent[], n: number, timeoutMs = 2000): Promise<CloseEvent[]> {
  await waitFor(() => closes.length >= n, timeoutMs, {
    message: () => `${closes.length} of ${n} connection:close events: ${JSON.stringify(closes.map((c) => c.reason))}`,
  });
  return closes;
}

/** Reasons of the close events, in order. */
export function reasons(closes: readonly CloseEvent[]): Array<string | undefined> {
  return closes.map((c) => c.reason);
}

// ---------------------------------------------------------------------------------------
// The scripted backend

/** One connection accepted by a scripted backend. */
export class BackendConn {
  /** Bytes received (kept up to 1 MiB). */
  received: Buffer = Buffer.alloc(0);
  bytesReceived = 0;
  /** Bytes of `write()` calls whose callback reported them flushed to the kernel. */
  bytesFlushed = 0;
  readonly openedAt = performance.now();
  endAt: number | undefined;
  closedAt: number | undefined;
  /** Set by a script when it injects its fault (performance.now()). */
  faultAt: number | undefined;
  private waiters = new Set<() => void>();

  constructor(
    readonly socket: net.Socket,
    readonly index: number,
  ) {
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.bytesReceived += d.length;
      if (this.received.length < 1024 * 1024) this.received = Buffer.concat([this.received, d]);
      this.kick();
    });
    socket.once('end', () => {
      this.endAt = performance.now();
      this.kick();
    });
    socket.once('close', () => {
      this.closedAt = performance.now();
      this.kick();
    });
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  text(): string {
    return this.received.toString('latin1');
  }

  /** Writes and counts the bytes once flushed. */
  write(data: string | Buffer): boolean {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.socket.destroyed) return false;
    return this.socket.write(b, (err) => {
      if (!err) this.bytesFlushed += b.length;
    });
  }

  /** Resolves when `pred(received)` holds; rejects after `timeoutMs` or when the connection closes first. */
  until(pred: (text: string) => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pred(this.text())) done();
        else if (this.closed) fail(new Error(`backend connection closed; received ${JSON.stringify(this.text().slice(0, 200))}`));
      };
      const timer = setTimeout(() => fail(new Error(`backend: condition not met within ${timeoutMs} ms; received ${JSON.stringify(this.text().slice(0, 200))}`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const fail = (e: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        reject(e);
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Is the peer's socket fully closed? Writes a byte (then another every 50 ms): a peer that
   * has closed its socket answers with RST, which closes this one. Resolves true when that
   * happens within `timeoutMs` (use only once nothing else is expected on the connection).
   */
  async peerGone(timeoutMs = 500): Promise<boolean> {
    return probePeerGone(this.socket, () => this.closed, timeoutMs);
  }

  /** Resolves once `count` request heads (CRLFCRLF) were received. */
  requestHeads(count = 1, timeoutMs = 5000): Promise<void> {
    return this.until((s) => s.split('\r\n\r\n').length - 1 >= count, timeoutMs);
  }

  private kick(): void {
    for (const w of [...this.waiters]) w();
  }
}

export type ConnectionScript = (conn: BackendConn) => void;

export interface ScriptedBackendOptions {
  /** Default true: a FIN from the proxy does not end the backend's side. */
  allowHalfOpen?: boolean;
}

export interface ScriptedBackend {
  readonly port: number;
  readonly conns: readonly BackendConn[];
  /** Connections still open. */
  readonly open: number;
  /** Resolves once `n` connections were accepted. */
  waitConnections(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 that runs `script` for each accepted connection. */
export async function startScriptedBackend(script: ConnectionScript, opts: ScriptedBackendOptions = {}): Promise<ScriptedBackend> {
  const conns: BackendConn[] = [];
  const live = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: opts.allowHalfOpen ?? true }, (socket) => {
    live.add(socket);
    socket.once('close', () => live.delete(socket));
    const c = new BackendConn(socket, conns.length);
    conns.push(c);
    try {
      script(c);
    } catch {
      socket.destroy();
    }
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    conns,
    get open() {
      return live.size;
    },
    waitConnections: (n, timeoutMs = 5000) => waitFor(() => conns.length >= n, timeoutMs, { message: () => `${conns.length} of ${n} backend connections` }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes a byte every 50 ms until the socket closes or `timeoutMs` passes. A peer whose socket
 * is closed answers the first byte with RST; a socket that has already read EOF no longer
 * polls for reads, so it learns of the RST from the next write (EPIPE), which closes it.
 */
async function probePeerGone(socket: net.Socket, closed: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!closed() && performance.now() < deadline) {
    if (!socket.destroyed && socket.writable) socket.write('?');
    await delay(50);
  }
  return closed();
}

/** A complete small HTTP/1.1 response. */
export function okResponse(body = 'ok', extra = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/**
 * Script pieces. `answerEachRequest` answers every request head (no request bodies) with
 * `respond(i)`; the connection stays open (keep-alive).
 */
export const scripts = {
  /** Reads and never answers. */
  silent: (): ConnectionScript => () => {},
  /** Answers each request head (GET-style, no body) with the given response text. */
  answerEachRequest:
    (respond: (conn: BackendConn, requestIndex: number) => string | undefined = () => okResponse()): ConnectionScript =>
    (c) => {
      let answered = 0;
      c.socket.on('data', () => {
        const heads = c.text().split('\r\n\r\n').length - 1;
        while (answered < heads) {
          const r = respond(c, answered++);
          if (r !== undefined) c.write(r);
        }
      });
    },
  /** Once the first request head is in, runs `then`. */
  afterFirstHead:
    (then: (c: BackendConn) => void): ConnectionScript =>
    (c) => {
      let done = false;
      c.socket.on('data', () => {
        if (!done && c.text().includes('\r\n\r\n')) {
          done = true;
          then(c);
        }
      });
    },
  /** Sends `banner` at once on accept, then echoes what it receives (never ends on FIN). */
  banner:
    (banner: string): ConnectionScript =>
    (c) => {
      c.write(banner);
      c.socket.on('data', (d: Buffer) => c.write(d));
    },
  /** Echoes (with `allowHalfOpen: false` on the backend, a FIN is answered with FIN by Node). */
  echo: (): ConnectionScript => (c) => {
    c.socket.on('data', (d: Buffer) => c.write(d));
  },
  /** Echoes; ignores the peer's FIN (never ends its own side; needs the default allowHalfOpen). */
  echoIgnoringFin: (): ConnectionScript => (c) => {
    c.socket.on('data', (d: Buffer) => c.write(d));
  },
};

/** Answers a WebSocket upgrade request head with 101 (then does nothing, ignoring FIN). */
export function websocketAccept(c: BackendConn): void {
  const key = /sec-websocket-key:\s*(\S+)/i.exec(c.text())?.[1] ?? '';
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  c.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
}

/** An HTTP/1.1 WebSocket upgrade request. */
export function websocketRequest(host: string, path = '/ws'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

// ---------------------------------------------------------------------------------------
// The black hole: a listener whose TCP handshakes never complete

export interface BlackHole {
  readonly port: number;
  close(): Promise<void>;
}

const BLACK_HOLE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const flag = new Int32Array(workerData.flag);
const server = net.createServer((s) => s.destroy());
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  // This thread's event loop is blocked from here on: the listener never accepts, its accept
  // queue fills, and the kernel drops every further SYN.
  Atomics.wait(flag, 0, 0, workerData.maxMs);
  server.close();
  process.exit(0);
});
`;

/**
 * A port on 127.0.0.1 where connect() hangs: a listener (backlog 1) in a worker thread whose
 * event loop is blocked, its accept queue filled by two connections first. Verified: a probe
 * connect must still be pending after 300 ms. close() wakes the worker, which exits.
 */
export async function startBlackHole(maxMs = 120_000): Promise<BlackHole> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(BLACK_HOLE_WORKER, { eval: true, workerData: { flag, maxMs } });
  worker.on('error', () => {});
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (p: number) => resolve(p));
    worker.once('error', reject);
  });
  const fillers: net.Socket[] = [];
  // The queue holds backlog + 1 completed connections; a few more fill it for sure (they hang).
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    fillers.push(s);
  }
  await delay(50);
  const probe = net.connect({ port, host: '127.0.0.1' });
  probe.on('error', () => {});
  let connected = false;
  probe.once('connect', () => (connected = true));
  await delay(300);
  probe.destroy();
  const stop = async (): Promise<void> => {
    for (const s of fillers) s.destroy();
    const i = new Int32Array(flag);
    Atomics.store(i, 0, 1);
    Atomics.notify(i, 0);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 2000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  };
  if (connected) {
    await stop();
    throw new Error('black hole: a connect completed; the accept queue was not full');
  }
  return { port, close: stop };
}

// ---------------------------------------------------------------------------------------
// The client probe

export interface ProbeOptions {
  /**
   * Default false: like an ordinary client, a FIN from the proxy is answered with this side's
   * FIN. True keeps this side open (a client that half-closes, or ignores the proxy's FIN).
   */
  allowHalfOpen?: boolean;
  timeoutMs?: number;
}

/**
 * A raw TCP client that records what happens to it: every byte (with the arrival time of the
 * first and of the status line), FIN, RST and close, each in ms since `t0` (reset by `mark()`).
 */
export class Probe {
  data: Buffer = Buffer.alloc(0);
  /** performance.now() when connected; `mark()` moves it. */
  t0: number;
  readonly connectedAt: number;
  /** performance.now() just before connect() was called (the earliest an accept-time deadline can start). */
  readonly startedAt: number;
  firstByteAt: number | undefined;
  statusAt: number | undefined;
  finAt: number | undefined;
  closeAt: number | undefined;
  errorCode: string | undefined;
  private waiters = new Set<() => void>();

  private constructor(
    readonly socket: net.Socket,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
    this.connectedAt = performance.now();
    this.t0 = this.connectedAt;
    socket.on('data', (d: Buffer) => {
      const now = performance.now();
      this.firstByteAt ??= now;
      this.data = this.data.length === 0 ? d : Buffer.concat([this.data, d]);
      if (this.statusAt === undefined && this.data.includes('\r\n')) this.statusAt = now;
      this.kick();
    });
    socket.once('end', () => {
      this.finAt = performance.now();
      this.kick();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.errorCode ??= e.code ?? e.message;
    });
    socket.once('close', () => {
      this.closeAt = performance.now();
      this.kick();
    });
  }

  static connect(port: number, opts: ProbeOptions = {}): Promise<Probe> {
    const startedAt = performance.now();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
    socket.on('error', () => {});
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`probe: connect to :${port} not done within ${opts.timeoutMs ?? 3000} ms`));
      }, opts.timeoutMs ?? 3000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new Probe(socket, startedAt));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Restarts the clock: later times are measured from now. */
  mark(): this {
    this.t0 = performance.now();
    return this;
  }

  /** Writes and marks (the deadline under test usually starts with this write). */
  send(data: string | Buffer, mark = true): this {
    this.socket.write(data);
    if (mark) this.mark();
    return this;
  }

  text(): string {
    return this.data.toString('latin1');
  }

  /** The status code of the first response line, if one arrived. */
  get status(): number | undefined {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(this.text());
    return m ? Number(m[1]) : undefined;
  }

  /** Status codes of every response head received, in order. */
  statuses(): number[] {
    return [...this.text().matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  }

  get closed(): boolean {
    return this.closeAt !== undefined;
  }

  /** True when the connection ended (FIN or close). */
  get ended(): boolean {
    return this.finAt !== undefined || this.closeAt !== undefined;
  }

  /** ms from t0 to the end of the connection (FIN or close, whichever came first). */
  get endMs(): number | undefined {
    const at = this.finAt !== undefined && (this.closeAt === undefined || this.finAt < this.closeAt) ? this.finAt : this.closeAt;
    return at === undefined ? undefined : at - this.t0;
  }

  get statusMs(): number | undefined {
    return this.statusAt === undefined ? undefined : this.statusAt - this.t0;
  }

  /** Resolves true once the connection ended (FIN or close), false after `timeoutMs`. */
  waitEnded(timeoutMs: number): Promise<boolean> {
    return this.waitCond(() => this.ended, timeoutMs);
  }

  /** Resolves true once the socket is closed, false after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<boolean> {
    return this.waitCond(() => this.closed, timeoutMs);
  }

  /** Resolves true once `pred(text)` holds, false after `timeoutMs` or on close without it. */
  waitText(pred: (text: string) => boolean, timeoutMs: number): Promise<boolean> {
    return this.waitCond(() => pred(this.text()), timeoutMs, true);
  }

  /** Resolves true once a complete response head has arrived. */
  waitHead(timeoutMs: number): Promise<boolean> {
    return this.waitText((s) => s.includes('\r\n\r\n'), timeoutMs);
  }

  private waitCond(pred: () => boolean, timeoutMs: number, failOnClose = false): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (pred()) finish(true);
        else if (failOnClose && this.closed) finish(false);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (v: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
      check();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Like BackendConn.peerGone: bytes written; true when the proxy answers with RST (its socket is closed). */
  async peerGone(timeoutMs = 500): Promise<boolean> {
    return probePeerGone(this.socket, () => this.closed, timeoutMs);
  }

  private kick(): void {
    for (const w of [...this.waiters]) w();
  }

  /** A one-line account for assertion messages. */
  describe(): string {
    const f = (v: number | undefined): string => (v === undefined ? '-' : `${Math.round(v - this.t0)}ms`);
    return `status=${this.status ?? '-'} statusAt=${f(this.statusAt)} fin=${f(this.finAt)} close=${f(this.closeAt)} err=${this.errorCode ?? '-'} bytes=${this.data.length} head=${JSON.stringify(this.text().slice(0, 120))}`;
  }
}

/** A GET request head (keep-alive by default in HTTP/1.1). */
export function get(host: string, path = '/', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
}

/**
 * The answer of a fault test, in one assertion-ready record: the status, how long it took
 * from t0, whether (and when) the connection ended after it.
 */
export interface Answer {
  status: number | undefined;
  statusMs: number | undefined;
  endMs: number | undefined;
  text: string;
  describe: string;
}

/** Waits up to `timeoutMs` for the connection to end, then describes what the client saw. */
export async function answerOf(p: Probe, timeoutMs: number): Promise<Answer> {
  await p.waitEnded(timeoutMs);
  return { status: p.status, statusMs: p.statusMs, endMs: p.endMs, text: p.text(), describe: p.describe() };
}

// ---------------------------------------------------------------------------------------
// Sockets seen by the kernel

export interface SsSocket {
  state: string;
  local: string;
  peer: string;
}

/** `ss -tan` rows whose local or peer port is `port` (on 127.0.0.1). */
export function ssSockets(port: number): SsSocket[] {
  // Filtered by ss itself: the machine may hold many other sockets.
  const r = spawnSync('ss', ['-tanH', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8', timeout: 5000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr || r.error?.message}`);
  const out: SsSocket[] = [];
  for (const line of r.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const [state, , , local, peer] = cols as [string, string, string, string, string];
    if (local.endsWith(`:${port}`) || peer.endsWith(`:${port}`)) out.push({ state, local, peer });
  }
  return out;
}

/** Sockets of this host connected *to* `port` (the proxy's upstream side), by state. */
export function upstreamSocketStates(port: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of ssSockets(port)) {
    if (!s.peer.endsWith(`:${port}`)) continue;
    out[s.state] = (out[s.state] ?? 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// TLS

const helloCache = new Map<string, Buffer>();

/**
 * The first TLS record a Node client sends for `servername` (a complete ClientHello),
 * captured from a local listener; memoised.
 */
export async function captureClientHello(servername: string): Promise<Buffer> {
  const cached = helloCache.get(servername);
  if (cached) return cached;
  let grab!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => (grab = r));
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
        grab(buf.subarray(0, 5 + buf.readUInt16BE(3)));
        s.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername, rejectUnauthorized: false });
  client.on('error', () => {});
  try {
    const hello = await withTimeout(got, 5000, 'ClientHello capture');
    helloCache.set(servername, hello);
    return hello;
  } finally {
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

// ---------------------------------------------------------------------------------------
// Numbers

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Can a TCP connection to 127.0.0.1:port be made right now? (false on refusal; bounded) */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (v: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
  });
}
