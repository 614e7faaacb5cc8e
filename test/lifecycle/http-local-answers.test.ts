/**
 * The answers an HTTP-level port gives itself, each a short response followed by close, on
 * time: 504 for a backend that never answers (responseTimeout) or never completes its TCP
 * handshake (connectionTimeout), 502 for a refused connect, 408 for a request head that does
 * not complete within headersTimeout, 404 for a Host no route names (also on a port whose
 * other routes are socket handlers), 403 and 429 for refusals. Each case checks the answer,
 * its timing, the close reason, and that the books empty and resources return to baseline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rig,
  NO_IP_LIMITS,
  closedTotals,
  freePort,
  get,
  okResponse,
  recordCloses,
  reasons,
  scripts,
  waitForCloses,
  delay,
  waitFor,
  type CloseEvent,
  type CloseReason,
  type Probe,
  exitWhenDone,
} from './kit.js';
import { runCurl } from '../helpers/clients.js';
import { requireCommand } from '../helpers/tools.js';
import { createHttpToHttpsRedirect, SocketHandlers, type IRouteConfig, type SmartProxy } from '../../ts/index.js';

exitWhenDone();

const HOST = 'app.lifecycle.test';

function route(port: number, backendPort: number, extra: Partial<IRouteConfig> = {}): IRouteConfig {
  return { name: 'app', match: { ports: port, domains: HOST }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } }, ...extra };
}

/** Status `status`, seen within [minMs, maxMs] of t0, and the connection ended right after. */
function assertAnswer(p: Probe, status: number, minMs: number, maxMs: number): void {
  assert.equal(p.status, status, `expected ${status}: ${p.describe()}`);
  const at = p.statusMs!;
  assert.ok(at >= minMs && at <= maxMs, `${status} at ${Math.round(at)} ms, want ${minMs}-${maxMs} ms: ${p.describe()}`);
  assert.ok(p.endMs !== undefined && p.endMs - at < 200, `closed right after the ${status}: ${p.describe()}`);
}

async function assertReason(proxy: SmartProxy, closes: CloseEvent[], allowed: CloseReason[], count = 1): Promise<void> {
  await waitForCloses(closes, count, 1000);
  assert.ok(
    closes.every((c) => allowed.includes(c.reason as CloseReason)),
    `close reasons ${JSON.stringify(reasons(closes))} in ${allowed.join('|')}`,
  );
  const totals = await closedTotals(proxy);
  const counted = allowed.reduce((n, r) => n + (totals.get(r) ?? 0), 0);
  assert.equal(counted, count, `smartproxy_connections_closed_total{reason in ${allowed.join('|')}}: ${JSON.stringify([...totals])}`);
}

test('responseTimeout: a backend that takes the request and never answers -> 504 at about responseTimeout, then close', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.silent());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], responseTimeout: 1000, socketTimeout: 30_000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(get(HOST));
  await client.waitEnded(3000);
  assertAnswer(client, 504, 995, 1250);
  await assertReason(proxy, closes, ['response_timeout']);
  assert.equal(closes[0]!.side, 'proxy');
  await backend.waitConnections(1);
  const conn = backend.conns[0]!;
  await waitFor(() => conn.endAt !== undefined || conn.closed, 1000, { message: 'the silent backend connection is closed with the 504' });
  assert.ok(await conn.peerGone(1000), 'the proxy closed its upstream socket (never pooled)');
  await rig.finish();
});

test('responseTimeout counts from the request sent upstream: a slow upload is not cut by it', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(
    scripts.afterFirstHead((c) => {
      void c.until((s) => s.endsWith('x'.repeat(10)), 5000).then(() => c.write(okResponse('done')), () => undefined);
    }),
  );
  const port = await freePort();
  await rig.proxy({ routes: [route(port, backend.port)], responseTimeout: 800, ...NO_IP_LIMITS });
  const client = await rig.connect(port);
  client.send(`POST /up HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 10\r\n\r\n`);
  // The body trickles over 1.5 s, longer than responseTimeout: the clock starts after its last byte.
  for (let i = 0; i < 10; i++) {
    await delay(150);
    client.socket.write('x');
  }
  assert.ok(await client.waitText((s) => s.endsWith('done'), 2000), client.describe());
  assert.equal(client.status, 200);
  client.destroy();
  await rig.finish();
});

test('connectionTimeout: a backend whose TCP handshake never completes -> 504 at about connectionTimeout, then close', async (t) => {
  const rig = Rig.open(t);
  const hole = await rig.blackHole();
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, hole.port)], connectionTimeout: 1000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(get(HOST));
  await client.waitEnded(3000);
  assertAnswer(client, 504, 995, 1250);
  await assertReason(proxy, closes, ['connect_timeout']);
  await rig.finish();
});

test('a refused backend connect -> 502 at once, then close', async (t) => {
  const rig = Rig.open(t);
  const dead = await freePort();
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, dead)], ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(get(HOST));
  await client.waitEnded(2000);
  assertAnswer(client, 502, 0, 500);
  await assertReason(proxy, closes, ['connect_refused']);
  await rig.finish();
});

test('headersTimeout: the first request head of a connection, stalled after its Host line -> 408 at headersTimeout from its first byte, then close', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  // initialDataTimeout is far off: the request-head deadline (the earlier one) must answer.
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], headersTimeout: 1000, initialDataTimeout: 10_000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  await delay(300); // connected and idle before the first byte: the clock starts at the first byte
  client.send(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`);
  await client.waitEnded(3000);
  assertAnswer(client, 408, 995, 1250);
  await assertReason(proxy, closes, ['headers_timeout']);
  assert.equal(backend.conns.length, 0, 'nothing reached a backend');
  await rig.finish();
});

test('headersTimeout: a later request head on a kept-alive connection, dribbled a byte every 200 ms -> 408 at headersTimeout from its first byte', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], headersTimeout: 1000, initialDataTimeout: 10_000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(get(HOST));
  assert.ok(await client.waitText((s) => s.endsWith('ok'), 2000), client.describe());
  await delay(300); // idle between requests: not part of the next head's time
  // Bytes keep coming, but the head never completes: the deadline is not reset by them.
  const dribble = `GET /again HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: ${'s'.repeat(40)}`;
  client.data = Buffer.alloc(0);
  client.statusAt = undefined;
  client.send(dribble[0]!);
  let i = 1;
  const timer = setInterval(() => {
    if (i < dribble.length && !client.socket.destroyed) client.socket.write(dribble[i++]!);
  }, 200);
  t.after(() => clearInterval(timer));
  await client.waitEnded(3000);
  clearInterval(timer);
  assertAnswer(client, 408, 995, 1250);
  await assertReason(proxy, closes, ['headers_timeout']);
  assert.equal(backend.conns[0]!.text().split('\r\n\r\n').length - 1, 1, 'only the complete request reached the backend');
  await rig.finish();
});

test('404 and close for a Host no route names', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(get('nobody.lifecycle.test'));
  await client.waitEnded(2000);
  assertAnswer(client, 404, 0, 300);
  await assertReason(proxy, closes, ['route_miss']);
  assert.equal(backend.conns.length, 0, 'no backend was contacted');
  await rig.finish();
});

test('404 and close for an unknown Host on a port whose other routes are socket handlers (HTTP -> HTTPS redirects)', async (t) => {
  const rig = Rig.open(t);
  const port = await freePort();
  const proxy = await rig.proxy({
    routes: [
      createHttpToHttpsRedirect(['a.lifecycle.test'], { port, httpsPort: 8443 }),
      {
        name: 'b-redirect',
        match: { ports: port, domains: ['b.lifecycle.test'] },
        action: { type: 'socket-handler', socketHandler: SocketHandlers.httpRedirect('https://{domain}{path}', 302) },
      },
    ],
    ...NO_IP_LIMITS,
  });
  const closes = recordCloses(proxy);
  // Control: a named Host is redirected.
  const named = await rig.connect(port);
  named.send(get('a.lifecycle.test', '/x'));
  await named.waitEnded(2000);
  assert.equal(named.status, 301, named.describe());
  assert.match(named.text(), /\r\nLocation: https:\/\/a\.lifecycle\.test:8443\/x\r\n/i);
  // The miss: 404 at once and closed (never left waiting for a handler).
  const miss = await rig.connect(port);
  miss.send(get('c.lifecycle.test', '/x'));
  await miss.waitEnded(2000);
  assertAnswer(miss, 404, 0, 300);
  await waitForCloses(closes, 2, 1000);
  assert.equal(closes.filter((c) => c.reason === 'route_miss').length, 1, `one route_miss among ${JSON.stringify(reasons(closes))}`);
  await rig.finish();
});

test('curl: 404 for an unknown Host on a redirect-only port, and curl is not left waiting', async (t) => {
  if (!requireCommand('curl', t)) return;
  const rig = Rig.open(t);
  const port = await freePort();
  await rig.proxy({ routes: [createHttpToHttpsRedirect(['a.lifecycle.test'], { port })], ...NO_IP_LIMITS });
  const started = performance.now();
  const r = await runCurl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: other.lifecycle.test', `http://127.0.0.1:${port}/`], { timeoutMs: 5000 });
  const ms = performance.now() - started;
  assert.equal(r.stdout.trim(), '404', `curl: ${r.stdout} ${r.stderr}`);
  assert.ok(ms < 2000, `curl done in ${Math.round(ms)} ms`);
  await rig.finish();
});

test('403 and close for a blocked client IP; no backend contacted', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port, { security: { ipBlockList: ['127.0.0.1'] } })], ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(get(HOST));
  await client.waitEnded(2000);
  assertAnswer(client, 403, 0, 300);
  assert.ok(client.text().length < 1024, 'a short response');
  await assertReason(proxy, closes, ['blocked']);
  assert.equal(backend.conns.length, 0);
  await rig.finish();
});

test('429 and close over a route rate limit; the first request is served', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port, { security: { rateLimit: { maxRequests: 1, windowSeconds: 60 } } })], ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const first = await rig.connect(port);
  first.send(get(HOST, '/', 'Connection: close\r\n'));
  await first.waitEnded(2000);
  assert.equal(first.status, 200, first.describe());
  const second = await rig.connect(port);
  second.send(get(HOST));
  await second.waitEnded(2000);
  assertAnswer(second, 429, 0, 300);
  assert.ok(second.text().length < 1024, 'a short response');
  await waitForCloses(closes, 2, 1000);
  assert.equal(closes.filter((c) => c.reason === 'rate_limited').length, 1, `one rate_limited close: ${JSON.stringify(reasons(closes))}`);
  assert.equal((await closedTotals(proxy)).get('rate_limited'), 1);
  await rig.finish();
});

test('429 and close over a route maxConnections; the holder keeps its connection', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port, { security: { maxConnections: 1 } })], ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const holder = await rig.connect(port);
  holder.send(get(HOST));
  assert.ok(await holder.waitText((s) => s.endsWith('ok'), 2000), holder.describe());
  const second = await rig.connect(port);
  second.send(get(HOST));
  await second.waitEnded(2000);
  assertAnswer(second, 429, 0, 300);
  await waitForCloses(closes, 1, 1000);
  assert.ok(['rate_limited', 'blocked'].includes(closes[0]!.reason ?? ''), `reason ${String(closes[0]!.reason)}`);
  assert.equal(holder.ended, false, 'the holder is still connected');
  holder.destroy();
  await rig.finish();
});
