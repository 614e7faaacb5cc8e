/**
 * PROXY protocol interop with a real HAProxy, end to end through SmartProxy:
 * - inbound: client -> haproxy (send-proxy / send-proxy-v2) -> SmartProxy (acceptProxyProtocol):
 *   the socket handler and the metrics see the real client; header bytes are not counted;
 * - outbound: client -> SmartProxy (sendProxyProtocol v1/v2) -> haproxy (accept-proxy) ->
 *   recorder (haproxy send-proxy-v2, parsed with the project's parser): haproxy understood the
 *   real client as source and the SmartProxy address and port as destination.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, freePorts } from './harness.js';
import { readAll } from '../helpers/clients.js';
import { requireCommand } from '../helpers/tools.js';
import { waitFor, delay } from '../helpers/leaks.js';
import { parseProxyHeader, type ProxyHeaderResult } from '../../ts/protocol/proxy-protocol.js';
import type { IRouteContext } from '../../ts/index.js';

/** Runs `haproxy -f cfg -db` until test end; resolves once `probePort` accepts connections. */
async function startHaproxy(t: { after(fn: () => unknown): void }, sections: string[], probePort: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spx-pp-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  const head = ['global', '  maxconn 200', 'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 10s', '  timeout server 10s'];
  writeFileSync(cfg, [...head, ...sections, ''].join('\n'));
  const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.on('error', () => {});
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) return resolve(false);
        const s = net.connect(probePort, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10_000,
    { intervalMs: 50, message: () => `haproxy not listening: ${stderr}` },
  );
}

/** Connects from `localAddress` (any 127/8 address), resolves once connected. */
function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('inbound: haproxy send-proxy / send-proxy-v2 -> the handler and metrics see the real client; header bytes not counted', { timeout: 30_000 }, async (t) => {
  if (!requireCommand('haproxy', t)) return;
  const [spPort, h1, h2] = await freePorts(3);
  const seen: IRouteContext[] = [];
  const proxy = await startProxy(t, {
    acceptProxyProtocol: true,
    proxyIPs: ['127.0.0.1'],
    initialDataTimeout: 3000,
    routes: [
      {
        name: 'who',
        match: { ports: spPort! },
        action: {
          type: 'socket-handler',
          socketHandler: (socket, ctx) => {
            seen.push(ctx);
            socket.write(`${ctx.clientIp} ${ctx.clientPort}\n`);
            socket.pipe(socket);
          },
        },
      },
    ],
  });
  await startHaproxy(
    t,
    [
      'frontend fe_v1',
      `  bind 127.0.0.1:${h1}`,
      '  default_backend be_v1',
      'frontend fe_v2',
      `  bind 127.0.0.1:${h2}`,
      '  default_backend be_v2',
      'backend be_v1',
      `  server sp 127.0.0.1:${spPort} send-proxy`,
      'backend be_v2',
      `  server sp 127.0.0.1:${spPort} send-proxy-v2`,
    ],
    h2!,
  );
  // The readiness probes went through haproxy as header-only connections, which haproxy may
  // open towards SmartProxy a little after the probe: let them arrive, then finish.
  await new Promise((r) => setTimeout(r, 300));
  await waitFor(() => proxy.connectionCount === 0, 5000);
  const stats = proxy.getStats();
  const in0 = stats.totals.bytesIn();
  const out0 = stats.totals.bytesOut();
  seen.length = 0;

  let sentTotal = 0;
  let readTotal = 0;
  for (const [front, from] of [
    [h1!, '127.0.0.1'],
    [h2!, '127.0.0.1'],
    [h1!, '127.0.0.5'],
    [h2!, '127.0.0.6'],
  ] as const) {
    const c = await connectFrom(front, from);
    const localPort = c.localPort!;
    const payload = `hello from ${from}:${localPort}`;
    const all = readAll(c, { timeoutMs: 5000 });
    c.write(payload);
    // Live: the open connection is counted under the real client's address.
    await waitFor(() => stats.connections.byIP().get(from) === 1, 3000, { message: () => JSON.stringify([...stats.connections.byIP()]) });
    c.end();
    const got = (await all).toString();
    assert.equal(got, `${from} ${localPort}\n${payload}`);
    sentTotal += c.bytesWritten;
    readTotal += c.bytesRead;
    const ctx = seen.at(-1)!;
    assert.equal(ctx.clientIp, from);
    assert.equal(ctx.clientPort, localPort);
    assert.equal(ctx.serverIp, '127.0.0.1');
    await waitFor(() => proxy.connectionCount === 0, 5000);
  }
  assert.equal(seen.length, 4);
  assert.equal(stats.totals.bytesIn() - in0, sentTotal, 'PROXY header bytes are not counted');
  assert.equal(stats.totals.bytesOut() - out0, readTotal);
  const ips = [...stats.throughput.byIP(10).keys()];
  for (const ip of ['127.0.0.5', '127.0.0.6']) assert.ok(ips.includes(ip), `${ip} in ${JSON.stringify(ips)}`);
});

interface Seen {
  header: ProxyHeaderResult;
  payload: string;
}

test('outbound: SmartProxy sendProxyProtocol v1 / v2 -> haproxy accept-proxy understands the real client and the proxy address', { timeout: 30_000 }, async (t) => {
  if (!requireCommand('haproxy', t)) return;
  // The recorder sits behind haproxy, which re-sends what it accepted as a v2 header.
  const queue: Array<(s: Seen) => void> = [];
  const recorder = net.createServer((s) => {
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const h = parseProxyHeader(buf);
      if (h.kind === 'need-more') return;
      const rest = h.kind === 'ok' ? buf.subarray(h.headerLength).toString() : buf.toString();
      if (h.kind === 'ok' && !rest.endsWith('\n')) return;
      s.end('done\n');
      queue.shift()?.({ header: h, payload: rest });
    });
  });
  await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => recorder.close(() => r())));
  const recPort = (recorder.address() as net.AddressInfo).port;
  const [hAccept, p1, p2] = await freePorts(3);
  await startHaproxy(
    t,
    ['frontend fe_accept', `  bind 127.0.0.1:${hAccept} accept-proxy`, '  default_backend be_rec', 'backend be_rec', `  server rec 127.0.0.1:${recPort} send-proxy-v2`],
    hAccept!,
  );
  await startProxy(t, {
    listenAddress: '::',
    routes: [
      { name: 'out-v1', match: { ports: p1! }, action: { type: 'forward', target: { host: '127.0.0.1', port: hAccept! }, sendProxyProtocol: 'v1' } },
      { name: 'out-v2', match: { ports: p2! }, action: { type: 'forward', target: { host: '127.0.0.1', port: hAccept! }, sendProxyProtocol: 'v2' } },
    ],
  });
  for (const [port, from] of [
    [p1!, '127.0.0.1'],
    [p2!, '127.0.0.1'],
    [p1!, '127.0.0.7'],
    [p2!, '127.0.0.8'],
  ] as const) {
    const seen = new Promise<Seen>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('recorder saw nothing within 5 s')), 5000);
      queue.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
    const c = await connectFrom(port, from);
    const localPort = c.localPort!;
    const answer = readAll(c, { timeoutMs: 5000 });
    c.write(`payload via ${port}\n`);
    const s = await seen;
    assert.equal((await answer).toString(), 'done\n');
    assert.equal(s.header.kind, 'ok');
    if (s.header.kind !== 'ok') continue;
    assert.equal(s.header.command, 'PROXY');
    assert.deepEqual(s.header.source, { ip: from, port: localPort });
    assert.deepEqual(s.header.destination, { ip: '127.0.0.1', port });
    assert.equal(s.payload, `payload via ${port}\n`);
    c.destroy();
    await delay(5);
  }
});
