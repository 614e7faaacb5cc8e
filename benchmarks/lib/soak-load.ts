/**
 * The soak's traffic, driven from the benchmark process against the proxy on 127.0.0.1:
 * each kind of operation is launched at a fixed rate (ops/s) with a cap on how many may be in
 * flight, so the load is the same in the first minute as in the last (a closed loop would
 * slow down with the proxy and hide a slowdown). Every operation has a 10 s time limit.
 * Operations that abort on purpose (destroy or reset mid-request, mid-response, mid-handshake)
 * count as done when the abort was carried out. Counts are kept per second (of
 * completion) and kind; failures also by reason.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { APP_HOST, FLAKY_HOST, PASS_HOST, type ISoakProxyPorts } from './soak-protocol.js';

export type LoadGroup = 'http' | 'https' | 'ws' | 'tls-pass' | 'tcp' | 'flaky' | 'abort';
export const LOAD_GROUPS: readonly LoadGroup[] = ['http', 'https', 'ws', 'tls-pass', 'tcp', 'flaky', 'abort'];

const OP_TIMEOUT_MS = 10_000;
const TICK_MS = 20;

interface IKind {
  kind: string;
  group: LoadGroup;
  /** Launches per second at SOAK_RATE 1. */
  rate: number;
  maxInFlight: number;
  /** Resolves 'skip' when there was nothing to do (no idle held connection). */
  op: () => Promise<void | 'skip'>;
  describe: string;
}

export interface IKindTotals {
  kind: string;
  group: LoadGroup;
  describe: string;
  rate: number;
  ok: number;
  err: number;
  /** Launches dropped because maxInFlight operations were still running. */
  dropped: number;
  reasons: Map<string, number>;
}

/** Counts for one second of the run, by kind: [ok, err]. */
export type SecondCounts = Map<string, [number, number]>;

function reasonOf(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code ? `${code}${e.message && !e.message.includes(code) ? ` (${e.message})` : ''}` : e.message;
  }
  return String(e);
}

/** A promise settled by the executor, rejected after OP_TIMEOUT_MS with `cleanup` run. */
function timed<T>(executor: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup: () => void = () => {};
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      cleanup();
      reject(new Error('timeout'));
    }, OP_TIMEOUT_MS);
    cleanup = executor(
      (v) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        cleanup();
        reject(e);
      },
    );
  });
}

export interface ILoadOptions {
  ports: ISoakProxyPorts;
  ca: string;
  /** Multiplies every rate. */
  rateScale: number;
  t0: number;
  /** Only these kinds or groups (empty: all); held connections only with their message kind. */
  only?: readonly string[];
}

export class SoakLoad {
  private readonly o: ILoadOptions;
  private readonly kinds: IKind[];
  private readonly totals = new Map<string, IKindTotals>();
  readonly perSecond = new Map<number, SecondCounts>();
  private readonly inFlight = new Map<string, number>();
  private readonly credit = new Map<string, number>();
  private tickTimer: NodeJS.Timeout | undefined;
  private maintainTimer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private stopped = false;

  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly flakyAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent: https.Agent;
  private readonly heldWs: Array<{ ws: WebSocket | undefined; busy: boolean; until: number; connecting: boolean }> = [];
  private readonly heldTcp: Array<{ s: net.Socket | undefined; busy: boolean; connecting: boolean }> = [];

  constructor(o: ILoadOptions) {
    this.o = o;
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: o.ca, servername: APP_HOST });
    for (let i = 0; i < 8; i++) this.heldWs.push({ ws: undefined, busy: false, until: 0, connecting: false });
    for (let i = 0; i < 20; i++) this.heldTcp.push({ s: undefined, busy: false, connecting: false });
    const only = o.only ?? [];
    this.kinds = this.defineKinds().filter((k) => only.length === 0 || only.includes(k.kind) || only.includes(k.group));
    if (!this.kinds.some((k) => k.kind === 'ws-msg')) this.heldWs.length = 0;
    if (!this.kinds.some((k) => k.kind === 'tcp-held-msg')) this.heldTcp.length = 0;
    for (const k of this.kinds) {
      this.totals.set(k.kind, { kind: k.kind, group: k.group, describe: k.describe, rate: k.rate * o.rateScale, ok: 0, err: 0, dropped: 0, reasons: new Map() });
      this.inFlight.set(k.kind, 0);
      this.credit.set(k.kind, 0);
    }
    // Opening held connections is counted as a kind of its own.
    for (const [kind, group, describe, n] of [
      ['ws-held-open', 'ws', 'open one of 8 held WebSocket connections (each reopened after 10-30 s)', this.heldWs.length],
      ['tcp-held-open', 'tcp', 'open one of 20 held TCP connections (kept for the whole run)', this.heldTcp.length],
    ] as const) {
      if (n === 0) continue;
      this.totals.set(kind, { kind, group, describe, rate: 0, ok: 0, err: 0, dropped: 0, reasons: new Map() });
    }
  }

  /** Kinds in the order they are reported. */
  kindsTotals(): IKindTotals[] {
    return [...this.totals.values()];
  }

  groupOf(kind: string): LoadGroup {
    return this.totals.get(kind)?.group ?? 'http';
  }

  start(): void {
    this.lastTick = performance.now();
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.maintainTimer = setInterval(() => this.maintainHeld(), 250);
    this.maintainHeld();
  }

  /** Stops launching, closes held connections, waits for operations in flight, closes idle keep-alive sockets. */
  async stop(): Promise<{ leftInFlight: number }> {
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearInterval(this.maintainTimer);
    for (const h of this.heldWs) h.ws?.close(1000, 'soak over');
    for (const h of this.heldTcp) h.s?.end();
    const deadline = Date.now() + OP_TIMEOUT_MS + 5000;
    while (this.totalInFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const leftInFlight = this.totalInFlight();
    // Held connections that did not close cleanly within the wait are destroyed.
    for (const h of this.heldWs) h.ws?.terminate();
    for (const h of this.heldTcp) h.s?.destroy();
    this.httpAgent.destroy();
    this.flakyAgent.destroy();
    this.httpsAgent.destroy();
    await new Promise((r) => setTimeout(r, 200));
    return { leftInFlight };
  }

  private totalInFlight(): number {
    let n = 0;
    for (const v of this.inFlight.values()) n += v;
    for (const h of this.heldWs) if (h.connecting) n++;
    for (const h of this.heldTcp) if (h.connecting) n++;
    return n;
  }

  private count(kind: string, ok: boolean, reason?: string): void {
    const sec = Math.floor((Date.now() - this.o.t0) / 1000);
    let m = this.perSecond.get(sec);
    if (!m) this.perSecond.set(sec, (m = new Map()));
    const c = m.get(kind) ?? [0, 0];
    c[ok ? 0 : 1]++;
    m.set(kind, c);
    const t = this.totals.get(kind)!;
    if (ok) t.ok++;
    else {
      t.err++;
      const r = reason ?? 'unknown';
      t.reasons.set(r, (t.reasons.get(r) ?? 0) + 1);
    }
  }

  private tick(): void {
    const now = performance.now();
    const dt = (now - this.lastTick) / 1000;
    this.lastTick = now;
    for (const k of this.kinds) {
      let credit = (this.credit.get(k.kind) ?? 0) + k.rate * this.o.rateScale * dt;
      while (credit >= 1) {
        if ((this.inFlight.get(k.kind) ?? 0) >= k.maxInFlight) {
          const whole = Math.floor(credit);
          this.totals.get(k.kind)!.dropped += whole;
          credit -= whole;
          break;
        }
        credit -= 1;
        this.launch(k);
      }
      this.credit.set(k.kind, credit);
    }
  }

  private launch(k: IKind): void {
    this.inFlight.set(k.kind, (this.inFlight.get(k.kind) ?? 0) + 1);
    let p: Promise<void | 'skip'>;
    try {
      p = k.op();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (r) => {
        if (r !== 'skip') this.count(k.kind, true);
      },
      (e: unknown) => this.count(k.kind, false, reasonOf(e)),
    ).finally(() => this.inFlight.set(k.kind, (this.inFlight.get(k.kind) ?? 1) - 1));
  }

  // ------------------------------------------------------------------ operations

  private defineKinds(): IKind[] {
    const { ports } = this.o;
    const POST_BODY = randomBytes(16 * 1024);
    const k = (kind: string, group: LoadGroup, rate: number, maxInFlight: number, describe: string, op: IKind['op']): IKind => ({ kind, group, rate, maxInFlight, describe, op });
    let n = 0;
    return [
      k('http-ka', 'http', 400, 64, 'HTTP keep-alive (16 sockets): 85% GET 3 B, 8% GET 64 KiB, 7% POST 16 KiB', () => {
        const r = n++ % 100;
        if (r < 85) return this.http({ port: ports.http, host: APP_HOST, path: '/small', agent: this.httpAgent });
        if (r < 93) return this.http({ port: ports.http, host: APP_HOST, path: '/large', agent: this.httpAgent });
        return this.http({ port: ports.http, host: APP_HOST, path: '/echo-len', method: 'POST', body: POST_BODY, agent: this.httpAgent });
      }),
      k('http-close', 'http', 40, 32, 'HTTP with Connection: close (a new connection each)', () =>
        this.http({ port: ports.http, host: APP_HOST, path: '/small', agent: false, close: true }),
      ),
      k('https-ka', 'https', 150, 32, 'HTTPS terminated at the proxy, keep-alive (8 sockets): 90% GET 3 B, 10% GET 64 KiB', () =>
        this.http({ tls: true, port: ports.tls, host: APP_HOST, path: n++ % 10 === 0 ? '/large' : '/small', agent: this.httpsAgent }),
      ),
      k('https-new', 'https', 10, 16, 'HTTPS, a new TLS handshake each (Connection: close)', () =>
        this.http({ tls: true, port: ports.tls, host: APP_HOST, path: '/small', agent: false, close: true }),
      ),
      k('ws-msg', 'ws', 120, 8, 'message echoed over one of 8 held WebSocket connections (64-512 B)', () => this.wsHeldMessage()),
      k('ws-session', 'ws', 5, 16, 'WebSocket session: connect, 3 echoed messages, close', () => this.wsSession(false)),
      k('wss-session', 'ws', 2, 8, 'WebSocket over TLS terminated at the proxy: connect, 3 messages, close', () => this.wsSession(true)),
      k('tls-pass', 'tls-pass', 20, 32, 'TLS passthrough by SNI: handshake with the backend, 1 KiB echoed, close', () => this.passthrough()),
      k('tcp', 'tcp', 50, 32, 'L4 TCP: connect, 4 KiB echoed, close', () => this.tcpEcho(ports.tcp, 4096)),
      k('tcp-held-msg', 'tcp', 20, 20, '100 B echoed over one of 20 held TCP connections', () => this.tcpHeldMessage()),
      k('flaky-http', 'flaky', 40, 32, 'HTTP keep-alive (4 sockets) to the backend that is killed and restarted', () =>
        this.http({ port: ports.http, host: FLAKY_HOST, path: '/small', agent: this.flakyAgent }),
      ),
      k('flaky-tcp', 'flaky', 10, 16, 'L4 TCP to the flaky backend: connect, 100 B echoed, close', () => this.tcpEcho(ports.tcpFlaky, 100)),
      k('abort-req-body', 'abort', 2, 8, 'HTTP POST: head + 1 KiB of a 100 KB body, then destroy', () =>
        this.rawAbort(ports.http, `POST /echo-len HTTP/1.1\r\nHost: ${APP_HOST}\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(1024)}`, 'after-write', 'destroy'),
      ),
      k('abort-head', 'abort', 2, 8, 'HTTP: half a request head, then destroy', () => this.rawAbort(ports.http, `GET /small HTTP/1.1\r\nHost: ${APP_HOST}\r\nX-Pad: `, 'after-write', 'destroy')),
      k('abort-resp', 'abort', 2, 8, 'HTTP GET /slow (256 KiB over 0.4 s): destroy at the first response bytes', () =>
        this.rawAbort(ports.http, `GET /slow HTTP/1.1\r\nHost: ${APP_HOST}\r\n\r\n`, 'first-data', 'destroy'),
      ),
      k('reset-resp', 'abort', 2, 8, 'HTTP GET /slow: TCP RST at the first response bytes', () =>
        this.rawAbort(ports.http, `GET /slow HTTP/1.1\r\nHost: ${APP_HOST}\r\n\r\n`, 'first-data', 'reset'),
      ),
      k('abort-https-resp', 'abort', 2, 8, 'HTTPS GET /slow: destroy at the first response bytes', () => this.tlsAbort(APP_HOST, 'first-data')),
      k('abort-tls-hs', 'abort', 2, 8, 'TLS to the terminating route: destroy mid-handshake', () => this.tlsAbort(APP_HOST, 'handshake')),
      k('abort-pass-hs', 'abort', 2, 8, 'TLS to the passthrough route: destroy mid-handshake', () => this.tlsAbort(PASS_HOST, 'handshake')),
      k('abort-ws', 'abort', 2, 8, 'WebSocket: open, send, terminate (socket destroyed)', () => this.wsAbort()),
      k('reset-tcp', 'abort', 2, 8, 'L4 TCP: connect, 1 KiB, TCP RST', () => this.rawAbort(ports.tcp, 'r'.repeat(1024), 'after-write', 'reset')),
      k('silent', 'abort', 1, 4, 'TLS port: connect, send nothing, close after 1 s', () => this.rawAbort(ports.tls, '', 'after-1s', 'destroy')),
    ];
  }

  private http(o: { tls?: boolean; port: number; host: string; path: string; method?: string; body?: Buffer; agent: http.Agent | false; close?: boolean }): Promise<void> {
    return timed<void>((resolve, reject) => {
      const headers: Record<string, string> = { host: o.host };
      if (o.close) headers.connection = 'close';
      if (o.body) headers['content-length'] = String(o.body.length);
      const opts: https.RequestOptions = { host: '127.0.0.1', port: o.port, path: o.path, method: o.method ?? 'GET', headers, agent: o.agent };
      if (o.tls) {
        opts.servername = o.host;
        opts.ca = this.o.ca;
      }
      const req = (o.tls ? https : http).request(opts);
      req.on('response', (res) => {
        let ended = false;
        res.on('data', () => {});
        res.on('end', () => {
          ended = true;
          if (res.statusCode === 200) resolve();
          else reject(new Error(`status ${res.statusCode}`));
        });
        res.on('error', (e) => reject(e));
        res.on('close', () => {
          if (!ended) reject(new Error(res.statusCode === 200 ? 'response cut short' : `status ${res.statusCode}, response cut short`));
        });
      });
      req.on('error', (e) => reject(e));
      req.end(o.body);
      return () => req.destroy();
    });
  }

  /** Connect, write, then destroy or reset the socket at the chosen moment. */
  private rawAbort(port: number, payload: string, when: 'after-write' | 'first-data' | 'after-1s', how: 'destroy' | 'reset'): Promise<void> {
    return timed<void>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        if (how === 'reset') s.resetAndDestroy();
        else s.destroy();
        resolve();
      };
      s.on('error', (e) => reject(e));
      s.once('connect', () => {
        if (payload) s.write(payload);
        if (when === 'after-write') timer = setTimeout(finish, 20);
        else if (when === 'after-1s') timer = setTimeout(finish, 1000);
      });
      if (when === 'first-data') {
        s.once('data', finish);
        s.once('close', () => reject(new Error('closed before any response byte')));
      }
      return () => {
        clearTimeout(timer);
        s.destroy();
      };
    });
  }

  /** TLS to the proxy's TLS port: destroy mid-handshake, or GET /slow and destroy at the first bytes. */
  private tlsAbort(servername: string, when: 'handshake' | 'first-data'): Promise<void> {
    return timed<void>((resolve, reject) => {
      const s = tls.connect({ port: this.o.ports.tls, host: '127.0.0.1', servername, ca: this.o.ca });
      s.on('error', (e) => reject(e));
      if (when === 'handshake') {
        // 'connect' is the TCP connect: the ClientHello is on its way, the handshake not done.
        s.once('connect', () =>
          setImmediate(() => {
            s.destroy();
            resolve();
          }),
        );
      } else {
        s.once('secureConnect', () => s.write(`GET /slow HTTP/1.1\r\nHost: ${APP_HOST}\r\n\r\n`));
        s.once('data', () => {
          s.destroy();
          resolve();
        });
        s.once('close', () => reject(new Error('closed before any response byte')));
      }
      return () => s.destroy();
    });
  }

  private tcpEcho(port: number, bytes: number): Promise<void> {
    return timed<void>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      let got = 0;
      s.on('error', (e) => reject(e));
      s.once('connect', () => s.write(Buffer.alloc(bytes, 0x74)));
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= bytes) s.end();
      });
      s.once('close', () => (got >= bytes ? resolve() : reject(new Error(`closed after ${got} of ${bytes} echoed bytes`))));
      return () => s.destroy();
    });
  }

  private passthrough(): Promise<void> {
    return timed<void>((resolve, reject) => {
      const s = tls.connect({ port: this.o.ports.tls, host: '127.0.0.1', servername: PASS_HOST, ca: this.o.ca });
      let got = 0;
      s.on('error', (e) => reject(e));
      s.once('secureConnect', () => s.write(Buffer.alloc(1024, 0x70)));
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 1024) s.end();
      });
      s.once('close', () => (got >= 1024 ? resolve() : reject(new Error(`closed after ${got} of 1024 echoed bytes`))));
      return () => s.destroy();
    });
  }

  private wsUrl(secure: boolean): string {
    return secure ? `wss://127.0.0.1:${this.o.ports.tls}/ws` : `ws://127.0.0.1:${this.o.ports.http}/ws`;
  }

  private openWs(secure: boolean): WebSocket {
    return new WebSocket(this.wsUrl(secure), {
      headers: { host: APP_HOST },
      handshakeTimeout: OP_TIMEOUT_MS,
      ...(secure ? { servername: APP_HOST, ca: this.o.ca } : {}),
    });
  }

  private wsSession(secure: boolean): Promise<void> {
    return timed<void>((resolve, reject) => {
      const ws = this.openWs(secure);
      let left = 3;
      let closing = false;
      const next = (): void => ws.send(randomBytes(64 + Math.floor(Math.random() * 448)));
      ws.on('error', (e) => reject(e));
      ws.on('open', next);
      ws.on('message', () => {
        if (--left > 0) next();
        else {
          closing = true;
          ws.close(1000);
        }
      });
      ws.on('close', () => (closing ? resolve() : reject(new Error('websocket closed early'))));
      return () => ws.terminate();
    });
  }

  private wsAbort(): Promise<void> {
    return timed<void>((resolve, reject) => {
      const ws = this.openWs(false);
      ws.on('error', (e) => reject(e));
      ws.on('open', () => {
        ws.send(randomBytes(256));
        ws.terminate();
        resolve();
      });
      return () => ws.terminate();
    });
  }

  /** Keeps the held WebSocket and TCP connections open (reopens what closed or reached its lifetime). */
  private maintainHeld(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const h of this.heldWs) {
      if (h.connecting || h.busy) continue;
      if (h.ws && h.ws.readyState === WebSocket.OPEN && now < h.until) continue;
      if (h.ws && h.ws.readyState === WebSocket.OPEN) h.ws.close(1000, 'lifetime');
      h.ws = undefined;
      h.connecting = true;
      const ws = this.openWs(false);
      ws.on('error', () => {});
      let opened = false;
      const timer = setTimeout(() => ws.terminate(), OP_TIMEOUT_MS);
      ws.once('open', () => {
        opened = true;
        clearTimeout(timer);
        h.connecting = false;
        h.ws = ws;
        h.until = Date.now() + 10_000 + Math.random() * 20_000;
        this.count('ws-held-open', true);
      });
      ws.once('close', (code) => {
        clearTimeout(timer);
        if (!opened) {
          h.connecting = false;
          this.count('ws-held-open', false, `closed before open (${code})`);
        }
        if (h.ws === ws) h.ws = undefined;
      });
    }
    for (const h of this.heldTcp) {
      if (h.connecting || h.busy || (h.s && !h.s.destroyed)) continue;
      h.connecting = true;
      let opened = false;
      const s = net.connect({ port: this.o.ports.tcp, host: '127.0.0.1' });
      s.on('error', () => {});
      s.once('connect', () => {
        opened = true;
        h.connecting = false;
        h.s = s;
        this.count('tcp-held-open', true);
      });
      s.once('close', () => {
        if (!opened) {
          h.connecting = false;
          this.count('tcp-held-open', false, 'connect failed');
        }
        if (h.s === s) h.s = undefined;
      });
    }
  }

  private wsHeldMessage(): Promise<void | 'skip'> {
    const h = this.heldWs.find((x) => !x.busy && x.ws?.readyState === WebSocket.OPEN && Date.now() < x.until);
    if (!h || !h.ws) return Promise.resolve('skip');
    const ws = h.ws;
    h.busy = true;
    let onMessage = (): void => {};
    let onClose = (): void => {};
    return timed<void>((resolve, reject) => {
      onMessage = () => resolve();
      onClose = () => reject(new Error('held websocket closed while a message was out'));
      ws.once('message', onMessage);
      ws.once('close', onClose);
      ws.send(randomBytes(64 + Math.floor(Math.random() * 448)));
      return () => ws.terminate();
    }).finally(() => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      h.busy = false;
    });
  }

  private tcpHeldMessage(): Promise<void | 'skip'> {
    const h = this.heldTcp.find((x) => !x.busy && x.s && !x.s.destroyed);
    if (!h || !h.s) return Promise.resolve('skip');
    const s = h.s;
    h.busy = true;
    let onData = (_d: Buffer): void => {};
    let onClose = (): void => {};
    return timed<void>((resolve, reject) => {
      let got = 0;
      onData = (d) => {
        got += d.length;
        if (got >= 100) resolve();
      };
      onClose = () => reject(new Error('held TCP connection closed while a message was out'));
      s.on('data', onData);
      s.once('close', onClose);
      s.write(Buffer.alloc(100, 0x68));
      return () => s.destroy();
    }).finally(() => {
      s.off('data', onData);
      s.off('close', onClose);
      h.busy = false;
    });
  }
}
