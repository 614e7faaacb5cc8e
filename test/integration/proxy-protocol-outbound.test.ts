/**
 * PROXY protocol sent to backends (route action.sendProxyProtocol, options.sendProxyProtocol),
 * checked by a small Node backend that parses the header with the project's parser: source =
 * the real client, destination = the proxy address and port the client connected to, payload
 * intact, addresses plain even on a dual-stack ('::') listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startProxy, freePorts } from './harness.js';
import { connectTo, readAll } from '../helpers/clients.js';
import { parseProxyHeader, type ProxyHeaderResult } from '../../ts/protocol/proxy-protocol.js';
import type { IRouteConfig, ISmartProxyOptions, ProxyProtocolVersion } from '../../ts/index.js';

interface Received {
  header: ProxyHeaderResult;
  raw: Buffer;
  payload: Buffer;
}

interface Recorder {
  port: number;
  next(): Promise<Received>;
  close(): Promise<void>;
}

/** Collects each connection until the client's FIN, parses a PROXY header at its start, answers 'ok'. */
async function startRecorder(): Promise<Recorder> {
  const queue: Received[] = [];
  const waiters: Array<(r: Received) => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => {
      const raw = Buffer.concat(chunks);
      const header = parseProxyHeader(raw);
      const payload = header.kind === 'ok' ? raw.subarray(header.headerLength) : raw;
      const r = { header, raw, payload };
      const w = waiters.shift();
      if (w) w(r);
      else queue.push(r);
      s.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => {
      const r = queue.shift();
      if (r) return Promise.resolve(r);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('recorder: no connection within 5 s')), 5000);
        waiters.push((x) => {
          clearTimeout(timer);
          resolve(x);
        });
      });
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function route(name: string, port: number, target: number, send?: ProxyProtocolVersion): IRouteConfig {
  const r: IRouteConfig = { name, match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: target } } };
  if (send !== undefined) r.action.sendProxyProtocol = send;
  return r;
}

/** Connect (IPv4 or ::1), send payload, FIN, read the answer; returns the client's own endpoints. */
async function send(port: number, payload: Buffer, host = '127.0.0.1'): Promise<{ local: number; answer: string }> {
  const c = await connectTo(port, { host, allowHalfOpen: true });
  const local = c.localPort!;
  const answer = readAll(c, { timeoutMs: 5000 });
  c.end(payload);
  return { local, answer: (await answer).toString() };
}

async function setup(t: { after(fn: () => unknown): void }, routes: (ports: number[], backend: number) => IRouteConfig[], opts: Partial<ISmartProxyOptions> = {}) {
  const rec = await startRecorder();
  t.after(() => rec.close());
  const ports = await freePorts(3);
  const proxy = await startProxy(t, { ...opts, routes: routes(ports, rec.port) });
  return { rec, ports, proxy };
}

function assertHeader(r: Received, version: 1 | 2, src: { ip: string; port: number }, dst: { ip: string; port: number }, family = 'TCP4'): void {
  assert.equal(r.header.kind, 'ok', `no valid header in ${JSON.stringify(r.raw.subarray(0, 60).toString('latin1'))}`);
  if (r.header.kind !== 'ok') return;
  assert.equal(r.header.version, version);
  assert.equal(r.header.command, 'PROXY');
  assert.equal(r.header.family, family);
  assert.deepEqual(r.header.source, src);
  assert.deepEqual(r.header.destination, dst);
}

test('route sendProxyProtocol v1 and v2 on a dual-stack listener: plain addresses, real ports, payload intact', async (t) => {
  const { rec, ports } = await setup(t, ([a, b], be) => [route('v1', a!, be, 'v1'), route('v2', b!, be, 'v2')], { listenAddress: '::' });
  const payload = randomBytes(200_000);
  for (const [i, version] of [[0, 1], [1, 2]] as const) {
    const port = ports[i]!;
    const { local, answer } = await send(port, payload);
    assert.equal(answer, 'ok');
    const r = await rec.next();
    assertHeader(r, version, { ip: '127.0.0.1', port: local }, { ip: '127.0.0.1', port });
    if (version === 1) assert.match(r.raw.subarray(0, 60).toString('latin1'), new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 ${local} ${port}\\r\\n`));
    assert.ok(r.payload.equals(payload), 'payload follows the header byte for byte');
  }
});

test('IPv6 client (::1) on a dual-stack listener: TCP6 header with ::1 both ways', async (t) => {
  const { rec, ports } = await setup(t, ([a, b], be) => [route('v1', a!, be, 'v1'), route('v2', b!, be, 'v2')], { listenAddress: '::' });
  for (const [i, version] of [[0, 1], [1, 2]] as const) {
    const { local } = await send(ports[i]!, Buffer.from('six'), '::1');
    const r = await rec.next();
    assertHeader(r, version, { ip: '::1', port: local }, { ip: '::1', port: ports[i]! }, 'TCP6');
    assert.equal(r.payload.toString(), 'six');
  }
});

test('options.sendProxyProtocol is the default (true means v1); a route can override it, including with false', async (t) => {
  const { rec, ports } = await setup(
    t,
    ([a, b, c], be) => [route('inherit', a!, be), route('off', b!, be, false), route('v2', c!, be, 'v2')],
    { sendProxyProtocol: true },
  );
  const a = await send(ports[0]!, Buffer.from('A'));
  assertHeader(await rec.next(), 1, { ip: '127.0.0.1', port: a.local }, { ip: '127.0.0.1', port: ports[0]! });
  await send(ports[1]!, Buffer.from('B'));
  const off = await rec.next();
  assert.equal(off.raw.toString(), 'B', 'no header when the route says false');
  const c = await send(ports[2]!, Buffer.from('C'));
  assertHeader(await rec.next(), 2, { ip: '127.0.0.1', port: c.local }, { ip: '127.0.0.1', port: ports[2]! });

  const second = await setup(t, ([x], be) => [route('inherit', x!, be)], { sendProxyProtocol: 'v2' });
  const d = await send(second.ports[0]!, Buffer.from('D'));
  const r = await second.rec.next();
  assertHeader(r, 2, { ip: '127.0.0.1', port: d.local }, { ip: '127.0.0.1', port: second.ports[0]! });
  assert.equal(r.payload.toString(), 'D');
});

test('PROXY in, PROXY out: the backend sees the original client from the incoming header', async (t) => {
  const { rec, ports } = await setup(t, ([a], be) => [route('chain', a!, be, 'v2')], { acceptProxyProtocol: true, proxyIPs: ['127.0.0.1'] });
  const c = await connectTo(ports[0]!, { allowHalfOpen: true });
  const answer = readAll(c);
  c.end(Buffer.concat([Buffer.from(`PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n`), Buffer.from('payload')]));
  assert.equal((await answer).toString(), 'ok');
  const r = await rec.next();
  assertHeader(r, 2, { ip: '203.0.113.7', port: 40000 }, { ip: '198.51.100.1', port: 443 });
  assert.equal(r.payload.toString(), 'payload');
});
