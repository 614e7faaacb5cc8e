/**
 * Accepted sockets built from the accepted handle with a RelayReader (listener/accept.ts,
 * forwarding/direct-read.ts), over real loopback sockets: before a relay takes the socket,
 * its reads behave as an ordinary net.Socket's; after, they go straight to the destination.
 * Through SmartProxy: a socket accepted on a relay-only port that a route change sends to a
 * socket handler or the HTTP layer still reads correctly (its reads are pushed into its stream).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createHash, randomBytes } from 'node:crypto';
import { takeOverAccept, socketFor, RelayReader, NODE_INTERNALS_DEFAULTS } from '../../ts/core/node-internals.js';
import { PortListener } from '../../ts/accept/port-listener.js';
import type { AcceptSink } from '../../ts/dispatch/dispatcher.js';
import { startProxy, freePort } from '../integration/harness.js';
import { startHttpServer } from '../helpers/backends.js';
import { connectTo, readAll, readUntil } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import type { IRouteConfig } from '../../ts/index.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function listening(t: { after(fn: () => unknown): void }): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return { server, port: (server.address() as net.AddressInfo).port };
}

test('takeOverAccept: sockets are built by the caller, paused, with no connection event', { timeout: 10_000 }, async (t) => {
  const { server, port } = await listening(t);
  let connectionEvents = 0;
  server.on('connection', () => connectionEvents++);
  // APM agents hear of accepted sockets on this channel; it still announces ours.
  const published: unknown[] = [];
  const onPublish = (message: unknown): void => void published.push((message as { socket: unknown }).socket);
  subscribe('net.server.socket', onPublish);
  t.after(() => unsubscribe('net.server.socket', onPublish));
  const accepted = new Promise<net.Socket>((resolve) => {
    assert.equal(
      takeOverAccept(server, (handle) => resolve(socketFor(handle, undefined, undefined))),
      true,
    );
  });
  const client = await connectTo(port);
  t.after(() => client.destroy());
  const socket = await accepted;
  t.after(() => socket.destroy());
  assert.equal(socket.isPaused(), true);
  assert.equal(socket.allowHalfOpen, true);
  assert.equal(socket.remotePort, client.localPort);
  client.end('hello');
  // Half-open: the client's FIN ends only the readable side; the socket can still answer.
  const got = await readAll(socket);
  assert.equal(got.toString(), 'hello');
  assert.equal(socket.writable, true);
  const answer = readAll(client);
  socket.end('bye');
  assert.equal((await answer).toString(), 'bye');
  assert.equal(connectionEvents, 0);
  assert.deepEqual(published, [socket]);
});

test('takeOverAccept: a failed accept is the server\'s error event, as with net.Server', async (t) => {
  const { server } = await listening(t);
  assert.equal(takeOverAccept(server, () => assert.fail('no socket expected')), true);
  const errored = new Promise<NodeJS.ErrnoException>((r) => server.once('error', r));
  // libuv reports accept() failures (EMFILE when out of descriptors) through the same callback.
  const handle = (server as unknown as { _handle: { onconnection(status: number, h: undefined): void } })._handle;
  handle.onconnection(-24, undefined);
  const err = await errored;
  assert.equal(err.code, 'EMFILE');
  assert.equal(err.syscall, 'accept');
});

test('takeOverAccept leaves a server without a listening handle alone', () => {
  const server = net.createServer();
  assert.equal(takeOverAccept(server, () => {}), false);
});

type Ctx = { after(fn: () => unknown): void };

/** A client connected to a socket accepted with a RelayReader (not relaying yet). */
async function acceptedWithReader(t: Ctx): Promise<{ client: net.Socket; socket: net.Socket; reader: RelayReader }> {
  const { server, port } = await listening(t);
  const reader = new RelayReader();
  const accepted = new Promise<net.Socket>((resolve) => {
    takeOverAccept(server, (handle) => {
      const s = socketFor(handle, reader, undefined);
      reader.attach(s);
      resolve(s);
    });
  });
  const client = await connectTo(port, { allowHalfOpen: true });
  t.after(() => client.destroy());
  const socket = await accepted;
  t.after(() => socket.destroy());
  return { client, socket, reader };
}

/**
 * A relay destination: a connection to a peer that starts reading after `delayMs` and
 * collects everything until the FIN. Every chunk written to `to` is shown to `onWrite` first.
 */
async function destination(
  t: Ctx,
  opts: { delayMs?: number; writableHighWaterMark?: number; onWrite?: (chunk: Buffer, to: net.Socket) => void } = {},
): Promise<{ to: net.Socket; collected: Promise<Buffer> }> {
  const peerSide = await listening(t);
  const collected = new Promise<Buffer>((resolve) => {
    peerSide.server.once('connection', (peer: net.Socket) => {
      t.after(() => peer.destroy());
      setTimeout(() => resolve(readAll(peer, { timeoutMs: 25_000 })), opts.delayMs ?? 0);
    });
  });
  // writableHighWaterMark reaches the Writable under the socket, though net's option type omits it.
  const connectOptions: net.NetConnectOpts & { writableHighWaterMark?: number } = {
    port: peerSide.port,
    host: '127.0.0.1',
    allowHalfOpen: true,
    writableHighWaterMark: opts.writableHighWaterMark,
  };
  const to = net.connect(connectOptions);
  to.on('error', () => {});
  t.after(() => to.destroy());
  await new Promise((r) => to.once('connect', r));
  const onWrite = opts.onWrite;
  if (onWrite) {
    const write = to.write.bind(to);
    to.write = ((chunk: Buffer) => {
      onWrite(chunk, to);
      return write(chunk);
    }) as typeof to.write;
  }
  return { to, collected };
}

/** Relay `socket` into `to` as pump() does, send `payload` from the client, and return what arrived. */
async function relayed(socket: net.Socket, reader: RelayReader, client: net.Socket, dest: { to: net.Socket; collected: Promise<Buffer> }, payload: Buffer): Promise<Buffer> {
  reader.relayTo(dest.to);
  dest.to.on('drain', () => socket.resume());
  socket.once('end', () => dest.to.end());
  socket.resume();
  client.end(payload);
  return dest.collected;
}

test('RelayReader: reads surface as data until relayTo, then go straight to the destination', { timeout: 20_000 }, async (t) => {
  const { client, socket, reader } = await acceptedWithReader(t);
  // Before a relay: an ordinary stream. Paused at birth, nothing is read.
  client.write('first bytes');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(socket.bytesRead, 0);
  const firstRead = readUntil(socket, (b) => b.length >= 11);
  socket.resume();
  const first = await firstRead;
  assert.equal(first.toString(), 'first bytes');
  socket.pause();

  // The relay's destination reads nothing for 300 ms, so the client is held back.
  let drains = 0;
  let dataAfterRelay = 0;
  const dest = await destination(t, { delayMs: 300 });
  dest.to.on('drain', () => drains++);
  socket.on('data', () => dataAfterRelay++);
  const payload = randomBytes(16 * 1024 * 1024);
  const got = await relayed(socket, reader, client, dest, payload);
  assert.equal(got.length, payload.length);
  assert.equal(sha(got), sha(payload));
  assert.ok(drains > 0, 'the destination filled up at least once');
  assert.equal(dataAfterRelay, 0);
  assert.equal(socket.bytesRead, 11 + payload.length);
});

test('PortListener: a RelayReader exactly where the sink says the port only relays', { timeout: 10_000 }, async (t) => {
  for (const relays of [true, false]) {
    const got = new Promise<{ socket: net.Socket; reader: RelayReader | undefined }>((resolve) => {
      const sink: AcceptSink = { relaysOnly: () => relays, onSocket: (socket, _port, reader) => resolve({ socket, reader }) };
      const l = new PortListener(0, { noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 }, NODE_INTERNALS_DEFAULTS, sink, () => {});
      t.after(() => l.close());
      void l.listen('127.0.0.1').then(async () => {
        const c = await connectTo(l.boundPort());
        t.after(() => c.destroy());
        c.end('x');
      });
    });
    const { socket, reader } = await got;
    t.after(() => socket.destroy());
    assert.equal(reader instanceof RelayReader, relays, `relaysOnly ${relays}`);
    // Either way the socket reads as a stream until a relay takes it.
    assert.equal((await readAll(socket)).toString(), 'x');
  }
});

/**
 * A socket accepted while its port only relayed, then sent elsewhere by updateRoutes before it
 * was routed (its first bytes were still awaited): its reads keep arriving as 'data'.
 */
async function acceptedThenRerouted(t: { after(fn: () => unknown): void }, next: IRouteConfig): Promise<{ port: number; client: net.Socket }> {
  const port = await freePort();
  const sink = await startHttpServer();
  t.after(() => sink.close());
  // Passthrough by SNI: the port only relays, and the proxy waits for a ClientHello.
  const passthrough: IRouteConfig = {
    name: 'sni',
    match: { ports: port, domains: 'a.example' },
    action: { type: 'forward', target: { host: '127.0.0.1', port: sink.port }, tls: { mode: 'passthrough' } },
  };
  const proxy = await startProxy(t, { routes: [passthrough], initialDataTimeout: 10_000 });
  const client = await connectTo(port, { allowHalfOpen: true });
  t.after(() => client.destroy());
  await waitFor(() => proxy.connectionCount === 1, 5000);
  await proxy.updateRoutes([{ ...next, match: { ...next.match, ports: port } }]);
  return { port, client };
}

test('reader fallback: a rerouted socket serves a socket handler, 8 MiB echoed with backpressure', { timeout: 30_000 }, async (t) => {
  const { client } = await acceptedThenRerouted(t, {
    name: 'echo',
    match: { ports: 1 },
    action: { type: 'socket-handler', socketHandler: (socket) => void socket.pipe(socket) },
  });
  const payload = Buffer.concat([Buffer.from('hello\n'), randomBytes(8 * 1024 * 1024)]);
  const echoed = readAll(client, { timeoutMs: 25_000 });
  client.end(payload);
  const got = await echoed;
  assert.equal(got.length, payload.length);
  assert.equal(sha(got), sha(payload));
});

test('reader fallback: a rerouted socket serves the HTTP layer, a 4 MiB body intact', { timeout: 30_000 }, async (t) => {
  const backend = await startHttpServer();
  t.after(() => backend.close());
  const { client } = await acceptedThenRerouted(t, {
    name: 'http',
    match: { ports: 1, domains: 'h.example' },
    action: { type: 'forward', target: { host: '127.0.0.1', port: backend.port } },
  });
  const body = 'b'.repeat(4 * 1024 * 1024);
  const response = readAll(client, { timeoutMs: 25_000 });
  client.write(`POST /up HTTP/1.1\r\nHost: h.example\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  client.write(body);
  const raw = (await response).toString();
  assert.match(raw, /^HTTP\/1\.1 200 /);
  const echo = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { body: string; url: string };
  assert.equal(echo.url, '/up');
  assert.equal(echo.body.length, body.length);
  assert.equal(echo.body, body);
});

test('RelayReader: a buffer that a queued write still holds is never read into again', { timeout: 30_000 }, async (t) => {
  // A destination that takes 4 MiB before write() returns false: reads keep coming while
  // earlier writes wait in its queue, each holding the buffer it was handed.
  const { client, socket, reader } = await acceptedWithReader(t);
  let queuedWhileReading = 0;
  const dest = await destination(t, {
    delayMs: 300,
    writableHighWaterMark: 4 * 1024 * 1024,
    onWrite: (_chunk, to) => {
      if (to.writableLength > 0) queuedWhileReading++;
    },
  });
  const payload = randomBytes(24 * 1024 * 1024);
  const got = await relayed(socket, reader, client, dest, payload);
  assert.ok(queuedWhileReading > 0, 'writes were queued behind earlier ones');
  assert.equal(got.length, payload.length);
  assert.equal(sha(got), sha(payload));
});

test('RelayReader: while a stream flows, one buffer of its own is handed to each write and reused', { timeout: 30_000 }, async (t) => {
  const { client, socket, reader } = await acceptedWithReader(t);
  const seen = new Map<ArrayBufferLike, number>();
  const dest = await destination(t, {
    // Small copies share Node's pooled slab; only whole 64 KiB buffers count here.
    onWrite: (chunk) => {
      if (chunk.buffer.byteLength === 64 * 1024) seen.set(chunk.buffer, (seen.get(chunk.buffer) ?? 0) + 1);
    },
  });
  const payload = randomBytes(32 * 1024 * 1024);
  const got = await relayed(socket, reader, client, dest, payload);
  assert.equal(sha(got), sha(payload));
  const reused = [...seen.values()].filter((n) => n > 1).length;
  assert.ok(reused > 0, 'some read buffer went to more than one write');
});

test('RelayReader: after a stream, the first read that does not fill the buffer returns the socket to the shared one', { timeout: 30_000 }, async (t) => {
  const { client, socket, reader } = await acceptedWithReader(t);
  const shared = new RelayReader().buffer();
  assert.equal(reader.buffer(), shared, 'a socket starts on the shared buffer');
  // A stream: full reads move the socket to a buffer of its own (seen from inside a write).
  let ownSeen = false;
  const dest = await destination(t, {
    onWrite: () => {
      if (reader.buffer() !== shared) ownSeen = true;
    },
  });
  reader.relayTo(dest.to);
  dest.to.on('drain', () => socket.resume());
  socket.once('end', () => dest.to.end());
  // Queue the bytes in the kernel before the first read, so that read fills the buffer.
  const bulk = randomBytes(8 * 1024 * 1024);
  client.write(bulk);
  await new Promise((r) => setTimeout(r, 100));
  socket.resume();
  await waitFor(() => socket.bytesRead === bulk.length, 10_000);
  assert.ok(ownSeen, 'a full read moved the socket to a buffer of its own');
  // Then a short message: a partial read, after which the socket reads into the shared buffer again.
  client.write('tail');
  await waitFor(() => socket.bytesRead === bulk.length + 4, 5000);
  assert.equal(reader.buffer(), shared);
  client.end();
  const got = await dest.collected;
  assert.equal(sha(got), sha(Buffer.concat([bulk, Buffer.from('tail')])));
});
