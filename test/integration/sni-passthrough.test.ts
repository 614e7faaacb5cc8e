import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import { startProxy, freePort } from './harness.js';
import { startTlsServer, type ITlsBackend } from '../helpers/backends.js';
import { testCert, testCaFile } from '../helpers/certs.js';
import { connectTls, connectTo, readAll, readUntil, runCurl, runOpenssl } from '../helpers/clients.js';
import { requireCommand } from '../helpers/tools.js';
import { waitFor } from '../helpers/leaks.js';
import type { SmartProxy } from '../../ts/index.js';

interface Setup {
  port: number;
  a: ITlsBackend;
  b: ITlsBackend;
  proxy: SmartProxy;
  misses: unknown[];
}

async function setup(t: { after(fn: () => unknown): void }): Promise<Setup> {
  const certA = testCert('a.example.com');
  const certB = testCert(['b.example.com', '*.wild.example.com']);
  const a = await startTlsServer({ ...certA, name: 'backend-a' });
  const b = await startTlsServer({ ...certB, name: 'backend-b' });
  t.after(() => a.close());
  t.after(() => b.close());
  const port = await freePort();
  const proxy = await startProxy(t, {
    routes: [
      {
        name: 'a',
        match: { ports: port, domains: 'a.example.com' },
        action: { type: 'forward', target: { host: '127.0.0.1', port: a.port }, tls: { mode: 'passthrough' } },
      },
      {
        name: 'b',
        match: { ports: port, domains: ['b.example.com', '*.wild.example.com'] },
        action: { type: 'forward', target: { host: '127.0.0.1', port: b.port }, tls: { mode: 'passthrough' } },
      },
    ],
    initialDataTimeout: 2000,
  });
  const misses: unknown[] = [];
  proxy.on('route:miss', (e) => misses.push(e));
  return { port, a, b, proxy, misses };
}

test('SNI passthrough: Node TLS clients reach the backend their SNI names, certificate verified end to end', async (t) => {
  const s = await setup(t);
  const ca = testCert('a.example.com').ca;
  for (const [name, want] of [
    ['a.example.com', 'backend-a sni=a.example.com'],
    ['b.example.com', 'backend-b sni=b.example.com'],
    ['x.wild.example.com', 'backend-b sni=x.wild.example.com'],
    ['A.EXAMPLE.COM', 'backend-a sni=a.example.com'],
  ] as const) {
    const c = await connectTls(s.port, { servername: name, ca: [ca] });
    const line = await readUntil(c, (b) => b.includes(10));
    assert.equal(line.toString().trim().toLowerCase(), want.toLowerCase(), name);
    c.destroy();
  }
});

test('SNI passthrough with curl --resolve and openssl s_client', async (t) => {
  if (!requireCommand('curl', t) || !requireCommand('openssl', t)) return;
  const s = await setup(t);
  const caFile = testCaFile();
  // The backends greet and echo rather than speak HTTP: curl sees the greeting as an HTTP/0.9 body.
  const r = await runCurl(
    ['-sS', '--http0.9', '--max-time', '3', '--cacert', caFile, '--resolve', `b.example.com:${s.port}:127.0.0.1`, `https://b.example.com:${s.port}/`],
    { timeoutMs: 8000 },
  );
  assert.match(r.stdout, /^backend-b sni=b\.example\.com/, r.stderr);
  const o = await runOpenssl(['s_client', '-connect', `127.0.0.1:${s.port}`, '-servername', 'a.example.com', '-CAfile', caFile, '-verify_return_error'], {
    input: 'ping\n',
    stdinUntil: /backend-a sni=/,
    timeoutMs: 8000,
  });
  assert.match(o.stdout, /backend-a sni=a\.example\.com/);
  assert.match(o.stdout, /Verify return code: 0 \(ok\)/);
  assert.ok(s.a.servernames.includes('a.example.com'));
});

test('a ClientHello written in 1-byte chunks still routes', async (t) => {
  const s = await setup(t);
  // Capture a real ClientHello from node:tls, then replay it one byte at a time through the proxy.
  const raw = await connectTo(s.port);
  raw.setNoDelay(true);
  const ca = testCert('a.example.com').ca;
  const secure = tls.connect({ socket: new SlowSocketWriter(raw) as unknown as net.Socket, servername: 'a.example.com', ca: [ca] });
  secure.on('error', () => {});
  const line = await readUntil(secure, (b) => b.includes(10), 10_000);
  assert.equal(line.toString().trim(), 'backend-a sni=a.example.com');
  secure.destroy();
  raw.destroy();
});

test('no-SNI and unknown-SNI connections never reach a backend', async (t) => {
  const s = await setup(t);
  const before = s.a.connections + s.b.connections;
  for (const servername of [undefined, 'unknown.example.com', 'example.com', 'wild.example.com']) {
    const sock = tls.connect({ port: s.port, host: '127.0.0.1', rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    sock.on('error', () => {});
    await readAll(sock, { timeoutMs: 3000 }).catch(() => Buffer.alloc(0));
  }
  // Plain bytes and garbage that never forms a ClientHello are closed too.
  for (const bytes of [Buffer.from('GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n'), Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x99, 0, 0, 1, 0])]) {
    const c = await connectTo(s.port);
    c.write(bytes);
    await readAll(c, { timeoutMs: 3000 });
  }
  assert.equal(s.a.connections + s.b.connections, before);
  assert.equal(s.a.active + s.b.active, 0);
  assert.ok(s.misses.length >= 4, `misses: ${s.misses.length}`);
  await waitFor(() => s.proxy.connectionCount === 0, 3000);
});

test('a connection that sends nothing, or half a ClientHello, is closed at initialDataTimeout', async (t) => {
  const s = await setup(t);
  const started = Date.now();
  const silent = await connectTo(s.port);
  const partial = await connectTo(s.port);
  partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  await Promise.all([readAll(silent, { timeoutMs: 6000 }), readAll(partial, { timeoutMs: 6000 })]);
  const took = Date.now() - started;
  assert.ok(took >= 1800 && took < 5000, `closed after ${took} ms`);
  assert.equal(s.a.connections + s.b.connections, 0);
});

/** A duplex wrapper that forwards writes to a socket one byte per event-loop turn. */
class SlowSocketWriter extends Duplex {
  constructor(private readonly inner: net.Socket) {
    super();
    inner.on('data', (d) => this.push(d));
    inner.on('end', () => this.push(null));
    inner.on('error', (e) => this.destroy(e));
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let i = 0;
    const step = (): void => {
      if (i >= chunk.length) return cb();
      this.inner.write(chunk.subarray(i, i + 1));
      i++;
      setImmediate(step);
    };
    step();
  }
  override _final(cb: () => void): void {
    this.inner.end();
    cb();
  }
}
