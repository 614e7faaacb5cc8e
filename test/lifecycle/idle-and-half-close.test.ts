/**
 * Bug 3: `inactivityTimeout` closes an idle connection at the limit, not at the next sweep of
 * `inactivityCheckInterval` (left at its 60 s default here). Bug 6: a half-closed connection
 * (one side sent FIN) that then stays idle is closed, both sides, after `halfCloseTimeout`:
 * a WebSocket client through an HTTP route, an L4 client, an L4 backend. A half-closed
 * connection that still moves bytes is left alone (a client that sends its request and FIN
 * still gets its whole, slow, response).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rig,
  NO_IP_LIMITS,
  freePort,
  get,
  recordCloses,
  reasons,
  scripts,
  waitForCloses,
  delay,
  waitFor,
  websocketAccept,
  websocketRequest,
  closedTotals,
  type CloseEvent,
  type CloseReason,
  type Probe,
  exitWhenDone,
} from './kit.js';
import type { IRouteConfig, SmartProxy } from '../../ts/index.js';

exitWhenDone();

const HOST = 'idle.lifecycle.test';

function l4Route(port: number, backendPort: number): IRouteConfig {
  return { name: 'l4', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } } };
}

function httpRoute(port: number, backendPort: number, websocket = false): IRouteConfig {
  const r: IRouteConfig = { name: 'http', match: { ports: port, domains: HOST }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } } };
  if (websocket) r.action.websocket = { enabled: true };
  return r;
}

/** The client's connection ended within [limit - 5, limit + 500] ms of its t0. */
function assertEndedAt(p: Probe, limitMs: number): void {
  const at = p.endMs;
  assert.ok(at !== undefined, `connection still open: ${p.describe()}`);
  assert.ok(at >= limitMs - 5 && at <= limitMs + 500, `ended at ${Math.round(at)} ms, want ${limitMs}-${limitMs + 500} ms: ${p.describe()}`);
}

async function assertOneClose(proxy: SmartProxy, closes: CloseEvent[], reason: CloseReason): Promise<CloseEvent> {
  await waitForCloses(closes, 1, 1000);
  assert.deepEqual(reasons(closes), [reason]);
  assert.equal(closes[0]!.side, 'proxy', 'a deadline is the proxy ending the connection');
  assert.equal((await closedTotals(proxy)).get(reason), 1, `smartproxy_connections_closed_total{reason="${reason}"} = 1`);
  return closes[0]!;
}

// -------------------------------------------------------------------------------- bug 3

test('bug 3: inactivityTimeout 1000 (check interval at its 60 s default): an idle L4 connection closes at about 1 s', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [l4Route(port, backend.port)], inactivityTimeout: 1000, keepAliveTreatment: 'standard', ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  // t0 = the write: the proxy's last traffic (relaying the echo back) comes after it, so a
  // close at the limit is never seen as early.
  client.send('ping');
  assert.ok(await client.waitText((s) => s === 'ping', 2000), client.describe());
  await client.waitEnded(3000);
  assertEndedAt(client, 1000);
  await assertOneClose(proxy, closes, 'inactivity');
  await waitFor(() => backend.conns[0]!.closed, 1000, { message: 'the backend connection is closed too' });
  await rig.finish();
});

test('bug 3: inactivityTimeout 1000: an idle HTTP keep-alive connection closes at about 1 s after its last response', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [httpRoute(port, backend.port)], inactivityTimeout: 1000, keepAliveTreatment: 'standard', ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(get(HOST)); // t0: the last traffic (the response) comes after it
  assert.ok(await client.waitText((s) => s.endsWith('ok'), 2000), client.describe());
  await client.waitEnded(3000);
  assertEndedAt(client, 1000);
  await assertOneClose(proxy, closes, 'inactivity');
  await rig.finish();
});

test('bug 3: traffic postpones the inactivity close; it comes about 1 s after the last byte', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [l4Route(port, backend.port)], inactivityTimeout: 1000, keepAliveTreatment: 'standard', ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  // A byte every 400 ms for 2 s: never 1 s idle.
  for (let i = 0; i < 5; i++) {
    if (i > 0) await delay(400);
    client.send('.'); // t0 = the last write
    assert.equal(client.ended, false, `closed while busy: ${client.describe()}`);
  }
  await waitFor(() => client.data.length === 5, 1000);
  await client.waitEnded(3000);
  // The limit runs from the last traffic (the last echo, just after the last write).
  assertEndedAt(client, 1000);
  await assertOneClose(proxy, closes, 'inactivity');
  await rig.finish();
});

test("bug 3: under keepAliveTreatment 'extended' the limit is inactivityTimeout x keepAliveInactivityMultiplier (600 x 2)", async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echo(), { allowHalfOpen: false });
  const port = await freePort();
  const proxy = await rig.proxy({
    routes: [l4Route(port, backend.port)],
    inactivityTimeout: 600,
    keepAliveTreatment: 'extended',
    keepAliveInactivityMultiplier: 2,
    ...NO_IP_LIMITS,
  });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send('ping');
  assert.ok(await client.waitText((s) => s === 'ping', 2000), client.describe());
  await client.waitEnded(3000);
  assertEndedAt(client, 1200);
  await assertOneClose(proxy, closes, 'inactivity');
  await rig.finish();
});

// -------------------------------------------------------------------------------- bug 6

test('bug 6: a WebSocket client that half-closes and goes silent (backend ignores the FIN) is closed after halfCloseTimeout', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.afterFirstHead(websocketAccept));
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [httpRoute(port, backend.port, true)], halfCloseTimeout: 1000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port, { allowHalfOpen: true });
  client.send(websocketRequest(HOST));
  assert.ok(await client.waitHead(2000), client.describe());
  assert.equal(client.status, 101);
  client.socket.end(); // FIN, then silence
  client.mark();
  await client.waitEnded(3000);
  assertEndedAt(client, 1000);
  const ev = await assertOneClose(proxy, closes, 'half_close_timeout');
  assert.ok(ev.at - client.t0 >= 995, 'the record closed at the deadline, not before');
  // The backend socket went with it: a byte written by the backend now is answered with RST.
  assert.ok(await backend.conns[0]!.peerGone(1000), 'the proxy closed its backend socket');
  await rig.finish();
});

test('bug 6: an L4 client that half-closes and goes silent (backend ignores the FIN) is closed after halfCloseTimeout', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.echoIgnoringFin());
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [l4Route(port, backend.port)], halfCloseTimeout: 1000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port, { allowHalfOpen: true });
  client.send('hello', false);
  assert.ok(await client.waitText((s) => s === 'hello', 2000), client.describe());
  client.socket.end();
  client.mark();
  await waitFor(() => backend.conns[0]!.endAt !== undefined, 1000, { message: "the client's FIN reaches the backend" });
  await client.waitEnded(3000);
  assertEndedAt(client, 1000);
  await assertOneClose(proxy, closes, 'half_close_timeout');
  assert.ok(await backend.conns[0]!.peerGone(1000), 'the proxy closed its backend socket');
  await rig.finish();
});

test('bug 6: an L4 backend that half-closes and goes silent (client ignores the FIN) is closed after halfCloseTimeout', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend((c) => {
    c.write('220 banner\r\n');
    c.socket.end();
  });
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [l4Route(port, backend.port)], halfCloseTimeout: 1000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port, { allowHalfOpen: true });
  assert.ok(await client.waitEnded(2000), `the backend's FIN reaches the client: ${client.describe()}`);
  client.t0 = client.finAt!;
  const ev = (await waitForCloses(closes, 1, 3000))[0]!;
  const at = ev.at - client.t0;
  assert.ok(at >= 995 && at <= 1500, `record closed ${Math.round(at)} ms after the FIN, want 1000-1500 ms`);
  await assertOneClose(proxy, closes, 'half_close_timeout');
  assert.ok(await client.peerGone(1000), 'the proxy closed the client socket (a byte written now is answered with RST)');
  await rig.finish();
});

test('half-close with traffic is not idle: a client that sends its request and FIN gets a slow 2 s response in full', async (t) => {
  const rig = Rig.open(t);
  // After the client's FIN, the backend answers a byte every 400 ms for 2 s, then FIN.
  const backend = await rig.backend((c) => {
    c.socket.once('end', () => {
      let n = 0;
      const timer = setInterval(() => {
        if (c.socket.destroyed) return clearInterval(timer);
        c.write(String(n));
        if (++n === 5) {
          clearInterval(timer);
          c.socket.end();
        }
      }, 400);
      c.socket.once('close', () => clearInterval(timer));
    });
  });
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [l4Route(port, backend.port)], halfCloseTimeout: 1000, ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port, { allowHalfOpen: true });
  client.socket.end('request');
  client.mark();
  assert.ok(await client.waitEnded(4000), client.describe());
  assert.equal(client.text(), '01234', 'the whole response arrived');
  assert.ok(client.endMs! >= 1900, `ended by the backend's FIN after its last byte (${Math.round(client.endMs!)} ms)`);
  await waitForCloses(closes, 1, 1000);
  assert.notEqual(closes[0]!.reason, 'half_close_timeout');
  await rig.finish();
});
