import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { testCa, testCert, testCertFiles, testCaFile } from './certs.js';
import { startTcpEchoServer, startTlsServer, startHttpServer, startSinkServer, type IEchoResponse } from './backends.js';
import {
  runCurl,
  runOpenssl,
  runCommand,
  tcpRoundTrip,
  connectTo,
  connectTls,
  readAll,
  readUntil,
  sendBytes,
  httpRequest,
} from './clients.js';
import { waitFor, trackTcpHandles, tcpHandleCount, activeResources } from './leaks.js';
import { hasCommand, requireCommand, isCI } from './tools.js';

describe('test helpers', { timeout: 60_000 }, () => {
  test('certs are memoised per domain list and written to files', () => {
    const a = testCert(['b.test', 'a.test']);
    assert.equal(testCert(['a.test', 'b.test']), a);
    assert.equal(a.ca, testCa().cert);
    assert.notEqual(testCert('c.test'), a);
    const files = testCertFiles(['a.test', 'b.test']);
    assert.equal(testCertFiles(['b.test', 'a.test']), files);
    assert.equal(readFileSync(files.certPath, 'utf8'), a.cert);
    assert.equal(readFileSync(files.keyPath, 'utf8'), a.key);
    assert.equal(readFileSync(testCaFile(), 'utf8'), testCa().cert);
    assert.ok(existsSync(files.caPath));
  });

  test('curl --cacert accepts a leaf cert served by node https, and rejects other names', async (t) => {
    if (!requireCommand('curl', t)) return;
    const leaf = testCert(['curl.test']);
    const server = https.createServer({ key: leaf.key, cert: leaf.cert }, (_req, res) => res.end('hello'));
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const port = (server.address() as AddressInfo).port;
    const ok = await runCurl([
      '--cacert', testCaFile(), '--resolve', `curl.test:${port}:127.0.0.1`, `https://curl.test:${port}/`,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'hello');
    const bad = await runCurl([
      '--cacert', testCaFile(), '--resolve', `other.test:${port}:127.0.0.1`, `https://other.test:${port}/`,
    ]);
    assert.equal(bad.code, 60, `expected curl exit 60 (peer cert not OK), got ${bad.code}: ${bad.stderr}`);
  });

  test('openssl s_client verifies the TLS backend chain and sees its greeting with SNI', async (t) => {
    if (!requireCommand('openssl', t)) return;
    const leaf = testCert(['tls.test']);
    const backend = await startTlsServer({ ...leaf, name: 'B1' });
    t.after(() => backend.close());
    const r = await runOpenssl(
      ['s_client', '-connect', `127.0.0.1:${backend.port}`, '-servername', 'tls.test', '-CAfile', testCaFile(),
        '-verify_return_error'],
      { stdinUntil: /B1 sni=/, timeoutMs: 10_000 },
    );
    assert.equal(r.timedOut, false);
    assert.match(r.stdout, /Verify return code: 0 \(ok\)/);
    assert.match(r.stdout, /B1 sni=tls\.test\n/);
    assert.deepEqual(backend.servernames, ['tls.test']);
  });

  test('runCommand kills a process at the hard timeout', async () => {
    const started = Date.now();
    const r = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(Date.now() - started < 5000);
    await assert.rejects(runCommand('spx-no-such-command-xyz', []));
  });

  test('tcp echo server round trip, counters and close of open sockets', async () => {
    const echo = await startTcpEchoServer();
    assert.equal((await tcpRoundTrip(echo.port, 'hello')).toString(), 'hello');
    assert.equal(echo.connections, 1);
    const idle = await connectTo(echo.port);
    await waitFor(() => echo.active === 1);
    await echo.close(); // must not hang on the open socket
    await readAll(idle, { timeoutMs: 2000 });
    assert.equal(echo.active, 0);
    await assert.rejects(connectTo(echo.port, { timeoutMs: 2000 }));
  });

  test('tls backend greets with its name and SNI, then echoes', async (t) => {
    const leaf = testCert(['*.wild.test']);
    const backend = await startTlsServer({ key: leaf.key, cert: leaf.cert, name: 'W' });
    t.after(() => backend.close());
    const s = await connectTls(backend.port, { servername: 'a.wild.test', ca: [leaf.ca] });
    t.after(() => s.destroy());
    const greeting = await readUntil(s, (b) => b.includes('\n'));
    assert.equal(greeting.toString(), 'W sni=a.wild.test\n');
    s.write('abc');
    assert.equal((await readUntil(s, (b) => b.length >= 3)).toString(), 'abc');
    await assert.rejects(connectTls(backend.port, { servername: 'wild.test', ca: [leaf.ca] }));
  });

  test('http backend echoes method, url, headers and body as JSON', async (t) => {
    const backend = await startHttpServer(undefined, { name: 'H' });
    t.after(() => backend.close());
    const res = await httpRequest(backend.port, {
      method: 'POST', path: '/x?y=1', headers: { 'x-test': 'v', host: 'h.test' }, body: 'data',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'H');
    const body = JSON.parse(res.body) as IEchoResponse;
    assert.equal(body.method, 'POST');
    assert.equal(body.url, '/x?y=1');
    assert.equal(body.headers['x-test'], 'v');
    assert.equal(body.headers.host, 'h.test');
    assert.equal(body.body, 'data');
    assert.equal(backend.requests, 1);
    assert.equal(backend.log[0]?.url, '/x?y=1');
    const custom = await startHttpServer((_req, r) => { r.statusCode = 418; r.end('teapot'); });
    t.after(() => custom.close());
    const c = await httpRequest(custom.port);
    assert.deepEqual([c.status, c.body], [418, 'teapot']);
  });

  test('sink counts bytes received and sends N bytes on connect', async (t) => {
    const sink = await startSinkServer({ sendOnConnect: 300_000, endAfterSend: true });
    t.after(() => sink.close());
    const s = await connectTo(sink.port, { allowHalfOpen: true });
    const reading = readAll(s, { timeoutMs: 5000 });
    await sendBytes(s, 2 * 1024 * 1024);
    s.end();
    await sink.waitForBytes(2 * 1024 * 1024, 5000);
    assert.equal(sink.bytesReceived, 2 * 1024 * 1024);
    assert.equal((await reading).length, 300_000);
    await assert.rejects(sink.waitForBytes(10 * 1024 * 1024, 100), /sink: .* after 100 ms/);
  });

  test('leak helpers: handles return to baseline after close; waitFor is bounded', async () => {
    const tracker = trackTcpHandles();
    const echo = await startTcpEchoServer();
    const s = await connectTo(echo.port);
    assert.ok(tcpHandleCount() >= tracker.baseline + 3, JSON.stringify(activeResources()));
    s.destroy();
    await echo.close();
    await tracker.check(2000);
    await assert.rejects(waitFor(() => false, 50, { message: 'never' }), /within 50 ms: never/);
  });

  test('tools: hasCommand and requireCommand (skip locally, fail in CI)', () => {
    assert.equal(hasCommand('node') || hasCommand(process.execPath.split('/').pop() ?? 'node'), true);
    assert.equal(hasCommand('spx-no-such-command-xyz'), false);
    const skipped: string[] = [];
    const fake = { skip: (m?: string) => void skipped.push(m ?? '') };
    const saved = process.env.CI;
    try {
      process.env.CI = 'true';
      assert.equal(isCI(), true);
      assert.throws(() => requireCommand('spx-no-such-command-xyz', fake), /CI must provide it/);
      delete process.env.CI;
      assert.equal(requireCommand('spx-no-such-command-xyz', fake), false);
      assert.equal(skipped.length, 1);
      assert.equal(requireCommand('node', fake), true);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});
