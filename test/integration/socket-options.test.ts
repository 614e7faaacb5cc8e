/**
 * The contract's TCP keep-alive on both proxy sockets of a connection, read from the kernel
 * with `ss` (the timer column shows an armed keep-alive timer and what is left of it). The
 * client side gets its options from the listening socket (Linux accept() inheritance), the
 * backend side per socket; both must look the same from outside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort } from './harness.js';
import { startTcpEchoServer } from '../helpers/backends.js';
import { connectTo, readUntil, runCommand } from '../helpers/clients.js';
import { requireCommand } from '../helpers/tools.js';

/** `ss` lines for established TCP sockets matching `filter` (an ss filter expression). */
async function ssLines(filter: string): Promise<string[]> {
  const r = await runCommand('ss', ['-tnoH', 'state', 'established', filter]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** Seconds left on a socket's keep-alive timer, or undefined when none is armed. */
function keepAliveSeconds(line: string): number | undefined {
  const m = /timer:\(keepalive,([^,]+),/.exec(line);
  if (!m) return undefined;
  const v = m[1]!;
  // iproute2 prints "1min39sec", "9sec", or (6.x) "2.888ms" for 2.888 s.
  const mins = /(\d+)min/.exec(v);
  const secs = /(\d+)sec/.exec(v);
  if (mins || secs) return Number(mins?.[1] ?? 0) * 60 + Number(secs?.[1] ?? 0);
  const ms = /^([\d.]+)ms$/.exec(v);
  return ms ? Number(ms[1]) : undefined;
}

async function openThrough(t: { after(fn: () => unknown): void }, options: { keepAlive?: boolean; keepAliveInitialDelay?: number }) {
  const echo = await startTcpEchoServer();
  t.after(() => echo.close());
  const port = await freePort();
  await startProxy(t, {
    ...options,
    routes: [{ name: 'echo', match: { ports: port }, action: { type: 'forward', target: { host: '127.0.0.1', port: echo.port } } }],
  });
  const client = await connectTo(port);
  t.after(() => client.destroy());
  client.write('ping');
  await readUntil(client, (b) => b.toString() === 'ping');
  // The proxy's accepted socket has local port `port`; its backend socket has peer port echo.port.
  const [accepted] = await ssLines(`( sport = :${port} )`);
  const [backend] = await ssLines(`( dport = :${echo.port} )`);
  assert.ok(accepted, 'the proxy-side client socket is listed');
  assert.ok(backend, 'the proxy-side backend socket is listed');
  return { accepted, backend };
}

test('keep-alive probes are armed on the client and the backend socket, with keepAliveInitialDelay', async (t) => {
  if (!requireCommand('ss', t)) return;
  const { accepted, backend } = await openThrough(t, { keepAliveInitialDelay: 100_000 });
  for (const [side, line] of [['client', accepted], ['backend', backend]] as const) {
    const left = keepAliveSeconds(line);
    assert.ok(left !== undefined, `${side} socket has a keep-alive timer: ${line}`);
    assert.ok(left > 90 && left <= 100, `${side} socket's first probe is due within keepAliveInitialDelay (${left} s left): ${line}`);
  }
});

test('the default keepAliveInitialDelay (10 s) reaches both sockets', async (t) => {
  if (!requireCommand('ss', t)) return;
  const { accepted, backend } = await openThrough(t, {});
  for (const line of [accepted, backend]) {
    const left = keepAliveSeconds(line);
    assert.ok(left !== undefined && left > 5 && left <= 10, `keep-alive due within 10 s: ${line}`);
  }
});

test('keepAlive: false leaves both sockets without keep-alive probes', async (t) => {
  if (!requireCommand('ss', t)) return;
  const { accepted, backend } = await openThrough(t, { keepAlive: false });
  assert.equal(keepAliveSeconds(accepted), undefined, accepted);
  assert.equal(keepAliveSeconds(backend), undefined, backend);
});

test('a socket-handler can turn keep-alive off on its socket (Node sees the inherited options)', async (t) => {
  if (!requireCommand('ss', t)) return;
  const port = await freePort();
  await startProxy(t, {
    routes: [
      {
        name: 'own',
        match: { ports: port },
        action: {
          type: 'socket-handler',
          socketHandler: (socket) => {
            socket.setKeepAlive(false);
            socket.write('hi');
          },
        },
      },
    ],
  });
  const client = await connectTo(port);
  t.after(() => client.destroy());
  await readUntil(client, (b) => b.toString() === 'hi');
  const [accepted] = await ssLines(`( sport = :${port} )`);
  assert.ok(accepted, 'the proxy-side socket is listed');
  assert.equal(keepAliveSeconds(accepted), undefined, accepted);
});
