/**
 * WebSockets through SmartProxy at the HTTP level: the `ws` client -> proxy -> `ws` server, over
 * plain HTTP and over terminated TLS; proxy pings; refusal; forwarding headers; path routing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type * as net from 'node:net';
import { WebSocket } from 'ws';
import { startProxy, freePort } from './harness.js';
import { connectTo, readUntil } from '../helpers/clients.js';
import { testCert } from '../helpers/certs.js';
import { httpRoute, nextWsMessage, openWs, startWsEcho, tlsRoute, until, wsClosed, type IWsEcho } from './helpers-http.js';
import type { IRouteConfig } from '../../ts/index.js';

function wsRoute(name: string, port: number, domains: string, be: IWsEcho, extra: Partial<IRouteConfig['action']> = {}, path?: string): IRouteConfig {
  const r = httpRoute(name, port, domains, be.port);
  Object.assign(r.action, extra);
  if (path !== undefined) r.match.path = path;
  return r;
}

/** Text, a name probe, a server push and a 1 MiB binary message, both ways. */
async function exchange(ws: WebSocket, be: IWsEcho): Promise<void> {
  ws.send('hello');
  const hello = await nextWsMessage(ws);
  assert.deepEqual([hello.data.toString(), hello.isBinary], ['hello', false]);
  ws.send('who');
  assert.equal((await nextWsMessage(ws)).data.toString(), be.name);
  const big = randomBytes(1024 * 1024);
  ws.send(big);
  const echoed = await nextWsMessage(ws, 10_000);
  assert.equal(echoed.isBinary, true);
  assert.equal(echoed.data.length, big.length);
  assert.ok(echoed.data.equals(big), '1 MiB binary message echoed intact');
  const push = nextWsMessage(ws);
  be.peers.at(-1)!.send(Buffer.from('from server'), { binary: true });
  assert.equal((await push).data.toString(), 'from server');
}

test('ws over plain HTTP: messages both ways (1 MiB binary); X-Forwarded-* on the upgrade request', async (t) => {
  const be = await startWsEcho(t, 'plain');
  const port = await freePort();
  const proxy = await startProxy(t, { routes: [wsRoute('ws', port, 'ws.example.com', be)] });
  const ws = await openWs(t, `ws://127.0.0.1:${port}/chat?room=1`, { headers: { host: `ws.example.com:${port}`, 'x-forwarded-for': '6.6.6.6' } });
  await exchange(ws, be);
  assert.equal(be.upgrades.length, 1);
  const up = be.upgrades[0]!;
  assert.equal(up.url, '/chat?room=1');
  assert.equal(up.headers['x-forwarded-for'], '127.0.0.1', 'the real client IP replaces an untrusted value');
  assert.equal(up.headers['x-forwarded-proto'], 'http');
  assert.equal(up.headers['x-forwarded-port'], String(port));
  assert.equal(up.headers.host, `ws.example.com:${port}`);
  assert.match(String(up.headers.upgrade), /^websocket$/i);
  ws.close(1000, 'bye');
  assert.equal(await wsClosed(ws), 1000);
  await until(() => proxy.connectionCount === 0, 'connection record released');
  assert.equal(proxy.getStats().requests.total(), 1);
});

test('wss over a terminated TLS route (ca + servername): messages both ways; X-Forwarded-Proto https', async (t) => {
  const be = await startWsEcho(t, 'secure');
  const port = await freePort();
  const cert = testCert('wss.example.com');
  await startProxy(t, { routes: [tlsRoute('wss', port, 'wss.example.com', be.port, cert)] });
  const ws = await openWs(t, `wss://127.0.0.1:${port}/s`, { headers: { host: 'wss.example.com' }, servername: 'wss.example.com', ca: [cert.ca] });
  await exchange(ws, be);
  const up = be.upgrades[0]!;
  assert.equal(up.headers['x-forwarded-proto'], 'https');
  assert.equal(up.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(up.url, '/s');
  ws.close();
  await wsClosed(ws);
});

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Completes the upgrade by hand on a raw TCP socket and then never answers anything. */
async function silentRawClient(port: number, host: string): Promise<{ socket: net.Socket; rest: Buffer }> {
  const socket = await connectTo(port);
  const key = randomBytes(16).toString('base64');
  socket.write(`GET /raw HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const got = await readUntil(socket, (b) => b.includes('\r\n\r\n'));
  const end = got.indexOf('\r\n\r\n') + 4;
  const head = got.subarray(0, end).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 101 /);
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  assert.match(head, new RegExp(`sec-websocket-accept: ${accept.replace(/[+/]/g, '\\$&')}`, 'i'));
  return { socket, rest: got.subarray(end) };
}

test('proxy pings: an idle ws client answers them and stays open; a silent raw client is closed after interval + timeout', async (t) => {
  const be = await startWsEcho(t, 'ping');
  const port = await freePort();
  await startProxy(t, { routes: [wsRoute('ping', port, 'ping.example.com', be, { websocket: { pingIntervalMs: 200, pingTimeoutMs: 200 } })] });
  const ws = await openWs(t, `ws://127.0.0.1:${port}/`, { headers: { host: 'ping.example.com' } });
  let pings = 0;
  ws.on('ping', () => pings++);
  let closed = false;
  ws.on('close', () => (closed = true));

  const raw = await silentRawClient(port, 'ping.example.com');
  const upgradedAt = Date.now();
  const frames: Buffer[] = [raw.rest];
  raw.socket.on('data', (d: Buffer) => frames.push(d));
  let rawClosedAt = 0;
  raw.socket.once('close', () => (rawClosedAt = Date.now()));

  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(closed, false, 'the answering client is still open');
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.ok(pings >= 3, `idle client got ${pings} pings in 1.5 s`);
  // Still usable after the idle period.
  ws.send('after idle');
  assert.equal((await nextWsMessage(ws)).data.toString(), 'after idle');

  assert.ok(rawClosedAt > 0, 'the silent client was closed');
  const lived = rawClosedAt - upgradedAt;
  assert.ok(lived >= 350 && lived <= 1200, `silent client closed after ${lived} ms (expected ~400)`);
  const bytes = Buffer.concat(frames);
  assert.equal(bytes[0], 0x89, 'the first frame the silent client got is a ping');
});

test('websocket.enabled false refuses the upgrade; nothing reaches the ws server', async (t) => {
  const be = await startWsEcho(t, 'off');
  const port = await freePort();
  await startProxy(t, { routes: [wsRoute('off', port, 'off.example.com', be, { websocket: { enabled: false } })] });
  await assert.rejects(openWs(t, `ws://127.0.0.1:${port}/`, { headers: { host: 'off.example.com' } }), /unexpected response 403/);
  assert.equal(be.upgrades.length, 0);
});

test('the upgrade is routed by path like any request', async (t) => {
  const chat = await startWsEcho(t, 'chat');
  const other = await startWsEcho(t, 'other');
  const port = await freePort();
  await startProxy(t, {
    routes: [wsRoute('chat', port, 'r.example.com', chat, {}, '/chat/*'), wsRoute('other', port, 'r.example.com', other)],
  });
  const a = await openWs(t, `ws://127.0.0.1:${port}/chat/room7`, { headers: { host: 'r.example.com' } });
  const b = await openWs(t, `ws://127.0.0.1:${port}/news`, { headers: { host: 'r.example.com' } });
  a.send('who');
  b.send('who');
  assert.equal((await nextWsMessage(a)).data.toString(), 'chat');
  assert.equal((await nextWsMessage(b)).data.toString(), 'other');
  assert.deepEqual([chat.upgrades.map((u) => u.url), other.upgrades.map((u) => u.url)], [['/chat/room7'], ['/news']]);
  await assert.rejects(openWs(t, `ws://127.0.0.1:${port}/`, { headers: { host: 'nobody.example.com' } }), /unexpected response 404/);
});

test('frames the backend sends in the same packet as its 101, and after it, all reach the client', async (t) => {
  const frame = (text: string): Buffer => Buffer.concat([Buffer.from([0x81, text.length]), Buffer.from(text)]);
  const raw = createServer((s) => {
    s.on('error', () => {});
    let head = '';
    s.on('data', (d: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1];
      if (!head.includes('\r\n\r\n') || !key) return;
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
      // The 101 and the first frame in one write; a second frame after the relay took over.
      s.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), frame('first')]));
      setTimeout(() => s.write(frame('second')), 50);
    });
  });
  const accepted: net.Socket[] = [];
  raw.on('connection', (s: net.Socket) => accepted.push(s));
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  t.after(() => {
    raw.close();
    for (const s of accepted) s.destroy();
  });
  const port = await freePort();
  await startProxy(t, { routes: [httpRoute('raw', port, 'raw.example.com', (raw.address() as AddressInfo).port)] });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'raw.example.com' } });
  t.after(() => ws.terminate());
  const got: string[] = [];
  ws.on('message', (d: Buffer) => got.push(d.toString()));
  await until(() => got.length === 2, 'two frames');
  assert.deepEqual(got, ['first', 'second']);
});
