/**
 * Shared pieces of the compat run test: a capturing logger, starting a table (loopback, no
 * grace), loopback clients that can pick their source address (127.0.0.x), small backends that
 * can also bind 127.0.0.2, free port ranges, JWT signing. Every await is bounded.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';
import type { ILogger, ISmartProxyOptions } from '../../ts/types.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';
import type { TestContextLike } from '../integration/harness.js';

// ---------------------------------------------------------------- logger

export interface LogRecord {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  text: string;
}

export interface CapturingLogger extends ILogger {
  readonly records: LogRecord[];
  warnings(): string[];
}

/** A pino-shaped logger that keeps every record (children share the list). */
export function capturingLogger(): CapturingLogger {
  const records: LogRecord[] = [];
  const make = (bindings: Record<string, unknown>): ILogger => {
    const rec =
      (level: LogRecord['level']) =>
      (obj: object | string, msg?: string): void => {
        let text: string;
        try {
          text = typeof obj === 'string' ? obj : JSON.stringify({ ...bindings, ...obj }, (_k, v: unknown) => (v instanceof Error ? v.message : v));
        } catch {
          text = String(obj);
        }
        records.push({ level, text: msg === undefined ? text : `${text} ${msg}` });
      };
    return {
      trace: rec('trace'),
      debug: rec('debug'),
      info: rec('info'),
      warn: rec('warn'),
      error: rec('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  const root = make({});
  return Object.assign(root, {
    records,
    warnings: () => records.filter((r) => r.level === 'warn').map((r) => r.text),
  });
}

/** Warnings that name `field` as a whole name (not as the tail of a dotted path, not inside a longer word). */
export function warningsNaming(logger: CapturingLogger, field: string): string[] {
  const esc = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = field.includes('.') || field.includes('[') ? new RegExp(esc) : new RegExp(`(^|[^.\\w])${esc}(?![\\w])`);
  return logger.warnings().filter((w) => re.test(w));
}

// ---------------------------------------------------------------- bounded waits

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function eventually(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000, stepMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

// ---------------------------------------------------------------- proxy

export interface StartedTable {
  proxy: SmartProxy;
  logger: CapturingLogger;
}

/**
 * The table's options with the test transform applied (loopback listeners, no shutdown grace, a
 * capturing logger, plus `extra`), constructed and started; stopped after the test.
 */
export async function startTable(t: TestContextLike, options: ISmartProxyOptions, extra: Partial<ISmartProxyOptions> = {}): Promise<StartedTable> {
  const { SmartProxy } = await import('../../ts/index.js');
  const logger = capturingLogger();
  const proxy = new SmartProxy({ ...options, listenAddress: '127.0.0.1', gracefulShutdownTimeout: 0, logger, ...extra });
  t.after(() => withTimeout(proxy.stop(), 10_000, 'proxy.stop()').catch(() => undefined));
  await withTimeout(proxy.start(), 10_000, 'proxy.start()');
  return { proxy, logger };
}

// ---------------------------------------------------------------- clients

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  port: number;
  /** Host header (sent verbatim). */
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** Source address (127.0.0.x). */
  localAddress?: string;
  timeoutMs?: number;
}

/** One HTTP/1.1 request on a fresh connection to 127.0.0.1. */
export function httpGet(o: RequestOptions): Promise<Reply> {
  return exchange(http.request, { ...o }, {});
}

export interface TlsRequestOptions extends RequestOptions {
  servername: string;
  ca?: string[];
  rejectUnauthorized?: boolean;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
}

/** One HTTPS request (SNI `servername`) on a fresh connection to 127.0.0.1. */
export function httpsGet(o: TlsRequestOptions): Promise<Reply & { peerSubject?: string; peerSerial?: string }> {
  const extra: https.RequestOptions = { servername: o.servername, rejectUnauthorized: o.rejectUnauthorized ?? true };
  if (o.ca) extra.ca = o.ca;
  if (o.minVersion) extra.minVersion = o.minVersion;
  if (o.maxVersion) extra.maxVersion = o.maxVersion;
  return exchange(https.request, o, extra);
}

function exchange(
  request: (opts: https.RequestOptions) => http.ClientRequest,
  o: RequestOptions,
  extra: https.RequestOptions,
): Promise<Reply & { peerSubject?: string; peerSerial?: string }> {
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.host !== undefined) headers.host = o.host;
    const opts: https.RequestOptions = {
      host: '127.0.0.1',
      port: o.port,
      path: o.path ?? '/',
      method: o.method ?? 'GET',
      headers,
      agent: false,
      setHost: o.host === undefined,
      ...extra,
    };
    if (o.localAddress) opts.localAddress = o.localAddress;
    const req = request(opts);
    const timer = setTimeout(() => req.destroy(new Error(`request :${o.port}${o.path ?? '/'} timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const sock = res.socket as tls.TLSSocket;
      let peerSubject: string | undefined;
      let peerSerial: string | undefined;
      if (typeof sock.getPeerCertificate === 'function') {
        const c = sock.getPeerCertificate();
        peerSubject = c?.subject?.CN as string | undefined;
        peerSerial = c?.serialNumber;
      }
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', () => {});
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), peerSubject, peerSerial });
      });
    });
    req.end();
  });
}

export interface RawResult {
  data: string;
  /** 'end' | 'close': how it finished; 'open' when we stopped reading on `until`. */
  how: 'end' | 'close' | 'open';
}

/**
 * Connects to 127.0.0.1:port (from `localAddress`), writes `send` (if any), reads until `until`
 * holds, or the peer ends/closes; bounded by `timeoutMs` (then rejects).
 */
export function rawExchange(
  port: number,
  send: string | Buffer | undefined,
  o: { localAddress?: string; until?: (s: string) => boolean; timeoutMs?: number; halfClose?: boolean } = {},
): Promise<RawResult> {
  const timeoutMs = o.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const opts: net.NetConnectOpts = { host: '127.0.0.1', port, allowHalfOpen: true };
    if (o.localAddress) opts.localAddress = o.localAddress;
    const socket = net.connect(opts);
    socket.on('error', () => {});
    let data = '';
    let done = false;
    const finish = (how: RawResult['how']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, how });
    };
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      socket.destroy();
      reject(new Error(`raw :${port}: timed out after ${timeoutMs} ms with ${JSON.stringify(data)}`));
    }, timeoutMs);
    socket.on('connect', () => {
      if (send !== undefined) {
        if (o.halfClose) socket.end(send);
        else socket.write(send);
      }
    });
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (o.until?.(data)) finish('open');
    });
    socket.on('end', () => finish('end'));
    socket.on('close', () => finish('close'));
  });
}

/** An open TCP connection from `localAddress` that has seen one echo round trip (or null: refused). */
export async function heldEcho(port: number, localAddress = '127.0.0.1', timeoutMs = 3000): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => {});
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, timeoutMs);
    const fail = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    };
    socket.once('connect', () => socket.write('ping'));
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('ping')) {
        clearTimeout(timer);
        socket.off('close', fail);
        socket.off('end', fail);
        resolve(socket);
      }
    });
    socket.once('end', fail);
    socket.once('close', fail);
  });
}

/** Resolves true when `socket` is closed (by the peer) within `ms`, false if still open then. */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('close', onClose);
      resolve(false);
    }, ms);
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', onClose);
    socket.resume();
  });
}

// ---------------------------------------------------------------- backends

export interface Closeable {
  close(): Promise<void>;
}

function trackSockets(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    s.on('error', () => {});
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
}

export function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', () => {});
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** A TCP server on host:port that writes `<host>:<port>\n` and closes. */
export async function whoamiServer(t: TestContextLike, host: string, port = 0): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    const a = s.address() as net.AddressInfo;
    s.end(`${host}:${a.port}\n`);
  });
  const close = trackSockets(server);
  const bound = await listen(server, host, port);
  t.after(close);
  return bound;
}

/** A TCP echo server on host (:0). */
export async function echoServer(t: TestContextLike, host = '127.0.0.1'): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  const close = trackSockets(server);
  const port = await listen(server, host, 0);
  t.after(close);
  return port;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface HttpBackend {
  port: number;
  name: string;
  seen: SeenRequest[];
  /** Status for GET /health (default 200). */
  healthStatus: number;
}

/** An HTTP server answering JSON `{ name, method, url, headers }` (and /health with `healthStatus`). */
export async function jsonBackend(t: TestContextLike, name: string, host = '127.0.0.1', port = 0): Promise<HttpBackend> {
  const state: HttpBackend = { port: 0, name, seen: [], healthStatus: 200 };
  const server = http.createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    state.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (state.seen.length > 500) state.seen.shift();
    req.resume();
    req.on('end', () => {
      const status = req.url === '/health' ? state.healthStatus : 200;
      const text = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers });
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-backend': name });
      res.end(text);
    });
  });
  server.keepAliveTimeout = 5000;
  const close = trackSockets(server);
  state.port = await listen(server, host, port);
  t.after(close);
  return state;
}

/** A port free on every one of `hosts` (bound on the first host at :0, then checked on the rest). */
export async function portFreeOn(hosts: string[], attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const probe = net.createServer();
    const port = await listen(probe, hosts[0]!, 0);
    await new Promise<void>((r) => probe.close(() => r()));
    if (await allFree(hosts, [port])) return port;
  }
  throw new Error(`no port free on ${hosts.join(', ')}`);
}

/** `n` consecutive ports free on every one of `hosts`. */
export async function freeRange(n: number, hosts: string[], attempts = 100): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: n }, (_, k) => base + k);
    if (await allFree(hosts, ports)) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

async function allFree(hosts: string[], ports: number[]): Promise<boolean> {
  const servers: net.Server[] = [];
  try {
    for (const h of hosts) {
      for (const p of ports) {
        const s = net.createServer();
        servers.push(s);
        await listen(s, h, p);
      }
    }
    return true;
  } catch {
    return false;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  }
}

// ---------------------------------------------------------------- JWT

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export function jwtHs256(payload: Record<string, unknown>, secret: string, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export function jwtRs256(payload: Record<string, unknown>, privateKeyPem: string): string {
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  const sig = createSign('RSA-SHA256').update(input).sign(privateKeyPem);
  return `${input}.${b64url(sig)}`;
}

export function rsaKeyPair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}
