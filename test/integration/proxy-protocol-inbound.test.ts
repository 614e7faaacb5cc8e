/**
 * PROXY protocol accepted (acceptProxyProtocol + proxyIPs), with hand-written headers from a raw
 * client on 127.0.0.1. The addresses in the headers (203.0.113.7, 2001:db8::7) are only data:
 * no traffic goes anywhere but 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { startProxy, freePort } from './harness.js';
import { connectTo, readAll, readUntil } from '../helpers/clients.js';
import { startSinkServer, startTlsServer } from '../helpers/backends.js';
import { testCert } from '../helpers/certs.js';
import { waitFor, delay } from '../helpers/leaks.js';
import type { IRouteContext, ISmartProxyOptions } from '../../ts/index.js';

const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v1(src: string, dst: string, sport: number, dport: number): Buffer {
  return Buffer.from(`PROXY TCP4 ${src} ${dst} ${sport} ${dport}\r\n`, 'latin1');
}

function v2Tcp4(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const b = Buffer.alloc(16 + 12);
  V2_SIG.copy(b);
  b[12] = 0x21; // v2, PROXY
  b[13] = 0x11; // AF_INET, STREAM
  b.writeUInt16BE(12, 14);
  Buffer.from(src).copy(b, 16);
  Buffer.from(dst).copy(b, 20);
  b.writeUInt16BE(sport, 24);
  b.writeUInt16BE(dport, 26);
  return b;
}

function v2Tcp6(src: Buffer, dst: Buffer, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(16 + 36);
  V2_SIG.copy(b);
  b[12] = 0x21;
  b[13] = 0x21; // AF_INET6, STREAM
  b.writeUInt16BE(36, 14);
  src.copy(b, 16);
  dst.copy(b, 32);
  b.writeUInt16BE(sport, 48);
  b.writeUInt16BE(dport, 50);
  return b;
}

function v2Local(): Buffer {
  const b = Buffer.alloc(16);
  V2_SIG.copy(b);
  b[12] = 0x20; // v2, LOCAL
  b[13] = 0x00; // UNSPEC
  return b;
}

/** 2001:db8::7 and ::1 as 16 bytes. */
const IP6_DOC = Buffer.from('20010db8000000000000000000000007', 'hex');
const IP6_LOOP = Buffer.from('00000000000000000000000000000001', 'hex');

interface Setup {
  port: number;
  seen: IRouteContext[];
  proxy: Awaited<ReturnType<typeof startProxy>>;
}

/** A socket-handler route that answers `<clientIp> <clientPort> <serverIp>\n` and then echoes. */
async function setup(t: { after(fn: () => unknown): void }, extra: Partial<ISmartProxyOptions> = {}): Promise<Setup> {
  const port = await freePort();
  const seen: IRouteContext[] = [];
  const proxy = await startProxy(t, {
    acceptProxyProtocol: true,
    proxyIPs: ['127.0.0.1'],
    initialDataTimeout: 1000,
    ...extra,
    routes: [
      {
        name: 'who',
        match: { ports: port },
        action: {
          type: 'socket-handler',
          socketHandler: (socket: net.Socket, ctx: IRouteContext) => {
            seen.push(ctx);
            socket.write(`${ctx.clientIp} ${ctx.clientPort} ${ctx.serverIp}\n`);
            socket.pipe(socket);
          },
        },
      },
    ],
  });
  return { port, seen, proxy };
}

interface Asked {
  socket: net.Socket;
  /** The handler's first line. */
  first: string;
  /** Resolves once everything received so far contains `text`. */
  until(text: string): Promise<string>;
}

async function ask(port: number, ...parts: Buffer[]): Promise<Asked> {
  const socket = await connectTo(port);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  for (const p of parts) {
    socket.write(p);
    if (parts.length > 1) await delay(15);
  }
  const until = async (text: string): Promise<string> => {
    await waitFor(() => received.includes(text), 3000, { message: () => `received ${JSON.stringify(received)}` });
    return received;
  };
  await until('\n');
  return { socket, first: received.slice(0, received.indexOf('\n')), until };
}

test('v1 TCP4: the handler sees the header source; the payload follows intact; header bytes not counted', async (t) => {
  const s = await setup(t);
  const header = v1('203.0.113.7', '127.0.0.1', 51000, s.port);
  const { socket, until } = await ask(s.port, Buffer.concat([header, Buffer.from('hello')]));
  assert.equal(await until('hello'), `203.0.113.7 51000 127.0.0.1\nhello`);
  const stats = s.proxy.getStats();
  assert.deepEqual([...stats.connections.byIP()], [['203.0.113.7', 1]]);
  socket.destroy();
  await waitFor(() => s.proxy.connectionCount === 0, 3000);
  assert.equal(stats.totals.bytesIn(), socket.bytesWritten - header.length);
  assert.equal(stats.totals.bytesIn(), 5);
  assert.equal(stats.totals.bytesOut(), socket.bytesRead);
  assert.deepEqual([...stats.throughput.byIP(5).keys()], ['203.0.113.7']);
});

test('v2 TCP4 and v2 TCP6: source address and port from the header', async (t) => {
  const s = await setup(t);
  const a = await ask(s.port, Buffer.concat([v2Tcp4([203, 0, 113, 7], [127, 0, 0, 1], 40001, s.port), Buffer.from('x')]));
  assert.equal(a.first, '203.0.113.7 40001 127.0.0.1');
  const b = await ask(s.port, Buffer.concat([v2Tcp6(IP6_DOC, IP6_LOOP, 40002, s.port), Buffer.from('y')]));
  assert.equal(b.first, '2001:db8::7 40002 ::1');
  const stats = s.proxy.getStats();
  assert.deepEqual([...stats.connections.byIP()].sort(), [['2001:db8::7', 1], ['203.0.113.7', 1]]);
  a.socket.destroy();
  b.socket.destroy();
  await waitFor(() => s.proxy.connectionCount === 0, 3000);
  assert.equal(stats.totals.bytesIn(), 2, 'only the payload bytes are counted');
});

test('v2 LOCAL: the connection proceeds with the socket\'s own address', async (t) => {
  const s = await setup(t);
  const { socket, first } = await ask(s.port, Buffer.concat([v2Local(), Buffer.from('z')]));
  assert.equal(first.split('\n')[0], `127.0.0.1 ${socket.localPort} 127.0.0.1`);
  assert.deepEqual([...s.proxy.getStats().connections.byIP()], [['127.0.0.1', 1]]);
  socket.destroy();
});

test('a header split across several writes (v1 byte by byte, v2 in three pieces)', async (t) => {
  const s = await setup(t);
  const h1 = v1('203.0.113.7', '127.0.0.1', 1234, s.port);
  const pieces = [...h1].map((byte) => Buffer.from([byte]));
  const a = await ask(s.port, ...pieces.slice(0, 8), Buffer.concat(pieces.slice(8)), Buffer.from('ab'));
  assert.equal(a.first, '203.0.113.7 1234 127.0.0.1');
  const h2 = v2Tcp4([203, 0, 113, 8], [127, 0, 0, 1], 4321, s.port);
  const b = await ask(s.port, h2.subarray(0, 5), h2.subarray(5, 17), Buffer.concat([h2.subarray(17), Buffer.from('cd')]));
  assert.equal(b.first, '203.0.113.8 4321 127.0.0.1');
  assert.match(await a.until('ab'), /\nab$/);
  assert.match(await b.until('cd'), /\ncd$/);
  a.socket.destroy();
  b.socket.destroy();
});

test('a trusted peer without a header is closed (bytes without header, and silence)', async (t) => {
  const s = await setup(t);
  const c = await connectTo(s.port);
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await readAll(c, { timeoutMs: 3000 })).length, 0);
  const quiet = await connectTo(s.port);
  const started = Date.now();
  assert.equal((await readAll(quiet, { timeoutMs: 3000 })).length, 0);
  assert.ok(Date.now() - started >= 900, 'closed by initialDataTimeout');
  assert.equal(s.seen.length, 0, 'the handler never ran');
  await waitFor(() => s.proxy.connectionCount === 0, 3000);
});

test('an untrusted peer that sends a header is closed; without one it is served', async (t) => {
  const s = await setup(t, { proxyIPs: ['127.0.0.2'] });
  const c = await connectTo(s.port);
  c.write(Buffer.concat([v1('203.0.113.7', '127.0.0.1', 1, s.port), Buffer.from('x')]));
  assert.equal((await readAll(c, { timeoutMs: 3000 })).length, 0);
  const ok = await ask(s.port, Buffer.from('plain'));
  assert.equal(ok.first, `127.0.0.1 ${ok.socket.localPort} 127.0.0.1`);
  ok.socket.destroy();
  assert.equal(s.seen.length, 1);
});

test('maxConnectionsPerIP applies to the address from the header, not to the trusted peer', async (t) => {
  const s = await setup(t, { maxConnectionsPerIP: 1 });
  const a = await ask(s.port, Buffer.concat([v1('203.0.113.7', '127.0.0.1', 1000, s.port), Buffer.from('a')]));
  assert.match(a.first, /^203\.0\.113\.7 1000 /);
  // Same real client again: refused while the first is open.
  const b = await connectTo(s.port);
  b.write(Buffer.concat([v1('203.0.113.7', '127.0.0.1', 1001, s.port), Buffer.from('b')]));
  assert.equal((await readAll(b, { timeoutMs: 3000 })).length, 0);
  // Other real clients through the same trusted peer (127.0.0.1) are served.
  const c = await ask(s.port, Buffer.concat([v1('203.0.113.8', '127.0.0.1', 1002, s.port), Buffer.from('c')]));
  const d = await ask(s.port, Buffer.concat([v1('203.0.113.9', '127.0.0.1', 1003, s.port), Buffer.from('d')]));
  assert.match(c.first, /^203\.0\.113\.8 /);
  assert.match(d.first, /^203\.0\.113\.9 /);
  a.socket.destroy();
  await waitFor(() => s.proxy.getStats().connections.byIP().get('203.0.113.7') === undefined, 3000);
  const e = await ask(s.port, Buffer.concat([v1('203.0.113.7', '127.0.0.1', 1004, s.port), Buffer.from('e')]));
  assert.match(e.first, /^203\.0\.113\.7 1004 /, 'admitted again once the first closed');
  for (const x of [c, d, e]) x.socket.destroy();
});

test(
  'server-speaks-first backend: after a trusted header the backend greeting reaches the client without client bytes',
  {},
  async (t) => {
    const greeter = await startSinkServer({ sendOnConnect: 10 });
    t.after(() => greeter.close());
    const port = await freePort();
    await startProxy(t, {
      acceptProxyProtocol: true,
      proxyIPs: ['127.0.0.1'],
      initialDataTimeout: 5000,
      routes: [{ name: 'smtp-like', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: greeter.port } } }],
    });
    const c = await connectTo(port);
    t.after(() => c.destroy());
    c.write(v1('203.0.113.7', '127.0.0.1', 2525, port));
    const greeting = await readUntil(c, (b) => b.length >= 10, 1500);
    assert.equal(greeting.length, 10);
  },
);

test('v1 UNKNOWN, v2 with TLVs, v2 TCP6 carrying an IPv4-mapped source; dual-stack listener trusts 127.0.0.1', async (t) => {
  const s = await setup(t, { listenAddress: '::' });
  const unknown = await ask(s.port, Buffer.from('PROXY UNKNOWN\r\nu'));
  assert.equal(unknown.first, `127.0.0.1 ${unknown.socket.localPort} 127.0.0.1`, 'UNKNOWN: the socket address is used');
  // v2 TCP4 followed by two TLVs (ALPN "h2", NOOP of 3 bytes) inside the declared length.
  const base = v2Tcp4([203, 0, 113, 7], [127, 0, 0, 1], 3000, s.port);
  const tlvs = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x03, 0, 0, 0]);
  const withTlv = Buffer.concat([base, tlvs]);
  withTlv.writeUInt16BE(12 + tlvs.length, 14);
  const a = await ask(s.port, Buffer.concat([withTlv, Buffer.from('after-tlv')]));
  assert.equal(a.first, '203.0.113.7 3000 127.0.0.1');
  assert.match(await a.until('after-tlv'), /\nafter-tlv$/, 'TLV bytes are not part of the payload');
  const mapped = Buffer.from('00000000000000000000ffffcb007109', 'hex'); // ::ffff:203.0.113.9
  const b = await ask(s.port, Buffer.concat([v2Tcp6(mapped, IP6_LOOP, 3001, s.port), Buffer.from('m')]));
  assert.equal(b.first, '203.0.113.9 3001 ::1', 'an IPv4-mapped source is shown plain');
  assert.deepEqual([...s.proxy.getStats().connections.byIP()].sort(), [['127.0.0.1', 1], ['203.0.113.7', 1], ['203.0.113.9', 1]]);
  for (const x of [unknown, a, b]) x.socket.destroy();
});

test('a large payload in the same write as the header: echoed intact, counted exactly', async (t) => {
  const s = await setup(t);
  const header = v2Tcp4([203, 0, 113, 7], [127, 0, 0, 1], 5000, s.port);
  const payload = Buffer.alloc(300_000, 0x41);
  const c = await connectTo(s.port);
  let got = 0;
  c.on('data', (d: Buffer) => (got += d.length));
  c.write(Buffer.concat([header, payload]));
  const line = '203.0.113.7 5000 127.0.0.1\n'.length;
  await waitFor(() => got >= line + payload.length, 5000);
  c.destroy();
  await waitFor(() => s.proxy.connectionCount === 0, 3000);
  const stats = s.proxy.getStats();
  assert.equal(stats.totals.bytesIn(), payload.length);
  assert.equal(stats.totals.bytesOut(), line + payload.length);
});

test('a partial header: closed by initialDataTimeout, or cleaned up when the client leaves', async (t) => {
  const s = await setup(t);
  const c = await connectTo(s.port);
  c.write('PROXY TCP4 203.0.');
  const started = Date.now();
  assert.equal((await readAll(c, { timeoutMs: 3000 })).length, 0);
  assert.ok(Date.now() - started >= 900);
  const d = await connectTo(s.port);
  d.write(v2Tcp4([203, 0, 113, 7], [127, 0, 0, 1], 1, s.port).subarray(0, 20));
  await waitFor(() => s.proxy.connectionCount === 1, 2000);
  d.destroy();
  await waitFor(() => s.proxy.connectionCount === 0, 2000);
  assert.equal(s.seen.length, 0);
  assert.equal(s.proxy.getStats().connections.total(), 0, 'never admitted, never counted as a connection');
});

test('header then TLS: SNI passthrough routes after the header; totals exclude the header exactly', async (t) => {
  const cert = testCert('pp.example.com');
  const backend = await startTlsServer({ ...cert, name: 'pp-tls' });
  t.after(() => backend.close());
  const port = await freePort();
  const proxy = await startProxy(t, {
    acceptProxyProtocol: true,
    proxyIPs: ['127.0.0.1'],
    initialDataTimeout: 2000,
    routes: [
      {
        name: 'pp-pass',
        match: { ports: port, domains: 'pp.example.com' },
        action: { type: 'forward', target: { host: '127.0.0.1', port: backend.port }, tls: { mode: 'passthrough' } },
      },
    ],
  });
  const header = v1('203.0.113.7', '127.0.0.1', 6000, port);
  const raw = await connectTo(port, { allowHalfOpen: true });
  raw.write(header);
  const secure = tls.connect({ socket: raw, servername: 'pp.example.com', ca: [cert.ca] });
  secure.on('error', () => {});
  const greeting = await readUntil(secure, (b) => b.includes(10), 3000);
  assert.equal(greeting.toString(), 'pp-tls sni=pp.example.com\n');
  assert.deepEqual([...proxy.getStats().connections.byIP()], [['203.0.113.7', 1]]);
  const all = readAll(secure, { timeoutMs: 3000 });
  secure.end('bye');
  assert.equal((await all).toString(), 'bye');
  if (!raw.closed) await new Promise((r) => raw.once('close', r));
  await waitFor(() => proxy.connectionCount === 0, 3000);
  const stats = proxy.getStats();
  assert.equal(stats.totals.bytesIn(), raw.bytesWritten - header.length);
  assert.equal(stats.totals.bytesOut(), raw.bytesRead);
});
