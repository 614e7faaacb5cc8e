/**
 * A misbehaving backend behind an HTTP-level route becomes an answer at once: a close or
 * reset before the response head, an invalid head, a flood of 1xx, an oversized head -> 502
 * and the client connection closed; a body cut short -> the client connection closed (never
 * reused); a client that never reads a huge response -> the proxy buffers a bounded amount.
 * Every case checks (a) the client's answer, (b) how long it took, (c) that the proxy's
 * books empty and the process's resources return to their baseline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rig,
  NO_IP_LIMITS,
  answerOf,
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
  type BackendConn,
  type CloseReason,
  type ConnectionScript,
  type TestContextLike,
  exitWhenDone,
} from './kit.js';
import type { IRouteConfig } from '../../ts/index.js';

exitWhenDone();

const HOST = 'app.lifecycle.test';

function route(port: number, backendPort: number): IRouteConfig {
  return { name: 'app', match: { ports: port, domains: HOST }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } } };
}

interface FaultRun {
  rig: Rig;
  status: number | undefined;
  statuses: number[];
  statusMs: number | undefined;
  endMs: number | undefined;
  describe: string;
  closeReasons: Array<string | undefined>;
  totals: Map<string, number>;
}

/**
 * One client request (keep-alive) through a proxy to a backend running `script`; waits up to
 * `waitMs` for the client connection to end, then collects the close event and counters and
 * runs the rig's leak checks.
 */
async function runFault(t: TestContextLike, script: ConnectionScript, waitMs = 3000, request = get(HOST)): Promise<FaultRun> {
  const rig = Rig.open(t);
  const backend = await rig.backend(script);
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
  const closes = recordCloses(proxy);
  const client = await rig.connect(port);
  client.send(request);
  const a = await answerOf(client, waitMs);
  // The connection is over for the client: its record must go too.
  if (a.endMs !== undefined) await waitForCloses(closes, 1, 1000).catch(() => undefined);
  const totals = await closedTotals(proxy);
  client.destroy();
  return { rig, status: a.status, statuses: client.statuses(), statusMs: a.statusMs, endMs: a.endMs, describe: a.describe, closeReasons: reasons(closes), totals };
}

/** 502 within `withinMs` of the request, the connection ended right after. */
function assert502(r: FaultRun, withinMs = 500): void {
  assert.equal(r.status, 502, `expected 502: ${r.describe}`);
  assert.ok(r.statusMs !== undefined && r.statusMs < withinMs, `502 within ${withinMs} ms: ${r.describe}`);
  assert.ok(r.endMs !== undefined && r.endMs < withinMs + 200, `connection closed right after the 502: ${r.describe}`);
}

function assertReason(r: FaultRun, allowed: CloseReason[]): void {
  assert.equal(r.closeReasons.length, 1, `one connection:close event: ${JSON.stringify(r.closeReasons)}`);
  assert.ok(allowed.includes(r.closeReasons[0] as CloseReason), `close reason ${String(r.closeReasons[0])} in ${allowed.join('|')}`);
  const counted = allowed.reduce((n, reason) => n + (r.totals.get(reason) ?? 0), 0);
  assert.equal(counted, 1, `smartproxy_connections_closed_total{reason in ${allowed.join('|')}} = 1: ${JSON.stringify([...r.totals])}`);
}

test('bug 1: a backend that accepts and closes at once without a byte -> 502 at once, then close', async (t) => {
  const r = await runFault(t, (c) => c.socket.end());
  assert502(r);
  assertReason(r, ['backend_closed']);
  await r.rig.finish();
});

test('bug 1: a backend that reads the request and closes without a byte -> 502 at once, then close', async (t) => {
  const r = await runFault(t, scripts.afterFirstHead((c) => c.socket.end()));
  assert502(r);
  assertReason(r, ['backend_closed']);
  await r.rig.finish();
});

const MID_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/pl';
const faultsAroundHead: Array<{ name: string; script: ConnectionScript; allowed: CloseReason[] }> = [
  { name: 'FIN before the response head', script: scripts.afterFirstHead((c) => c.socket.end()), allowed: ['backend_closed'] },
  { name: 'RST before the response head', script: scripts.afterFirstHead((c) => c.socket.resetAndDestroy()), allowed: ['reset', 'backend_closed'] },
  {
    name: 'FIN in the middle of the response head',
    script: scripts.afterFirstHead((c) => {
      c.write(MID_HEAD);
      c.socket.end();
    }),
    allowed: ['backend_closed', 'backend_invalid'],
  },
  {
    name: 'RST in the middle of the response head',
    script: scripts.afterFirstHead((c) => {
      c.write(MID_HEAD);
      setTimeout(() => c.socket.resetAndDestroy(), 50);
    }),
    allowed: ['reset', 'backend_closed', 'backend_invalid'],
  },
];
for (const f of faultsAroundHead) {
  test(`bug 4: backend ${f.name} -> 502 at once, then close`, async (t) => {
    const r = await runFault(t, f.script);
    assert502(r);
    assertReason(r, f.allowed);
    await r.rig.finish();
  });
}

const invalidHeads: Array<{ name: string; head: string }> = [
  { name: 'not HTTP at all', head: 'SSH-2.0-OpenSSH_9.2\r\n\r\n' },
  { name: 'a status code that is not three digits', head: 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n' },
  { name: 'a header line without a colon', head: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis is no header\r\n\r\nok' },
  { name: 'conflicting Content-Length values', head: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok' },
];
for (const h of invalidHeads) {
  // The backend keeps its connection open: the 502 must come from the head itself.
  test(`an invalid response head (${h.name}) -> 502 at once, then close`, async (t) => {
    const r = await runFault(t, scripts.afterFirstHead((c) => c.write(h.head)));
    assert502(r);
    assertReason(r, ['backend_invalid']);
    await r.rig.finish();
  });
}

test('a flood of 1xx interim responses (10,000 x 100 Continue, no final one) -> 502, then close', async (t) => {
  const flood = 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(10_000);
  const r = await runFault(t, scripts.afterFirstHead((c) => c.write(flood)));
  assert.equal(r.statuses.at(-1), 502, `the last status the client saw is 502: ${r.describe}`);
  assert.ok(r.statuses.slice(0, -1).every((s) => s >= 100 && s < 200), 'anything before it is an interim response');
  assert.ok(r.statuses.length <= 1000, `interim responses relayed to the client are bounded (${r.statuses.length - 1})`);
  assert.ok(r.endMs !== undefined && r.endMs < 1000, `closed within 1 s: ${r.describe}`);
  assertReason(r, ['backend_invalid']);
  await r.rig.finish();
});

test('a response head over the size limit (80 KiB of headers) -> 502 at once, then close', async (t) => {
  let big = 'HTTP/1.1 200 OK\r\n';
  for (let i = 0; big.length < 80 * 1024; i++) big += `X-Pad-${i}: ${'p'.repeat(64)}\r\n`;
  big += 'Content-Length: 2\r\n\r\nok';
  const r = await runFault(t, scripts.afterFirstHead((c) => c.write(big)));
  assert502(r);
  assertReason(r, ['backend_invalid']);
  await r.rig.finish();
});

const shortBodies: Array<{ name: string; send: (c: BackendConn) => void }> = [
  {
    name: 'Content-Length 1000, 100 bytes, FIN',
    send: (c) => {
      c.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'b'.repeat(100)}`);
      setTimeout(() => {
        c.faultAt = performance.now();
        c.socket.end();
      }, 100);
    },
  },
  {
    name: 'Content-Length 1000, 100 bytes, RST',
    send: (c) => {
      c.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'b'.repeat(100)}`);
      setTimeout(() => {
        c.faultAt = performance.now();
        c.socket.resetAndDestroy();
      }, 100);
    },
  },
  {
    name: 'chunked, one chunk and no last chunk, FIN',
    send: (c) => {
      c.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n${'b'.repeat(100)}\r\n`);
      setTimeout(() => {
        c.faultAt = performance.now();
        c.socket.end();
      }, 100);
    },
  },
];
for (const s of shortBodies) {
  test(`bug 4: a body shorter than announced (${s.name}) -> the client connection is closed at once`, async (t) => {
    const rig = Rig.open(t);
    const backend = await rig.backend(scripts.afterFirstHead(s.send));
    const port = await freePort();
    const proxy = await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
    const closes = recordCloses(proxy);
    const client = await rig.connect(port);
    client.send(get(HOST));
    assert.ok(await client.waitHead(2000), `response head relayed: ${client.describe()}`);
    assert.equal(client.status, 200);
    await backend.waitConnections(1);
    const conn = backend.conns[0]!;
    await waitFor(() => conn.faultAt !== undefined, 2000);
    const faultAt = conn.faultAt!;
    const ended = await client.waitEnded(1500);
    assert.ok(ended, `client connection closed after the truncated body (never left open for reuse): ${client.describe()}`);
    const lag = (client.finAt ?? client.closeAt!) - faultAt;
    assert.ok(lag < 500, `closed within 500 ms of the backend's close (${Math.round(lag)} ms)`);
    // Never reused: nothing else arrives, and a request written now gets no answer.
    assert.equal(client.statuses().length, 1);
    await waitForCloses(closes, 1, 1000);
    client.destroy();
    await rig.finish();
  });
}

test('a client that never reads a 200 MiB response: the bytes the proxy takes from the backend stay bounded', { timeout: 30_000 }, async (t) => {
  const TOTAL = 200 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  const rig = Rig.open(t);
  let writing = true;
  const backend = await rig.backend(
    scripts.afterFirstHead((c) => {
      c.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${TOTAL}\r\n\r\n`);
      const chunk = Buffer.alloc(CHUNK, 0x62);
      let sent = 0;
      const pumpMore = (): void => {
        while (writing && sent < TOTAL && !c.socket.destroyed) {
          sent += CHUNK;
          if (!c.write(chunk)) {
            c.socket.once('drain', pumpMore);
            return;
          }
        }
      };
      pumpMore();
    }),
  );
  t.after(() => (writing = false));
  const port = await freePort();
  await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
  const client = await rig.connect(port);
  client.socket.pause(); // never reads
  client.send(get(HOST, '/huge'));
  await backend.waitConnections(1);
  const conn = backend.conns[0]!;
  // Wait until the backend's writes stall (no progress for 500 ms), bounded at 10 s.
  let last = -1;
  const started = performance.now();
  while (performance.now() - started < 10_000) {
    await delay(500);
    if (conn.bytesFlushed === last) break;
    last = conn.bytesFlushed;
  }
  const flushed = conn.bytesFlushed;
  t.diagnostic(`backend flushed ${(flushed / 1024 / 1024).toFixed(1)} MiB to a client that reads nothing`);
  assert.ok(flushed > 0, 'the response started');
  assert.ok(flushed < 16 * 1024 * 1024, `bounded: ${(flushed / 1024 / 1024).toFixed(1)} MiB of 200 MiB (kernel buffers included) must stay under 16 MiB`);
  await delay(500);
  assert.equal(conn.bytesFlushed, flushed, 'and it does not grow');
  // The client leaves: the backend connection goes with it.
  client.destroy();
  await waitFor(() => conn.closed, 2000, { message: 'backend socket closed after the client left' });
  writing = false;
  await rig.finish();
});

test('control: a healthy backend answers through the same rig (200, connection kept alive)', async (t) => {
  const rig = Rig.open(t);
  const backend = await rig.backend(scripts.answerEachRequest(() => okResponse('hello')));
  const port = await freePort();
  const proxy = await rig.proxy({ routes: [route(port, backend.port)], ...NO_IP_LIMITS });
  const client = await rig.connect(port);
  client.send(get(HOST));
  assert.ok(await client.waitText((s) => s.endsWith('hello'), 2000), client.describe());
  assert.equal(client.status, 200);
  assert.equal(client.ended, false, 'kept alive');
  assert.equal(proxy.getStats().connections.active(), 1);
  client.destroy();
  await rig.finish();
});
