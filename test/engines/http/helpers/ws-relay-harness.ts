/**
 * A tiny upgrade-by-hand proxy around relayWebSocket for tests: a net server on 127.0.0.1:0
 * reads the client's upgrade request head, opens TCP to the backend, forwards the head,
 * reads the backend's 101 head, writes it to the client and hands both sockets to the relay.
 * Also: a ws backend (WebSocketServer on an http server), a raw backend that speaks the
 * handshake and is then driven byte by byte, and a raw client that completes the handshake
 * and then does only what the test says.
 */
import * as net from 'node:net';
import * as http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ManualClock } from '../../../../ts/core/clock.js';
import { Ticker } from '../../../../ts/core/ticker.js';
import { relayWebSocket } from '../../../../ts/engines/http/websocket-relay.js';
import { DeadlineService } from '../../../../ts/core/deadlines.js';
import { detachedRecord } from '../../../../ts/connection/detached.js';
import type { CloseReason } from '../../../../ts/connection/close-reason.js';

/** The relay's handle in a test: close the connection as the proxy would. */
export interface WebSocketRelay {
  close(reason?: CloseReason): void;
}

export interface TestContextLike {
  after(fn: () => unknown): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Read one HTTP head; the socket is left paused with nothing lost. */
export function readHead(socket: net.Socket, timeoutMs = 5000): Promise<{ head: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no HTTP head in time')), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const at = buf.indexOf(HEAD_END);
      if (at < 0) return;
      socket.pause();
      finish(undefined, { head: buf.subarray(0, at + 4), rest: buf.subarray(at + 4) });
    };
    const onEnd = (): void => finish(new Error('closed before the HTTP head'));
    const finish = (err: Error | undefined, value?: { head: Buffer; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      if (err) reject(err);
      else resolve(value!);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
  });
}

export interface RelayEntry {
  relay: WebSocketRelay;
  /** The proxy's socket facing the client / the backend. */
  clientSide: net.Socket;
  backendSide: net.Socket;
  clientRest: Buffer;
  backendRest: Buffer;
  /** Bytes the proxy has read from the client since the relay began. */
  bytesFromClient(): number;
  /** `<reason>/<side>` of the connection's close (e.g. 'closed/backend', 'ws_ping_timeout/proxy'). */
  closed: Promise<string>;
  closeCalls: number;
}

export interface RelayHarness {
  port: number;
  url: string;
  clock: ManualClock;
  ticker: Ticker;
  deadlines: DeadlineService;
  relays: RelayEntry[];
  /** The next relay to start (or one already started and not yet taken). */
  nextRelay(): Promise<RelayEntry>;
  /** Advance the manual clock by `ms` in steps of at most `step` ms, running the due ticker tasks after each (like the real timer would). */
  tick(ms: number, step?: number): void;
}

export interface HarnessOptions {
  backendPort: number;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
}

export async function startRelayHarness(t: TestContextLike, opts: HarnessOptions): Promise<RelayHarness> {
  const clock = new ManualClock();
  const ticker = new Ticker(clock, { manual: true });
  const deadlines = new DeadlineService(clock, ticker);
  const relays: RelayEntry[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    client.on('error', () => {});
    void (async () => {
      const req = await readHead(client);
      const backend = net.connect({ host: '127.0.0.1', port: opts.backendPort, allowHalfOpen: true });
      track(backend);
      backend.on('error', () => client.destroy());
      backend.write(req.head);
      const res = await readHead(backend);
      client.write(res.head);
      let fromClient = 0;
      client.on('data', (chunk: Buffer) => {
        fromClient += chunk.length;
      });
      let resolveClosed!: (reason: string) => void;
      const closed = new Promise<string>((resolve) => (resolveClosed = resolve));
      const entry: RelayEntry = {
        relay: undefined as unknown as WebSocketRelay,
        clientSide: client,
        backendSide: backend,
        clientRest: req.rest,
        backendRest: res.rest,
        bytesFromClient: () => fromClient,
        closed,
        closeCalls: 0,
      };
      const record = detachedRecord(client, {
        deadlines,
        onClosed: (r) => {
          entry.closeCalls++;
          resolveClosed(`${r.closeReason}/${r.closeSide}`);
        },
      });
      record.attachBackend(backend);
      relayWebSocket(record, backend, req.rest, res.rest, { pingIntervalMs: opts.pingIntervalMs, pingTimeoutMs: opts.pingTimeoutMs, clock }, () => {});
      entry.relay = { close: (reason = 'shutdown') => record.close('proxy', reason) };
      relays.push(entry);
      waiters.splice(0).forEach((w) => w());
    })().catch(() => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  t.after(async () => {
    for (const s of sockets) s.destroy();
    ticker.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port,
    url: `ws://127.0.0.1:${port}/chat`,
    clock,
    ticker,
    deadlines,
    relays,
    async nextRelay() {
      while (relays.length <= taken) await new Promise<void>((resolve) => waiters.push(resolve));
      return relays[taken++]!;
    },
    tick(ms: number, step = 50) {
      for (let left = ms; left > 0; left -= step) {
        clock.advance(Math.min(step, left));
        ticker.runDue();
      }
    },
  };
}

export interface WsBackend {
  port: number;
  wss: WebSocketServer;
  /** Server-side sockets, in order of connection. */
  peers: WebSocket[];
  nextPeer(): Promise<WebSocket>;
  /** Pongs received by the server (over all peers). */
  pongs: Buffer[];
}

/** A ws server that echoes every message back (same type, same bytes). */
export async function startWsBackend(t: TestContextLike, options: { perMessageDeflate?: boolean; echo?: boolean } = {}): Promise<WsBackend> {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: options.perMessageDeflate ?? false, maxPayload: 16 * 1024 * 1024 });
  const peers: WebSocket[] = [];
  const pongs: Buffer[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('pong', (data) => pongs.push(data));
    if (options.echo ?? true) ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    peers.push(ws);
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  });
  return {
    port: (httpServer.address() as net.AddressInfo).port,
    wss,
    peers,
    pongs,
    async nextPeer() {
      while (peers.length <= taken) await new Promise<void>((resolve) => waiters.push(resolve));
      return peers[taken++]!;
    },
  };
}

export interface RawPeer {
  socket: net.Socket;
  /** Everything received after the upgrade head. */
  received(): Buffer;
  ended: boolean;
}

export interface RawBackend {
  port: number;
  /** The next backend connection, after the 101 was sent. */
  nextPeer(): Promise<RawPeer>;
}

/**
 * A backend that answers the upgrade with a correct 101 and is then driven by the test.
 * `greeting` is written in the same write as the 101 head (so the proxy reads it past the head).
 */
export async function startRawBackend(t: TestContextLike, greeting?: Buffer): Promise<RawBackend> {
  const ready: RawPeer[] = [];
  const waiters: Array<() => void> = [];
  let taken = 0;
  const all = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    all.add(socket);
    socket.on('error', () => {});
    void readHead(socket).then(({ head, rest }) => {
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head.toString('latin1'))?.[1] ?? '';
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
      const reply = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
      socket.write(greeting ? Buffer.concat([Buffer.from(reply), greeting]) : reply);
      const chunks: Buffer[] = [rest];
      const peer: RawPeer = { socket, received: () => Buffer.concat(chunks), ended: false };
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('end', () => (peer.ended = true));
      socket.resume();
      ready.push(peer);
      waiters.splice(0).forEach((w) => w());
    }, () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of all) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    async nextPeer() {
      while (ready.length <= taken) await new Promise<void>((resolve) => waiters.push(resolve));
      return ready[taken++]!;
    },
  };
}

/** A client that completes the handshake by hand; `first` is written with the request head. */
export async function rawWsClient(t: TestContextLike, port: number, first?: Buffer): Promise<RawPeer & { closed: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  socket.on('error', () => {});
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const key = randomBytes(16).toString('base64');
  const head = Buffer.from(
    `GET /raw HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  socket.write(first ? Buffer.concat([head, first]) : head);
  const res = await readHead(socket);
  if (!res.head.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`no 101: ${res.head.toString('latin1')}`);
  const chunks: Buffer[] = [res.rest];
  const peer = { socket, received: () => Buffer.concat(chunks), ended: false, closed: false };
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.once('end', () => (peer.ended = true));
  socket.once('close', () => (peer.closed = true));
  socket.resume();
  return peer;
}

/** Resolve when `cond()` holds, polling every few ms; reject after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export async function connectWs(t: TestContextLike, url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  ws.on('error', () => {});
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message in time')), 5000);
    ws.once('message', (data: RawData, isBinary: boolean) => {
      clearTimeout(timer);
      resolve({ data: data as Buffer, isBinary });
    });
  });
}

export function closeOf(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}
