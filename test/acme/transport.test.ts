import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { AcmeTransport } from '../../ts/acme/transport.js';
import { SmartProxyError } from '../../ts/core/errors.js';
import { testCert } from '../helpers/certs.js';
import type { TestContextLike } from '../integration/harness.js';

/** An HTTPS server on 127.0.0.1 with a certificate of the test CA: echoes method, content type and body as JSON. */
async function startHttps(t: TestContextLike, handler?: http.RequestListener): Promise<string> {
  const c = testCert(['127.0.0.1']);
  const server = https.createServer({ key: c.key, cert: c.cert }, handler ?? ((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, type: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(201, { 'content-type': 'application/json', 'replay-nonce': 'n1' });
      res.end(body);
    });
  }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

function transport(t: TestContextLike, opts: { ca?: string[]; timeoutMs?: number; signal?: AbortSignal; maxBodyBytes?: number } = {}): AcmeTransport {
  const tr = new AcmeTransport({ caCertificates: opts.ca ?? [], timeoutMs: opts.timeoutMs ?? 5000, signal: opts.signal ?? new AbortController().signal, maxBodyBytes: opts.maxBodyBytes });
  t.after(() => tr.close());
  return tr;
}

const ca = (): string => testCert(['127.0.0.1']).ca;

describe('AcmeTransport', () => {
  test('POST with a JSON body; JSON answers parsed, headers and status passed through', async (t) => {
    const url = await startHttps(t);
    const r = await transport(t, { ca: [ca()] }).request(`${url}/new-order`, 'post', { data: { a: 1 }, headers: { 'Content-Type': 'application/jose+json' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers['replay-nonce'], 'n1');
    assert.deepEqual(r.data, { method: 'POST', type: 'application/jose+json', body: '{"a":1}' });
  });

  test('caCertificates are trusted by that transport only: another transport, the global agent and the process stay strict', async (t) => {
    const url = await startHttps(t);
    const trusting = transport(t, { ca: [ca()] });
    const strict = transport(t);
    await assert.rejects(strict.request(`${url}/dir`, 'get'), (err: unknown) => err instanceof SmartProxyError && err.code === 'SPX_ERR_ACME' && /certificate/i.test(err.message));
    assert.equal((await trusting.request(`${url}/dir`, 'get')).status, 201);
    await assert.rejects(strict.request(`${url}/dir`, 'get'), /certificate/i);
    assert.equal(https.globalAgent.options.ca, undefined);
    await assert.rejects(
      new Promise((resolve, reject) => https.get(`${url}/dir`, resolve).on('error', reject)),
      /certificate/i,
    );
  });

  test('text answers stay text (a PEM chain)', async (t) => {
    const url = await startHttps(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pem-certificate-chain' });
      res.end('-----BEGIN CERTIFICATE-----\n');
    });
    assert.equal((await transport(t, { ca: [ca()] }).request(url, 'post', { data: {} })).data, '-----BEGIN CERTIFICATE-----\n');
  });

  test('a server that never answers: rejected at the deadline', async (t) => {
    const url = await startHttps(t, () => {});
    const started = Date.now();
    await assert.rejects(transport(t, { ca: [ca()], timeoutMs: 200 }).request(url, 'get'), /no answer within 200 ms/);
    assert.ok(Date.now() - started < 2000);
  });

  test('abort: the request in flight is rejected at once, later ones without a connection', async (t) => {
    const url = await startHttps(t, () => {});
    const ac = new AbortController();
    const tr = transport(t, { ca: [ca()], signal: ac.signal, timeoutMs: 60_000 });
    const pending = tr.request(url, 'get');
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(pending, /aborted/);
    await assert.rejects(tr.request(url, 'get'), /aborted/);
  });

  test('a body over the cap is refused', async (t) => {
    const url = await startHttps(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(10_000));
    });
    await assert.rejects(transport(t, { ca: [ca()], maxBodyBytes: 1000 }).request(url, 'get'), /larger than 1000 bytes/);
  });

  test('a refused connection fails at once with the network error', async (t) => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    const started = Date.now();
    await assert.rejects(transport(t).request(`https://127.0.0.1:${port}/dir`, 'get'), /ECONNREFUSED/);
    assert.ok(Date.now() - started < 2000);
  });
});
