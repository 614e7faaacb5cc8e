import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { startProxy, freePort, freePorts } from './harness.js';
import { startTcpEchoServer, startSinkServer } from '../helpers/backends.js';
import { connectTo, readAll, readUntil, sendBytes } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import { SmartProxy, SmartProxyError } from '../../ts/index.js';
import { silentLogger } from './harness.js';
import { endOrClose } from '../../ts/forwarding/relay.js';

function forward(name: string, port: number, target: number) {
  return { name, match: { ports: port }, action: { type: 'forward' as const, target: { host: '127.0.0.1', port: target } } };
}

test('TCP forward: 50 MiB byte-exact both ways', { timeout: 60_000 }, async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [forward('echo', port, echo.port)] });
  const size = 50 * 1024 * 1024;
  const payload = randomBytes(size);
  const client = await connectTo(port, { allowHalfOpen: true });
  const received = readAll(client, { timeoutMs: 50_000 });
  // Write in chunks, respecting backpressure, then half-close: the echo answers everything before its FIN.
  let off = 0;
  while (off < size) {
    const chunk = payload.subarray(off, off + 256 * 1024);
    off += chunk.length;
    if (!client.write(chunk)) await new Promise((r) => client.once('drain', r));
  }
  client.end();
  const got = await received;
  assert.equal(got.length, size);
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(payload).digest('hex'));
  await waitFor(() => proxy.connectionCount === 0, 5000);
  const stats = proxy.getStats();
  assert.equal(stats.totals.bytesIn(), client.bytesWritten);
  assert.equal(stats.totals.bytesOut(), client.bytesRead);
});

/** Resolves once `measure()` has not changed for `quietMs` (a stalled transfer), within `timeoutMs`. */
async function settles(measure: () => number, quietMs = 300, timeoutMs = 20_000): Promise<number> {
  let last = measure();
  let since = Date.now();
  await waitFor(() => {
    const now = measure();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  }, timeoutMs, { intervalMs: 50 });
  return last;
}

test('backpressure both ways: a side that stops reading stalls the other, and nothing is lost', { timeout: 60_000 }, async (t) => {
  const size = 64 * 1024 * 1024;
  // Backend -> client: a backend streams 64 MiB at a paused client.
  let source: net.Socket | undefined;
  const sourceServer = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    source = s;
    void sendBytes(s, size, 256 * 1024).then(() => s.end());
  });
  // Client -> backend: a backend that reads nothing until told.
  const held: net.Socket[] = [];
  let received = 0;
  const stuck = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
    s.on('error', () => {});
    s.on('data', (d: Buffer) => (received += d.length));
    held.push(s);
  });
  const accepted: net.Socket[] = [];
  for (const server of [sourceServer, stuck]) {
    server.on('connection', (s: net.Socket) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => {
      server.close();
      for (const s of accepted) s.destroy();
    });
  }
  const [down, upPort] = await freePorts(2);
  await startProxy(t, {
    routes: [
      forward('down', down!, (sourceServer.address() as net.AddressInfo).port),
      forward('up', upPort!, (stuck.address() as net.AddressInfo).port),
    ],
  });

  const client = await connectTo(down!, { allowHalfOpen: true });
  client.pause();
  await waitFor(() => source !== undefined);
  const sent = (): number => source?.bytesWritten ?? 0;
  const stalledAt = await settles(sent);
  assert.ok(stalledAt < size / 2, `the backend is held back (stalled after ${stalledAt} of ${size} bytes)`);
  const got = await readAll(client, { timeoutMs: 40_000 });
  assert.equal(got.length, size);
  assert.ok(got.every((b) => b === 0x61), 'every byte arrives unchanged');

  const up = await connectTo(upPort!, { allowHalfOpen: true });
  t.after(() => up.destroy());
  void sendBytes(up, size, 256 * 1024).then(() => up.end());
  const upStalledAt = await settles(() => up.bytesWritten);
  assert.ok(upStalledAt < size / 2, `the client is held back (stalled after ${upStalledAt} of ${size} bytes)`);
  for (const s of held) s.resume();
  await waitFor(() => received === size, 40_000, { message: () => `backend received ${received} of ${size}` });
});

test('half-close: the client sends, then FIN, and still gets the whole response', async (t) => {
  const sink = await startSinkServer({ sendOnConnect: 0 });
  t.after(() => sink.close());
  // A backend that answers only after the client's FIN.
  const late = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    const parts: Buffer[] = [];
    s.on('data', (d) => parts.push(d));
    s.on('end', () => s.end(Buffer.concat([Buffer.from('got:'), ...parts])));
  });
  await new Promise<void>((r) => late.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => late.close(() => r())));
  const port = await freePort();
  await startProxy(t, { routes: [forward('late', port, (late.address() as net.AddressInfo).port)] });
  const client = await connectTo(port, { allowHalfOpen: true });
  client.end('question');
  const answer = await readAll(client);
  assert.equal(answer.toString(), 'got:question');
});

test('half-close the other way: the backend ends first, the client still sends, and both see a clean FIN', async (t) => {
  // The backend greets and ends its side at once, then reads until the client's FIN.
  const got: Array<{ bytes: number; error: string | undefined }> = [];
  const early = net.createServer({ allowHalfOpen: true }, (s) => {
    let bytes = 0;
    let error: string | undefined;
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    s.on('data', (d) => (bytes += d.length));
    s.on('close', () => got.push({ bytes, error }));
    s.end('hello');
  });
  await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => early.close(() => r())));
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [forward('early', port, (early.address() as net.AddressInfo).port)] });
  // A few bytes (the proxy's write is done when the FIN comes), and 8 MiB (still queued then).
  for (const size of [5, 8 * 1024 * 1024]) {
    const client = await connectTo(port, { allowHalfOpen: true });
    let clientError: string | undefined;
    client.on('error', (e: NodeJS.ErrnoException) => (clientError = e.code));
    const greeting = await readAll(client);
    assert.equal(greeting.toString(), 'hello');
    client.end(randomBytes(size));
    await new Promise((r) => client.once('close', r));
    await waitFor(() => got.length === 1, 10_000);
    assert.deepEqual(got.shift(), { bytes: size, error: undefined }, `size ${size}`);
    assert.equal(clientError, undefined);
    await waitFor(() => proxy.connectionCount === 0, 5000);
  }
});

test('endOrClose: a socket whose peer has ended closes at once when nothing is queued, and ends after what is queued otherwise', async (t) => {
  const size = 8 * 1024 * 1024;
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  for (const queued of [false, true]) {
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const ours = await connectTo((server.address() as net.AddressInfo).port, { allowHalfOpen: true });
    const peer = await accepted;
    // The peer ends its side and reads nothing for now.
    peer.pause();
    peer.end();
    await new Promise((r) => ours.once('end', r));
    ours.write(randomBytes(queued ? size : 5));
    if (queued) assert.ok(ours.writableLength > 0, 'bytes are still queued');
    endOrClose(ours);
    assert.equal(ours.destroyed, !queued, queued ? 'queued bytes wait for end()' : 'nothing queued: closed at once');
    const got = await readAll(peer, { timeoutMs: 10_000 });
    assert.equal(got.length, queued ? size : 5);
  }
});

test('backend refused: the client is closed, the record removed, the proxy unharmed', async (t) => {
  const dead = await freePort();
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [forward('dead', port, dead)] });
  for (let i = 0; i < 5; i++) {
    const c = await connectTo(port);
    const got = await readAll(c);
    assert.equal(got.length, 0);
  }
  await waitFor(() => proxy.connectionCount === 0, 2000);
});

test('a host list skips a refusing backend', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const dead = await freePort();
  const port = await freePort();
  await startProxy(t, {
    routes: [{ name: 'lb', match: { ports: port }, action: { type: 'forward', target: { host: ['127.0.0.2', '127.0.0.1'], port: echo.port } } }],
  });
  void dead;
  for (let i = 0; i < 4; i++) {
    const c = await connectTo(port);
    c.write('x');
    const got = await readUntil(c, (b) => b.length >= 1);
    assert.equal(got.toString(), 'x');
    c.destroy();
  }
});

test('bind failure rolls back: start() rejects with SPX_ERR_LISTEN and nothing stays bound', async (t) => {
  const [a, b] = await freePorts(2);
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(b, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => blocker.close(() => r())));
  const proxy = new SmartProxy({ routes: [forward('a', a!, 1), forward('b', b!, 1)], listenAddress: '127.0.0.1', logger: silentLogger });
  await assert.rejects(proxy.start(), (err: unknown) => err instanceof SmartProxyError && err.code === 'SPX_ERR_LISTEN' && err.port === b);
  assert.deepEqual(proxy.getListeningPorts(), []);
  // Port a is free again.
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(a, '127.0.0.1', resolve);
  });
  await new Promise<void>((r) => probe.close(() => r()));
});

test('updateRoutes under a live connection: it keeps flowing; new ports open, dropped ports close', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const [p1, p2] = await freePorts(2);
  const proxy = await startProxy(t, { routes: [forward('one', p1!, echo.port)] });
  const live = await connectTo(p1!);
  live.write('before;');
  await readUntil(live, (b) => b.toString() === 'before;');
  await proxy.updateRoutes([forward('two', p2!, echo.port)]);
  assert.deepEqual(proxy.getListeningPorts(), [p2]);
  live.write('after');
  const got = await readUntil(live, (b) => b.toString() === 'after');
  assert.equal(got.toString(), 'after');
  await assert.rejects(connectTo(p1!, { timeoutMs: 1000 }));
  const fresh = await connectTo(p2!);
  fresh.write('new');
  assert.equal((await readUntil(fresh, (b) => b.length >= 3)).toString(), 'new');
  fresh.destroy();
  live.destroy();
  // A bad table throws and the old one keeps serving.
  await assert.rejects(proxy.updateRoutes([forward('bad', 70000, echo.port)]), /routes\[0\]\.match\.ports/);
  const still = await connectTo(p2!);
  still.write('ok');
  assert.equal((await readUntil(still, (b) => b.length >= 2)).toString(), 'ok');
  still.destroy();
});

test('stop(): listeners close at once, open connections get the grace period, then are destroyed', async (t) => {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const port = await freePort();
  const proxy = new SmartProxy({ routes: [forward('e', port, echo.port)], listenAddress: '127.0.0.1', logger: silentLogger, gracefulShutdownTimeout: 300 });
  await proxy.start();
  const c = await connectTo(port);
  c.write('x');
  await readUntil(c, (b) => b.length === 1);
  const closed = readAll(c, { timeoutMs: 5000 });
  const started = Date.now();
  await proxy.stop();
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 3000, `stop took ${took} ms`);
  assert.deepEqual(proxy.getListeningPorts(), []);
  await closed;
  assert.equal(proxy.connectionCount, 0);
});

test('socket-handler routes get the socket and a read-only context; a throwing handler costs one socket', async (t) => {
  const [port, bad] = await freePorts(2);
  await startProxy(t, {
    routes: [
      {
        name: 'hello',
        match: { ports: port! },
        action: {
          type: 'socket-handler',
          socketHandler: (socket, ctx) => {
            socket.end(`hi ${ctx.clientIp} on ${ctx.port} via ${ctx.routeName}\n`);
          },
        },
      },
      {
        name: 'bad',
        match: { ports: bad! },
        action: {
          type: 'socket-handler',
          socketHandler: async () => {
            throw new Error('handler failure');
          },
        },
      },
    ],
  });
  const c = await connectTo(port!);
  assert.equal((await readAll(c)).toString(), `hi 127.0.0.1 on ${port} via hello\n`);
  const d = await connectTo(bad!);
  assert.equal((await readAll(d)).length, 0);
  const e = await connectTo(port!);
  assert.match((await readAll(e)).toString(), /^hi /);
});
