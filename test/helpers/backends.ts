/**
 * Backend servers for integration tests, all bound to 127.0.0.1:0. Every socket
 * gets an error handler at birth; `close()` destroys every open socket and
 * resolves once the listener is closed (never hangs on keep-alive clients).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';
import { sendBytes } from './clients.js';

/** What every backend exposes. */
export interface IBackend {
  readonly port: number;
  /** Connections accepted since start (TLS: completed handshakes). */
  readonly connections: number;
  /** Connections currently open. */
  readonly active: number;
  /** Remote ports of accepted connections, in order (to correlate with a proxy). */
  readonly remotePorts: readonly number[];
  close(): Promise<void>;
}

export interface ITlsBackend extends IBackend {
  readonly name: string;
  /** SNI of each accepted connection, in order ('' when the client sent none). */
  readonly servernames: readonly string[];
}

export interface IHttpBackend extends IBackend {
  /** Requests served since start. */
  readonly requests: number;
  /** The last few requests seen (method, url, headers), newest last; bounded to 100. */
  readonly log: ReadonlyArray<IRecordedRequest>;
}

export interface IRecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  remoteAddress: string;
}

/** The JSON body of the default HTTP handler. */
export interface IEchoResponse extends IRecordedRequest {
  name: string;
  body: string;
}

export interface ISinkBackend extends IBackend {
  /** Bytes received over all connections. */
  readonly bytesReceived: number;
  /** Resolves once at least `n` bytes were received in total; rejects after `timeoutMs`. */
  waitForBytes(n: number, timeoutMs?: number): Promise<void>;
}

export interface ISinkOptions {
  /** Bytes each new connection is sent right after accept (backpressure-aware). Default 0. */
  sendOnConnect?: number;
  /** End the connection (FIN) after sending `sendOnConnect` bytes. Default false. */
  endAfterSend?: boolean;
}

/** Tracks sockets of a server so close() can destroy them all. */
class Tracker {
  readonly sockets = new Set<net.Socket>();
  readonly remotePorts: number[] = [];
  connections = 0;

  add(socket: net.Socket): void {
    socket.on('error', () => {});
    this.sockets.add(socket);
    if (this.remotePorts.length < 10_000) this.remotePorts.push(socket.remotePort ?? 0);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async close(server: net.Server): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function baseBackend(port: number, tracker: Tracker, server: net.Server): IBackend {
  return {
    port,
    get connections() {
      return tracker.connections;
    },
    get active() {
      return tracker.sockets.size;
    },
    get remotePorts() {
      return tracker.remotePorts;
    },
    close: () => tracker.close(server),
  };
}

/** A TCP server that echoes every byte back; half-close is honoured (FIN answered after echo). */
export async function startTcpEchoServer(): Promise<IBackend> {
  const tracker = new Tracker();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    tracker.add(socket);
    tracker.connections++;
    socket.pipe(socket);
  });
  const port = await listen(server);
  return baseBackend(port, tracker, server);
}

export interface ITlsBackendOptions {
  cert: string;
  key: string;
  /** Identifies this backend in its greeting line. */
  name: string;
}

/**
 * A TLS server that greets every connection with `<name> sni=<servername>\n`
 * and then echoes whatever it receives.
 */
export async function startTlsServer(opts: ITlsBackendOptions): Promise<ITlsBackend> {
  const tracker = new Tracker();
  const servernames: string[] = [];
  const server = tls.createServer({ cert: opts.cert, key: opts.key, allowHalfOpen: true }, (socket) => {
    tracker.connections++;
    const sni = typeof socket.servername === 'string' ? socket.servername : '';
    if (servernames.length < 10_000) servernames.push(sni);
    socket.on('error', () => {});
    socket.write(`${opts.name} sni=${sni}\n`);
    socket.pipe(socket);
  });
  // Track raw sockets so close() also kills connections stuck in the handshake.
  server.on('connection', (raw: net.Socket) => tracker.add(raw));
  server.on('tlsClientError', () => {});
  const port = await listen(server);
  return extend(baseBackend(port, tracker, server), { name: opts.name, servernames });
}

export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface IHttpBackendOptions {
  /** Included as `name` in the default JSON echo and as header `x-backend`. Default 'http'. */
  name?: string;
}

/**
 * An HTTP/1.1 server. The default handler answers 200 with JSON
 * `{ name, method, url, headers, body, remoteAddress }` and header `x-backend: <name>`.
 */
export async function startHttpServer(
  handler?: HttpHandler,
  opts: IHttpBackendOptions = {},
): Promise<IHttpBackend> {
  const name = opts.name ?? 'http';
  const tracker = new Tracker();
  const log: IRecordedRequest[] = [];
  let requests = 0;
  const echo: HttpHandler = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body: IEchoResponse = {
        name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const text = JSON.stringify(body);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'x-backend': name,
      });
      res.end(text);
    });
  };
  const server = http.createServer((req, res) => {
    requests++;
    req.on('error', () => {});
    res.on('error', () => {});
    log.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress ?? '',
    });
    if (log.length > 100) log.shift();
    (handler ?? echo)(req, res);
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: net.Socket) => {
    tracker.connections++;
    tracker.add(socket);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await listen(server);
  return extend(baseBackend(port, tracker, server), {
    get requests() {
      return requests;
    },
    log,
  });
}

/** A TCP server that counts the bytes it receives and can send a fixed amount on connect. */
export async function startSinkServer(opts: ISinkOptions = {}): Promise<ISinkBackend> {
  const tracker = new Tracker();
  let bytesReceived = 0;
  const waiters = new Set<() => void>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    tracker.add(socket);
    tracker.connections++;
    socket.on('data', (d: Buffer) => {
      bytesReceived += d.length;
      for (const w of waiters) w();
    });
    const sending = opts.sendOnConnect ? sendBytes(socket, opts.sendOnConnect) : Promise.resolve();
    if (opts.endAfterSend) void sending.then(() => socket.end());
    // Answer the client's FIN once our own sending is complete.
    socket.on('end', () => void sending.then(() => socket.end()));
  });
  const port = await listen(server);
  return extend(baseBackend(port, tracker, server), {
    get bytesReceived() {
      return bytesReceived;
    },
    waitForBytes(n: number, timeoutMs = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (bytesReceived >= n) finish();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`sink: ${bytesReceived} of ${n} bytes after ${timeoutMs} ms`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
  });
}

/** Merges two objects by property descriptors (keeps getters live, unlike object spread). */
function extend<A extends object, B extends object>(a: A, b: B): A & B {
  const out = {};
  Object.defineProperties(out, Object.getOwnPropertyDescriptors(a));
  Object.defineProperties(out, Object.getOwnPropertyDescriptors(b));
  return out as A & B;
}
