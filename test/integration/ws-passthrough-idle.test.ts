/**
 * Real time, default timeouts: a WebSocket over TLS passthrough left idle for 35 s still
 * echoes afterwards. Proves the default limits (inactivity, socket timeout, zombie rules)
 * do not cut a quiet but healthy long-lived connection. Takes ~36 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import type * as net from 'node:net';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { startProxy, freePort } from './harness.js';
import { testCert } from '../helpers/certs.js';
import { delay } from '../helpers/leaks.js';

const IDLE_MS = 35_000;

function nextMessage(ws: WebSocket, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(String(data));
    });
  });
}

test('TLS passthrough WebSocket idle for 35 s still echoes (default timeouts)', { timeout: 60_000 }, async (t) => {
  const cert = testCert('ws.example.com');
  const server = https.createServer({ key: cert.key, cert: cert.cert });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data) => ws.send(`echo:${String(data)}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        wss.close();
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const backendPort = (server.address() as net.AddressInfo).port;

  const port = await freePort();
  const proxy = await startProxy(t, {
    routes: [
      {
        name: 'ws',
        match: { ports: port, domains: 'ws.example.com' },
        action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort }, tls: { mode: 'passthrough' } },
      },
    ],
  });
  const closes: unknown[] = [];
  proxy.on('connection:close', (e: unknown) => closes.push(e));

  // `servername` is passed on to tls.connect (SNI and the name the certificate is checked
  // against); @types/ws's ClientOptions lacks it.
  const options: ClientOptions & { servername: string } = { ca: [cert.ca], servername: 'ws.example.com' };
  const ws = new WebSocket(`wss://127.0.0.1:${port}/`, options);
  let closedEarly: string | undefined;
  ws.on('error', (err) => (closedEarly ??= `error: ${err.message}`));
  ws.on('close', (code) => (closedEarly ??= `closed with ${code}`));
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const first = nextMessage(ws);
  ws.send('hello');
  assert.equal(await first, 'echo:hello');
  assert.equal(proxy.connectionCount, 1);

  await delay(IDLE_MS);

  assert.equal(closedEarly, undefined);
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.equal(proxy.connectionCount, 1);
  assert.deepEqual(closes, []);
  const after = nextMessage(ws);
  ws.send('still there?');
  assert.equal(await after, 'echo:still there?');
});
