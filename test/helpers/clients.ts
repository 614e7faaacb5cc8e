/**
 * Clients for integration tests: external tools (curl, openssl) run with a hard
 * timeout, and raw TCP/TLS/HTTP clients with error handlers attached from birth.
 * Everything is bounded in time; nothing targets an address outside 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';

export interface IProcessResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the hard timeout killed the process. */
  timedOut: boolean;
}

export interface IRunOptions {
  /** Hard limit; the process gets SIGKILL after it. Default 10 000 ms. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  input?: string | Buffer;
  /**
   * Hold `input` and keep stdin open until stdout matches this pattern (e.g. a
   * server greeting seen by `openssl s_client`, which exits on stdin EOF).
   */
  stdinUntil?: RegExp;
}

/** Environment without proxy variables, so curl & co. never leave loopback through a proxy. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(https?|all|no|ftp)_proxy$/i.test(k)) env[k] = v;
  }
  return env;
}

/** Runs `cmd args` with a hard timeout and kill; never rejects for a non-zero exit. */
export function runCommand(cmd: string, args: readonly string[], opts: IRunOptions = {}): Promise<IProcessResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    let stdinOpen = true;
    const endStdin = (): void => {
      if (!stdinOpen) return;
      stdinOpen = false;
      child.stdin.end(opts.input ?? '');
    };
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      if (opts.stdinUntil && stdinOpen && opts.stdinUntil.test(Buffer.concat(out).toString('utf8'))) endStdin();
    });
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    if (!opts.stdinUntil) endStdin();
  });
}

/**
 * Runs curl with `-sS --noproxy *` prepended and `--max-time` set just under the
 * hard timeout (so curl reports its own timeout first).
 */
export function runCurl(args: readonly string[], opts: IRunOptions = {}): Promise<IProcessResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxTime = Math.max(1, Math.floor(timeoutMs / 1000) - 1);
  return runCommand('curl', ['-sS', '--noproxy', '*', '--max-time', String(maxTime), ...args], {
    ...opts,
    timeoutMs,
  });
}

/** Runs openssl (e.g. `s_client -connect 127.0.0.1:PORT -servername x`); stdin gets `input` then EOF. */
export function runOpenssl(args: readonly string[], opts: IRunOptions = {}): Promise<IProcessResult> {
  return runCommand('openssl', args, opts);
}

/** Attaches a no-op error handler so an unexpected error never becomes an uncaught exception. */
function guard<T extends net.Socket>(socket: T): T {
  socket.on('error', () => {});
  return socket;
}

export interface IConnectOptions {
  host?: string;
  /** Connect timeout. Default 5000 ms. */
  timeoutMs?: number;
  allowHalfOpen?: boolean;
}

function waitForEvent<T extends net.Socket>(socket: T, event: string, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new Error(`${what}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onOk = (): void => {
      cleanup();
      resolve(socket);
    };
    const onErr = (e: Error): void => {
      cleanup();
      socket.destroy();
      reject(e);
    };
    const onClose = (): void => onErr(new Error(`${what}: closed before ready`));
    function cleanup(): void {
      clearTimeout(timer);
      socket.off(event, onOk);
      socket.off('error', onErr);
      socket.off('close', onClose);
    }
    socket.once(event, onOk);
    socket.once('error', onErr);
    socket.once('close', onClose);
  });
}

/** Opens a TCP connection to 127.0.0.1:port; resolves once connected. The socket never throws on error. */
export function connectTo(port: number, opts: IConnectOptions = {}): Promise<net.Socket> {
  const socket = guard(
    net.connect({ port, host: opts.host ?? '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false }),
  );
  return waitForEvent(socket, 'connect', opts.timeoutMs ?? 5000, `connect :${port}`);
}

export interface ITlsConnectOptions extends IConnectOptions {
  /** SNI; omitted when undefined. */
  servername?: string;
  /** Trust anchors (PEM). */
  ca?: string[];
  /** Default true. Set false to inspect a certificate that does not verify. */
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string[];
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
}

/** Opens a TLS connection; resolves after the handshake (rejects on verification failure). */
export function connectTls(port: number, opts: ITlsConnectOptions = {}): Promise<tls.TLSSocket> {
  const o: tls.ConnectionOptions = {
    port,
    host: opts.host ?? '127.0.0.1',
    rejectUnauthorized: opts.rejectUnauthorized ?? true,
  };
  if (opts.servername !== undefined) o.servername = opts.servername;
  if (opts.ca !== undefined) o.ca = opts.ca;
  if (opts.ALPNProtocols !== undefined) o.ALPNProtocols = opts.ALPNProtocols;
  if (opts.minVersion !== undefined) o.minVersion = opts.minVersion;
  if (opts.maxVersion !== undefined) o.maxVersion = opts.maxVersion;
  // allowHalfOpen is honoured by tls.connect but missing from @types/node's ConnectionOptions.
  Object.assign(o, { allowHalfOpen: opts.allowHalfOpen ?? false });
  const socket = guard(tls.connect(o));
  return waitForEvent(socket, 'secureConnect', opts.timeoutMs ?? 5000, `tls connect :${port}`);
}

export interface IReadOptions {
  /** Default 5000 ms; on timeout the socket is destroyed and the promise rejects. */
  timeoutMs?: number;
  /** Stop (and destroy) once this many bytes arrived. Default unlimited. */
  maxBytes?: number;
}

/** Reads until the peer ends or closes the connection; resolves with all bytes received. */
export function readAll(socket: net.Socket, opts: IReadOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const max = opts.maxBytes ?? Infinity;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      finish();
      socket.destroy();
      reject(new Error(`readAll: timed out after ${timeoutMs} ms with ${size} bytes`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      chunks.push(d);
      size += d.length;
      if (size >= max) {
        finish();
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    };
    const onDone = (): void => {
      finish();
      resolve(Buffer.concat(chunks));
    };
    function finish(): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onDone);
      socket.off('close', onDone);
    }
    socket.on('data', onData);
    socket.once('end', onDone);
    socket.once('close', onDone);
    socket.resume();
  });
}

/** Reads until `predicate(bytesSoFar)` holds (e.g. a full line arrived); the socket stays open. */
export function readUntil(
  socket: net.Socket,
  predicate: (received: Buffer) => boolean,
  timeoutMs = 5000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`readUntil: timed out after ${timeoutMs} ms with ${JSON.stringify(buf.toString())}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (predicate(buf)) {
        finish();
        resolve(buf);
      }
    };
    const onClose = (): void => {
      finish();
      reject(new Error(`readUntil: closed with ${JSON.stringify(buf.toString())}`));
    };
    function finish(): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    }
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Connects, writes `data`, half-closes, and resolves with everything the peer sent back before closing. */
export async function tcpRoundTrip(
  port: number,
  data: string | Buffer,
  opts: IConnectOptions & IReadOptions = {},
): Promise<Buffer> {
  const socket = await connectTo(port, { ...opts, allowHalfOpen: true });
  const reading = readAll(socket, opts);
  socket.end(data);
  try {
    return await reading;
  } finally {
    socket.destroy();
  }
}

/** Writes `n` bytes (0x61-filled) to `socket`, honouring backpressure; stops early if the socket dies. */
export async function sendBytes(socket: net.Socket, n: number, chunkSize = 64 * 1024): Promise<void> {
  const chunk = Buffer.alloc(Math.min(chunkSize, Math.max(n, 1)), 0x61);
  let left = n;
  while (left > 0 && !socket.destroyed) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= piece.length;
    if (!socket.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
}

export interface IHttpRequestOptions {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  host?: string;
  /** Default 5000 ms for the whole exchange. */
  timeoutMs?: number;
}

export interface IHttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request on a fresh connection (no agent pooling); resolves with the full response. */
export function httpRequest(port: number, opts: IHttpRequestOptions = {}): Promise<IHttpResponse> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: opts.host ?? '127.0.0.1',
      port,
      method: opts.method ?? 'GET',
      path: opts.path ?? '/',
      headers: opts.headers,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`http: timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', () => {});
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(opts.body);
  });
}
