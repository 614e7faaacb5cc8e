/**
 * Server-speaks-first protocols (SMTP, MySQL, SSH banners) on every L4 port: where no route
 * needs the client's first bytes, the backend is connected at once and its banner reaches a
 * client that has sent nothing. Bug 7: also with `acceptProxyProtocol` on, for a client that
 * is not in `proxyIPs`; and such a client that then sends a PROXY header is closed, the
 * header never reaching the backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rig,
  NO_IP_LIMITS,
  freePort,
  recordCloses,
  reasons,
  scripts,
  waitForCloses,
  delay,
  type LifecycleOptions,
  exitWhenDone,
} from './kit.js';
import type { IRouteConfig } from '../../ts/index.js';

exitWhenDone();

const BANNER = '220 smtp.lifecycle.test ESMTP ready\r\n';

function forward(port: number, backendPort: number, extra: Partial<IRouteConfig> = {}, action: Partial<IRouteConfig['action']> = {}): IRouteConfig {
  return {
    name: 'smtp',
    match: { ports: port },
    action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort }, ...action },
    ...extra,
  };
}

const V2_SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function proxyV1(): Buffer {
  return Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\r\n', 'latin1');
}

function proxyV2(): Buffer {
  const b = Buffer.alloc(28);
  V2_SIG.copy(b);
  b[12] = 0x21;
  b[13] = 0x11;
  b.writeUInt16BE(12, 14);
  Buffer.from([203, 0, 113, 7]).copy(b, 16);
  Buffer.from([127, 0, 0, 1]).copy(b, 20);
  b.writeUInt16BE(40000, 24);
  b.writeUInt16BE(25, 26);
  return b;
}

interface Case {
  name: string;
  options: (port: number, backendPort: number) => LifecycleOptions;
  /** Bytes the client sends first (a trusted proxy's PROXY header); nothing by default. */
  preamble?: Buffer;
}

const cases: Case[] = [
  { name: 'a plain L4 forward', options: (p, b) => ({ routes: [forward(p, b)] }) },
  {
    name: 'bug 7: acceptProxyProtocol on, client not in proxyIPs',
    options: (p, b) => ({ routes: [forward(p, b)], acceptProxyProtocol: true, proxyIPs: ['192.0.2.10'] }),
  },
  {
    name: 'acceptProxyProtocol on, a trusted proxy that sends its PROXY header and then nothing',
    options: (p, b) => ({ routes: [forward(p, b)], acceptProxyProtocol: true, proxyIPs: ['127.0.0.1'] }),
    preamble: proxyV1(),
  },
  {
    name: 'routes told apart by client IP only',
    options: (p, b) => ({
      routes: [
        forward(p, b, { name: 'local', match: { ports: p, clientIp: ['127.0.0.1'] } }),
        forward(p, 1, { name: 'others', match: { ports: p, clientIp: ['10.0.0.0/8'] } }),
      ],
    }),
  },
  { name: "a route that sends a PROXY header upstream (sendProxyProtocol 'v1')", options: (p, b) => ({ routes: [forward(p, b, {}, { sendProxyProtocol: 'v1' })] }) },
  {
    name: "a '*' route forced to L4 (action.protocol 'tcp')",
    options: (p, b) => ({ routes: [forward(p, b, { match: { ports: p, domains: '*' } }, { protocol: 'tcp' })] }),
  },
];

for (const c of cases) {
  test(`server speaks first: the banner reaches a silent client at once (${c.name})`, async (t) => {
    const rig = Rig.open(t);
    const backend = await rig.backend(scripts.banner(BANNER), { allowHalfOpen: false });
    const port = await freePort();
    await rig.proxy({ ...c.options(port, backend.port), ...NO_IP_LIMITS });
    const client = await rig.connect(port);
    if (c.preamble) client.socket.write(c.preamble);
    const got = await client.waitText((s) => s.includes(BANNER), 1500);
    assert.ok(got, `banner received without sending anything: ${client.describe()}`);
    const ms = client.firstByteAt! - client.connectedAt;
    assert.ok(ms < 300, `banner after ${Math.round(ms)} ms, want < 300 ms`);
    // And the conversation goes on both ways.
    client.socket.write('EHLO client\r\n');
    assert.ok(await client.waitText((s) => s.endsWith('EHLO client\r\n'), 1000), client.describe());
    client.destroy();
    await rig.finish();
  });
}

for (const [version, header] of [
  ['v1', proxyV1()],
  ['v2', proxyV2()],
] as const) {
  test(`bug 7: a client not in proxyIPs that sends a PROXY ${version} header as its first bytes is closed; the header never reaches the backend`, async (t) => {
    const rig = Rig.open(t);
    const backend = await rig.backend(scripts.banner(BANNER), { allowHalfOpen: false });
    const port = await freePort();
    const proxy = await rig.proxy({ routes: [forward(port, backend.port)], acceptProxyProtocol: true, proxyIPs: ['192.0.2.10'], ...NO_IP_LIMITS });
    const closes = recordCloses(proxy);
    const client = await rig.connect(port);
    assert.ok(await client.waitText((s) => s.includes(BANNER), 1500), `banner first: ${client.describe()}`);
    client.send(header);
    assert.ok(await client.waitEnded(1000), `closed: ${client.describe()}`);
    assert.ok(client.endMs! < 500, `closed ${Math.round(client.endMs!)} ms after the header`);
    await delay(50);
    const received = backend.conns.map((b) => b.received.toString('latin1')).join('');
    assert.ok(!received.includes('PROXY') && !Buffer.from(received, 'latin1').includes(V2_SIG), `the backend saw none of the header: ${JSON.stringify(received)}`);
    await waitForCloses(closes, 1, 1000);
    assert.deepEqual(reasons(closes), ['protocol_error']);
    await rig.finish();
  });
}
