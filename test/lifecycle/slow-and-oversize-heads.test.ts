/**
 * Issue 14's slowloris, oversize-head and early-answer cases with real sockets: each closes its
 * own connection on time, forwards nothing it should not, and leaves the proxy's books and the
 * process's resources at their baseline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rig, NO_IP_LIMITS, freePort, recordCloses, reasons, scripts, waitForCloses, exitWhenDone } from './kit.js';
import type { IRouteConfig } from '../../ts/index.js';

exitWhenDone();

const HOST = 'slow.lifecycle.test';

function route(port: number, backendPort: number, extra: Partial<IRouteConfig> = {}): IRouteConfig {
  return { name: 'slow', match: { ports: port, domains: HOST }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } }, ...extra };
}

test('slowloris: a first head dribbled one byte every 300 ms is answered 408 at headersTimeout from its first byte (bytes never re-arm it)', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], headersTimeout: 1500, initialDataTimeout: 60_000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  const head = `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: ${'z'.repeat(60)}`;
  client.mark();
  client.socket.write(head[0]!); // the first byte now: the deadline counts from it
  let i = 1;
  const timer = setInterval(() => {
    if (i < head.length && !client.socket.destroyed) client.socket.write(head[i++]!);
  }, 300);
  t.after(() => clearInterval(timer));
  await client.waitEnded(4000);
  clearInterval(timer);
  assert.equal(client.status, 408, client.describe());
  assert.ok(client.statusMs! >= 1495 && client.statusMs! <= 1800, `408 at ${Math.round(client.statusMs!)} ms`);
  assert.ok(i < head.length, 'the head was still unfinished');
  await waitForCloses(closes, 1, 1000);
  assert.deepEqual(reasons(closes), ['headers_timeout']);
  assert.equal(backend.conns.length, 0);
  await rig.finish();
});

test('an oversize head: 431 at once; a client that keeps sending is read and dropped for at most the lingering bound (halfCloseTimeout)', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], halfCloseTimeout: 1000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port, { allowHalfOpen: true });
  client.mark();
  client.send(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'b'.repeat(20_000)}`);
  // keeps sending "header" bytes, as an attacker would, after the answer
  const timer = setInterval(() => {
    if (!client.socket.destroyed) client.socket.write('GET /smuggled HTTP/1.1\r\n');
  }, 100);
  t.after(() => clearInterval(timer));
  assert.ok(await client.waitText((s) => s.includes('\r\n\r\n'), 2000), client.describe());
  assert.equal(client.status, 431);
  assert.ok(client.statusMs! < 500, `431 at ${Math.round(client.statusMs!)} ms`);
  // the proxy has sent its FIN; the client never ends its side but keeps writing: still closed
  await waitForCloses(closes, 1, 4000);
  clearInterval(timer);
  const closedAt = closes[0]!.at - client.t0;
  assert.ok(closedAt >= 950 && closedAt <= 1500, `closed ${Math.round(closedAt)} ms after the head (lingering bound 1000 ms)`);
  assert.equal(backend.conns.length, 0, 'nothing reached a backend');
  assert.deepEqual(reasons(closes), ['protocol_error']);
  await rig.finish();
});

test('an early answer (401) never parses the unread body as a request: the body that looks like one reaches nobody', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({
    routes: [route(port, backend.port, { security: { basicAuth: { users: [{ username: 'u', password: 'p' }] } } })],
    ...NO_IP_LIMITS,
  });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  const smuggled = `GET /admin HTTP/1.1\r\nHost: ${HOST}\r\nAuthorization: Basic ${Buffer.from('u:p').toString('base64')}\r\n\r\n`;
  const body = smuggled.repeat(2000);
  client.send(`POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${body.length}\r\n\r\n`);
  assert.ok(await client.waitText((s) => s.includes('\r\n\r\n'), 2000), client.describe());
  assert.equal(client.status, 401);
  client.send(body);
  client.socket.end();
  await client.waitEnded(3000);
  const answers = client.data.toString('latin1').match(/HTTP\/1\.1 \d{3}/g) ?? [];
  assert.deepEqual(answers, ['HTTP/1.1 401'], 'one answer only: the body got none of its own');
  assert.equal(backend.conns.length, 0, 'nothing reached a backend');
  await waitForCloses(closes, 1, 1000);
  assert.deepEqual(reasons(closes), ['auth_failed']);
  await rig.finish();
});
