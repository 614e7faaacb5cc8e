/**
 * Interop with a real haproxy: haproxy's send-proxy / send-proxy-v2 output must parse here, and
 * haproxy's accept-proxy must accept what buildProxyHeader() writes (checked through the header
 * haproxy forwards). Skipped when haproxy is missing, except under CI=true where it must be there.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProxyHeader, parseProxyHeader, type ProxyHeaderResult } from '../../ts/protocol/proxy-protocol.js';

const haveHaproxy = spawnSync('haproxy', ['-v'], { stdio: 'ignore', timeout: 5000 }).status === 0;
const skip = !haveHaproxy && process.env['CI'] !== 'true' ? 'haproxy not installed' : false;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Seen {
  header: ProxyHeaderResult;
  rest: string;
}

describe('PROXY protocol interop with haproxy', { skip, timeout: 30_000 }, () => {
  let child: ChildProcess | undefined;
  let dir = '';
  const recorder = net.createServer();
  const waiting: Array<(s: Seen) => void> = [];
  const ports = { sendV1: 0, sendV2: 0, accept: 0, backend: 0 };

  before(async () => {
    assert.ok(haveHaproxy, 'haproxy is required when CI=true');
    recorder.on('connection', (sock) => {
      sock.on('error', () => {});
      let got = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        const h = parseProxyHeader(got);
        if (h.kind === 'need-more') return;
        const rest = h.kind === 'ok' ? got.subarray(h.headerLength).toString() : '';
        if (h.kind === 'ok' && rest.length < 5) return;
        sock.destroy();
        waiting.shift()?.({ header: h, rest });
      });
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    ports.backend = (recorder.address() as net.AddressInfo).port;
    ports.sendV1 = await freePort();
    ports.sendV2 = await freePort();
    ports.accept = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'spx-haproxy-'));
    const cfg = [
      'global',
      '  maxconn 100',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 10s',
      '  timeout server 10s',
      'frontend send_v1',
      `  bind 127.0.0.1:${ports.sendV1}`,
      '  default_backend be_v1',
      'frontend send_v2',
      `  bind 127.0.0.1:${ports.sendV2}`,
      '  default_backend be_v2',
      'frontend accept',
      `  bind 127.0.0.1:${ports.accept} accept-proxy`,
      '  default_backend be_v1',
      'backend be_v1',
      `  server s 127.0.0.1:${ports.backend} send-proxy`,
      'backend be_v2',
      `  server s 127.0.0.1:${ports.backend} send-proxy-v2`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'haproxy.cfg'), cfg);
    child = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: 'ignore' });
    child.on('error', () => {});
    // Ready once the accept-proxy frontend takes connections (a bare probe is never forwarded).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const okConnect = await new Promise<boolean>((resolve) => {
        const s = net.connect(ports.accept, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (okConnect) break;
      if (Date.now() > deadline) throw new Error('haproxy did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    recorder.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function through(port: number, first: Buffer): Promise<{ seen: Seen; local: net.AddressInfo }> {
    const seen = new Promise<Seen>((resolve) => waiting.push(resolve));
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const local = { address: sock.localAddress!, port: sock.localPort!, family: 'IPv4' };
    sock.write(first);
    const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no header at backend')), 5000).unref());
    try {
      return { seen: await Promise.race([seen, timeout]), local };
    } finally {
      sock.destroy();
    }
  }

  for (const [label, key, version] of [['send-proxy (v1)', 'sendV1', 1], ['send-proxy-v2', 'sendV2', 2]] as const) {
    test(`haproxy ${label} parses`, async () => {
      const { seen, local } = await through(ports[key], Buffer.from('hello'));
      assert.deepEqual(seen.header, {
        kind: 'ok',
        version,
        command: 'PROXY',
        family: 'TCP4',
        source: { ip: '127.0.0.1', port: local.port },
        destination: { ip: '127.0.0.1', port: ports[key] },
        headerLength: seen.header.kind === 'ok' ? seen.header.headerLength : -1,
      });
      assert.equal(seen.rest, 'hello');
    });
  }

  const built: Array<[string, 'v1' | 'v2', string, string, 'TCP4' | 'TCP6']> = [
    ['v1 IPv4', 'v1', '203.0.113.7', '198.51.100.9', 'TCP4'],
    ['v2 IPv4', 'v2', '203.0.113.7', '198.51.100.9', 'TCP4'],
    ['v1 IPv6', 'v1', '2001:db8::7', '2001:db8::9', 'TCP6'],
    ['v2 IPv6', 'v2', '2001:db8::7', '2001:db8::9', 'TCP6'],
    ['v2 mapped IPv4 becomes plain IPv4', 'v2', '::ffff:203.0.113.7', '198.51.100.9', 'TCP4'],
  ];
  for (const [label, ver, src, dst, family] of built) {
    test(`haproxy accept-proxy takes our ${label} header`, async () => {
      const header = buildProxyHeader(ver, { ip: src, port: 4242 }, { ip: dst, port: 443 });
      const { seen } = await through(ports.accept, Buffer.concat([header, Buffer.from('hello')]));
      assert.equal(seen.header.kind, 'ok', JSON.stringify(seen.header));
      if (seen.header.kind !== 'ok') return;
      assert.equal(seen.header.family, family);
      assert.deepEqual(seen.header.source, { ip: src.replace('::ffff:', ''), port: 4242 });
      assert.deepEqual(seen.header.destination, { ip: dst, port: 443 });
      assert.equal(seen.rest, 'hello');
    });
  }
});
