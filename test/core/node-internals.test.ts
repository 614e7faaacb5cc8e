/**
 * Every trick of ts/core/node-internals.ts and its fallback, through the proxy, on whatever Node
 * line runs the suite (CI runs it on each supported line): with all of them on (the default), with
 * each one off, and with all off, the same traffic gives the same bytes, half-close, close
 * reasons and metrics, and the client socket still gets Nagle off and TCP keep-alive (read back
 * from the kernel with `ss`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { startProxy, freePorts } from '../integration/harness.js';
import { startTcpEchoServer, startTlsServer } from '../helpers/backends.js';
import { connectTo, readUntil, runCommand } from '../helpers/clients.js';
import { testCert } from '../helpers/certs.js';
import { waitFor } from '../helpers/leaks.js';
import { requireCommand } from '../helpers/tools.js';
import { NODE_INTERNALS_DEFAULTS } from '../../ts/core/node-internals.js';
import type { INodeInternalsOptions } from '../../ts/types.js';

const VARIANTS: Array<[string, INodeInternalsOptions]> = [
  ['defaults', {}],
  ['acceptTakeover off', { acceptTakeover: false }],
  ['directRead off', { directRead: false }],
  ['listenerSocketOptions off', { listenerSocketOptions: false }],
  ['all off', { acceptTakeover: false, directRead: false, listenerSocketOptions: false }],
  ['raiseMallocThresholds on (opt-in)', { raiseMallocThresholds: true }],
];

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Send `payload`, half-close, read the echo to its end. */
async function echoHalfClosed(socket: net.Socket, payload: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve());
    socket.once('error', reject);
  });
  socket.end(payload);
  await done;
  return Buffer.concat(chunks);
}

test('the defaults: acceptTakeover, directRead and listenerSocketOptions on, raiseMallocThresholds off', () => {
  assert.deepEqual({ ...NODE_INTERNALS_DEFAULTS }, { acceptTakeover: true, directRead: true, listenerSocketOptions: true, raiseMallocThresholds: false });
});

for (const [name, nodeInternals] of VARIANTS) {
  test(`node internals ${name}: L4 relay (4 MiB, half-close), TLS passthrough, HTTP, socket options`, { timeout: 30_000 }, async (t) => {
    const echo = await startTcpEchoServer();
    t.after(() => echo.close());
    const cert = testCert('ni.test');
    const tlsBackend = await startTlsServer({ ...cert, name: 'ni' });
    t.after(() => tlsBackend.close());
    const httpBackend = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'));
    });
    await new Promise<void>((r) => httpBackend.listen(0, '127.0.0.1', r));
    t.after(() => httpBackend.close());
    const [l4Port, tlsPort, httpPort] = await freePorts(3);
    const closes: Array<{ reason: string; route: string | undefined }> = [];
    const proxy = await startProxy(t, {
      nodeInternals,
      routes: [
        { name: 'l4', match: { ports: l4Port! }, action: { type: 'forward', target: { host: '127.0.0.1', port: echo.port } } },
        { name: 'pt', match: { ports: tlsPort!, domains: 'ni.test' }, action: { type: 'forward', target: { host: '127.0.0.1', port: tlsBackend.port }, tls: { mode: 'passthrough' } } },
        { name: 'http', match: { ports: httpPort!, domains: 'h.test' }, action: { type: 'forward', target: { host: '127.0.0.1', port: (httpBackend.address() as net.AddressInfo).port } } },
      ],
    });
    proxy.on('connection:close', (e) => closes.push({ reason: e.reason, route: e.route }));

    // L4: 4 MiB through, FIN passed on, the echo comes back whole, then both sides close.
    const payload = randomBytes(4 * 1024 * 1024);
    const c = await connectTo(l4Port!);
    t.after(() => c.destroy());
    const back = await echoHalfClosed(c, payload);
    assert.equal(sha(back), sha(payload));

    // TLS passthrough by SNI, certificate checked end to end.
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort!, servername: 'ni.test', ca: [cert.ca] });
    s.on('error', () => {});
    t.after(() => s.destroy());
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', resolve);
      s.once('error', reject);
    });
    s.end();

    // HTTP level.
    const h = await connectTo(httpPort!);
    t.after(() => h.destroy());
    h.write('GET / HTTP/1.1\r\nHost: h.test\r\n\r\n');
    const res = await readUntil(h, (b) => b.includes('\r\n\r\nok'), 3000);
    assert.match(res.toString(), /^HTTP\/1\.1 200 /);

    // Nagle off and keep-alive armed on the accepted socket, whichever way it was built.
    if (requireCommand('ss', t)) {
      const k = await connectTo(l4Port!);
      t.after(() => k.destroy());
      k.write('x');
      await readUntil(k, (b) => b.toString() === 'x');
      const r = await runCommand('ss', ['-tnoiH', 'state', 'established', `( sport = :${l4Port} )`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /timer:\(keepalive,/, `keep-alive armed: ${r.stdout}`);
      k.destroy();
    }
    h.destroy();
    await waitFor(() => proxy.getStats().connections.active() === 0, 3000, { message: () => JSON.stringify(proxy.getDiagnostics()) });
    assert.ok(closes.some((e) => e.route === 'l4' && e.reason === 'closed'), JSON.stringify(closes));
    assert.equal(proxy.getStats().totals.connections(), 4);
    assert.ok(proxy.getStats().totals.bytesIn() >= payload.length);
  });
}
