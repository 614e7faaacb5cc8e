/**
 * Contract: bytes are counted on the client-facing socket as they cross the wire, TLS records
 * included. After terminateTls wraps record.client in a TLSSocket, record.bytesIn()/bytesOut()
 * must still equal what the client's own raw TCP socket wrote/read. (They do: net.Socket's
 * bytesRead/bytesWritten read the TCP handle's counters, which the TLS engine writes through.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { testCert } from '../helpers/certs.js';
import { sendBytes } from '../helpers/clients.js';
import { waitFor } from '../helpers/leaks.js';
import { startTerminator, terminateRoute } from './terminator.js';

for (const [version, n] of [['TLSv1.3', 1_000_000], ['TLSv1.2', 300_000], ['TLSv1.3', 1]] as const) {
  test(`terminated ${version}: record counts equal the client's raw TCP counts (${n} bytes echoed)`, async (t) => {
    const cert = testCert('count.test');
    const term = await startTerminator(t, [terminateRoute('count', 'count.test', cert)]);
    const raw = net.connect({ port: term.port, host: '127.0.0.1' });
    raw.on('error', () => {});
    const client = tls.connect({ socket: raw, servername: 'count.test', ca: [cert.ca], minVersion: version, maxVersion: version });
    client.on('error', () => {});
    t.after(() => client.destroy());
    await new Promise<void>((resolve, reject) => {
      client.once('secureConnect', resolve);
      client.once('error', reject);
    });
    let echoed = 0;
    client.on('data', (d: Buffer) => (echoed += d.length));
    await sendBytes(client, n);
    await waitFor(() => echoed === n, 10_000);
    const record = term.records[0]!;
    // mid-connection, once the wire is quiet: equal both ways
    await waitFor(() => record.bytesIn() === raw.bytesWritten && record.bytesOut() === raw.bytesRead, 3000, {
      message: () => `in ${record.bytesIn()} vs client wrote ${raw.bytesWritten}; out ${record.bytesOut()} vs client read ${raw.bytesRead}`,
    });
    assert.ok(record.bytesIn() > n, 'TLS records and the handshake are counted, not just the payload');
    // after both sides closed (close_notify alerts included), still exact
    client.end();
    await new Promise<void>((resolve) => raw.once('close', () => resolve()));
    await term.allClosed();
    assert.equal(record.client.destroyed, true);
    assert.equal(record.bytesIn(), raw.bytesWritten);
    assert.equal(record.bytesOut(), raw.bytesRead);
  });
}
