import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAX_CLIENT_HELLO_BYTES,
  looksLikeTls,
  parseClientHello,
  type ClientHelloResult,
} from '../../ts/protocol/client-hello.js';
import { HELLO_CLIENTS, captureClientHello, toolAvailable, type HelloExpectation } from './helpers/capture.js';
import { extractHandshake, rerecord, rerecordRandom } from './helpers/tls-records.js';
import { makeRng } from './helpers/rng.js';
import { alpnExt, ext, handshake, hello, helloBody, record, sniExt, versionsExt } from './helpers/hello-builder.js';

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'client-hellos');
const manifest = JSON.parse(readFileSync(join(fixtureDir, 'manifest.json'), 'utf8')) as Record<
  string,
  { sni: string | null; alpn: string[]; version: HelloExpectation['version'] }
>;
const fixtures = Object.entries(manifest).map(([id, m]) => ({
  id,
  flight: readFileSync(join(fixtureDir, `${id}.bin`)),
  expect: { sni: m.sni ?? undefined, alpn: m.alpn, version: m.version } as HelloExpectation,
}));

function assertOk(r: ClientHelloResult, expect: HelloExpectation, bytes: number, label: string): void {
  assert.equal(r.kind, 'ok', `${label}: ${JSON.stringify(r)}`);
  if (r.kind !== 'ok') return;
  assert.equal(r.sni, expect.sni, `${label}: sni`);
  assert.deepEqual(r.alpn, expect.alpn, `${label}: alpn`);
  assert.equal(r.version, expect.version, `${label}: version`);
  assert.equal(r.bytesConsumed, bytes, `${label}: bytesConsumed`);
}

/** Every strict prefix must be need-more; the whole buffer must parse ok. */
function assertPrefixesNeedMore(flight: Buffer, label: string): void {
  for (let i = 0; i < flight.length; i++) {
    const r = parseClientHello(flight.subarray(0, i));
    if (r.kind !== 'need-more') assert.fail(`${label}: prefix ${i}/${flight.length} gave ${JSON.stringify(r)}`);
  }
}

describe('ClientHello fixtures (saved captures of curl, openssl, node)', () => {
  test('there are fixtures for every client kind', () => {
    assert.ok(fixtures.length >= 6);
    for (const tool of ['curl', 'openssl', 'node']) assert.ok(fixtures.some((f) => f.id.startsWith(tool)), tool);
    assert.ok(fixtures.some((f) => f.expect.sni === undefined), 'a no-SNI hello');
    assert.ok(fixtures.some((f) => f.expect.version === 'TLSv1.2'), 'a TLS 1.2-only hello');
  });

  for (const f of fixtures) {
    test(`${f.id}: whole, with trailing bytes, byte by byte`, () => {
      assertOk(parseClientHello(f.flight), f.expect, f.flight.length, 'whole');
      const trailing = Buffer.concat([f.flight, record(0x17, Buffer.from('early-data')), Buffer.from('junk')]);
      assertOk(parseClientHello(trailing), f.expect, f.flight.length, 'trailing');
      assertPrefixesNeedMore(f.flight, f.id);
    });

    test(`${f.id}: re-fragmented into many TLS records`, () => {
      const hs = extractHandshake(f.flight);
      const oneByte = rerecord(hs, () => 1);
      assertOk(parseClientHello(oneByte), f.expect, oneByte.length, 'one-byte records');
      assertPrefixesNeedMore(oneByte, `${f.id} one-byte records`);
      const rng = makeRng(0x5eed + f.flight.length);
      for (let i = 0; i < 200; i++) {
        const frag = rerecordRandom(hs, rng);
        assertOk(parseClientHello(frag), f.expect, frag.length, `layout ${i}`);
        if (i < 5) assertPrefixesNeedMore(frag, `${f.id} layout ${i}`);
      }
    });
  }
});

describe('ClientHello live captures (real clients against a raw net.Server)', () => {
  for (const client of HELLO_CLIENTS) {
    // Missing tools skip locally; under CI=true (.ci/run installs them) a missing tool fails.
    const skip = !toolAvailable(client.tool) && process.env['CI'] !== 'true' ? `${client.tool} not installed` : false;
    test(client.id, { timeout: 15_000, skip }, async () => {
      assert.ok(toolAvailable(client.tool), `${client.tool} is required when CI=true`);
      const flight = await captureClientHello(client);
      assertOk(parseClientHello(flight), client.expect, flight.length, client.id);
      assertPrefixesNeedMore(flight, client.id);
      const frag = rerecordRandom(extractHandshake(flight), makeRng(flight.length));
      assertOk(parseClientHello(frag), client.expect, frag.length, `${client.id} re-recorded`);
    });
  }
});

test('looksLikeTls', () => {
  assert.equal(looksLikeTls(0x16), true);
  for (const b of [0x00, 0x15, 0x17, 0x47 /* G */, 0x50 /* P */, 0x80, 0x0d, 0xff]) assert.equal(looksLikeTls(b), false);
});

const SNI = sniExt('example.com');
const withExt = (...extensions: Buffer[]): Buffer => hello({ extensions });
const bodyWith = (...extensions: Buffer[]): Buffer => helloBody({ extensions });
const bigPadding = ext(21, Buffer.alloc(16384 - bodyWith(SNI).length - 4));

type Expect = { kind: 'need-more' | 'not-tls' } | { kind: 'invalid'; reason: RegExp } | { kind: 'ok'; sni?: string; alpn?: string[]; version?: string; bytes?: number };
const cases: Array<[string, Buffer, Expect]> = [
  ['empty buffer', Buffer.alloc(0), { kind: 'need-more' }],
  ['lone 0x16', Buffer.from([0x16]), { kind: 'need-more' }],
  ['partial record header', Buffer.from([0x16, 0x03, 0x01, 0x00]), { kind: 'need-more' }],
  ['HTTP request', Buffer.from('GET / HTTP/1.1\r\n'), { kind: 'not-tls' }],
  ['SSLv2-style hello', Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02]), { kind: 'not-tls' }],
  ['0x16 then bad major version', Buffer.from([0x16, 0x02]), { kind: 'not-tls' }],
  ['0x16 0x03 then bad minor', Buffer.from([0x16, 0x03, 0x09]), { kind: 'not-tls' }],
  ['zero-length record', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), { kind: 'invalid', reason: /empty/ }],
  ['record longer than 2^14', Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01]), { kind: 'invalid', reason: /16384/ }],
  ['ServerHello, told from one payload byte', Buffer.from([0x16, 0x03, 0x03, 0x00, 0x50, 0x02]), { kind: 'invalid', reason: /not ClientHello/ }],
  ['handshake length > 16 KiB, told early', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50, 0x01, 0x00, 0x40, 0x01]), { kind: 'invalid', reason: /exceeds/ }],
  ['handshake length too short', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50, 0x01, 0x00, 0x00, 0x10]), { kind: 'invalid', reason: /too short/ }],
  ['no extensions block at all', hello(), { kind: 'ok', sni: undefined, alpn: [], version: 'TLSv1.2' }],
  ['empty extensions block', withExt(), { kind: 'ok', sni: undefined, alpn: [] }],
  ['SNI lower-cased', withExt(sniExt('WWW.Example.COM')), { kind: 'ok', sni: 'www.example.com' }],
  ['SNI with trailing dot kept', withExt(sniExt('example.com.')), { kind: 'ok', sni: 'example.com.' }],
  ['SNI of unknown name type only', withExt(sniExt({ type: 7, name: Buffer.from('x') })), { kind: 'ok', sni: undefined }],
  ['SNI empty name', withExt(sniExt('')), { kind: 'invalid', reason: /empty host_name/ }],
  ['SNI with a space', withExt(sniExt('a b.com')), { kind: 'invalid', reason: /non-printable/ }],
  ['SNI with a NUL', withExt(sniExt(Buffer.from('a\0.com', 'latin1'))), { kind: 'invalid', reason: /non-printable/ }],
  ['SNI with UTF-8', withExt(sniExt(Buffer.from('bücher.de', 'utf8'))), { kind: 'invalid', reason: /non-ASCII/ }],
  ['SNI 256 bytes', withExt(sniExt('a'.repeat(256))), { kind: 'invalid', reason: /255/ }],
  ['SNI two host_names', withExt(sniExt('a.com', 'b.com')), { kind: 'invalid', reason: /more than one/ }],
  ['SNI empty list', withExt(ext(0, Buffer.from([0, 0]))), { kind: 'invalid', reason: /empty server_name/ }],
  ['SNI empty extension', withExt(ext(0, Buffer.alloc(0))), { kind: 'invalid', reason: /too short/ }],
  ['SNI list length off by one', withExt(ext(0, Buffer.from([0, 5, 0, 0, 1, 0x61]))), { kind: 'invalid', reason: /mismatch/ }],
  ['SNI entry overruns list', withExt(ext(0, Buffer.from([0, 4, 0, 0, 9, 0x61]))), { kind: 'invalid', reason: /overruns/ }],
  ['duplicate extension', withExt(SNI, SNI), { kind: 'invalid', reason: /duplicate/ }],
  ['ALPN h2 + http/1.1', withExt(alpnExt('h2', 'http/1.1')), { kind: 'ok', alpn: ['h2', 'http/1.1'] }],
  ['ALPN empty list', withExt(ext(16, Buffer.from([0, 0]))), { kind: 'invalid', reason: /empty ALPN list/ }],
  ['ALPN zero-length name', withExt(alpnExt('h2', '')), { kind: 'invalid', reason: /empty ALPN protocol/ }],
  ['ALPN name overruns', withExt(ext(16, Buffer.from([0, 2, 5, 0x68]))), { kind: 'invalid', reason: /overruns/ }],
  ['supported_versions with 1.3', withExt(versionsExt(0x0a0a, 0x0304, 0x0303)), { kind: 'ok', version: 'TLSv1.3' }],
  ['supported_versions without 1.3', withExt(versionsExt(0x0303, 0x0302)), { kind: 'ok', version: 'TLSv1.2' }],
  ['1.3 via supported_versions beats legacy 1.0', hello({ clientVersion: 0x0301, extensions: [versionsExt(0x0304)] }), { kind: 'ok', version: 'TLSv1.3' }],
  ['supported_versions odd length', withExt(ext(43, Buffer.from([3, 3, 4, 3]))), { kind: 'invalid', reason: /supported_versions/ }],
  ['supported_versions empty', withExt(ext(43, Buffer.from([0]))), { kind: 'invalid', reason: /supported_versions/ }],
  ['client_version TLS 1.0', hello({ clientVersion: 0x0301 }), { kind: 'ok', version: 'TLSv1.0' }],
  ['client_version TLS 1.1', hello({ clientVersion: 0x0302 }), { kind: 'ok', version: 'TLSv1.1' }],
  ['client_version SSLv3', hello({ clientVersion: 0x0300 }), { kind: 'invalid', reason: /SSLv3/ }],
  ['client_version 2.0', hello({ clientVersion: 0x0200 }), { kind: 'invalid', reason: /client_version/ }],
  ['session_id of 33 bytes', hello({ sessionId: Buffer.alloc(33) }), { kind: 'invalid', reason: /session_id/ }],
  ['empty session_id ok', hello({ sessionId: Buffer.alloc(0) }), { kind: 'ok' }],
  ['odd cipher_suites length', hello({ cipherSuites: Buffer.from([0x13, 0x01, 0x00]) }), { kind: 'invalid', reason: /cipher_suites/ }],
  ['empty compression_methods', hello({ compression: Buffer.alloc(0) }), { kind: 'invalid', reason: /compression/ }],
  ['extensions length too long', hello({ extensions: [SNI], extensionsLength: SNI.length + 1 }), { kind: 'invalid', reason: /extensions length/ }],
  ['extensions length too short', hello({ extensions: [SNI], extensionsLength: SNI.length - 1 }), { kind: 'invalid', reason: /extensions length/ }],
  ['truncated extension header', hello({ extensions: [Buffer.from([0, 1])] }), { kind: 'invalid', reason: /truncated extension/ }],
  ['extension overruns block', hello({ extensions: [Buffer.from([0, 99, 0, 9, 1])] }), { kind: 'invalid', reason: /overruns/ }],
  ['handshake longer than its record: rest may follow', record(0x16, Buffer.concat([Buffer.from([1, 0, 0, 200]), bodyWith(SNI)])), { kind: 'need-more' }],
  ['handshake shorter than its record', record(0x16, Buffer.concat([Buffer.from([1, 0, 0, 60]), bodyWith(SNI)])), { kind: 'invalid', reason: /trailing/ }],
  ['trailing bytes after hello in its record', record(0x16, Buffer.concat([handshake(bodyWith(SNI)), Buffer.from([0])])), { kind: 'invalid', reason: /trailing/ }],
  ['alert record between fragments', Buffer.concat([record(0x16, handshake(bodyWith(SNI)).subarray(0, 10)), record(0x15, Buffer.from([2, 40]))]), { kind: 'invalid', reason: /non-handshake/ }],
  ['bad record version in 2nd record', Buffer.concat([record(0x16, handshake(bodyWith(SNI)).subarray(0, 10)), Buffer.from([0x16, 0x04])]), { kind: 'invalid', reason: /record version/ }],
  ['hello padded to 16 KiB in two records', rerecord(handshake(bodyWith(SNI, bigPadding)), () => 16384), { kind: 'ok', sni: 'example.com' }],
  ['hello over 16 KiB', rerecord(handshake(bodyWith(SNI, bigPadding, ext(22, Buffer.alloc(0)))), () => 16384), { kind: 'invalid', reason: /exceeds 16384/ }],
  ['16 KiB hello in 1-byte records passes the byte cap', rerecord(handshake(bodyWith(SNI, bigPadding)), () => 1), { kind: 'invalid', reason: new RegExp(`exceed ${MAX_CLIENT_HELLO_BYTES}`) }],
  ['hello followed by change_cipher_spec', Buffer.concat([withExt(SNI), record(0x14, Buffer.from([1]))]), { kind: 'ok', sni: 'example.com', bytes: withExt(SNI).length }],
];

describe('ClientHello edge-case table', () => {
  for (const [name, buf, want] of cases) {
    test(name, () => {
      const r = parseClientHello(buf);
      if (want.kind === 'invalid') {
        assert.equal(r.kind, 'invalid', JSON.stringify(r));
        if (r.kind === 'invalid') assert.match(r.reason, want.reason);
        return;
      }
      assert.equal(r.kind, want.kind, JSON.stringify(r));
      if (want.kind !== 'ok' || r.kind !== 'ok') return;
      if ('sni' in want) assert.equal(r.sni, want.sni);
      if (want.alpn) assert.deepEqual(r.alpn, want.alpn);
      if (want.version) assert.equal(r.version, want.version);
      assert.equal(r.bytesConsumed, want.bytes ?? buf.length);
    });
  }
});

test('need-more never asks the caller to buffer past MAX_CLIENT_HELLO_BYTES', () => {
  const big = rerecord(handshake(bodyWith(SNI, bigPadding)), () => 1); // ~98 KB of 1-byte records
  for (let n = MAX_CLIENT_HELLO_BYTES - 12; n <= MAX_CLIENT_HELLO_BYTES + 12; n++) {
    const r = parseClientHello(big.subarray(0, n));
    if (n <= MAX_CLIENT_HELLO_BYTES) assert.ok(r.kind === 'need-more' || r.kind === 'invalid', `${n}: ${r.kind}`);
    else assert.equal(r.kind, 'invalid', `${n}: ${JSON.stringify(r)}`);
  }
  // Records that end exactly at the cap (4 records of 2 bytes, then 1-byte records: 4*7 + 10918*6 = 65536)
  // while the hello needs more: invalid at once, not need-more.
  let count = 0;
  const exact = rerecord(handshake(bodyWith(SNI, bigPadding)), () => (count++ < 4 ? 2 : 1));
  assert.equal(parseClientHello(exact.subarray(0, MAX_CLIENT_HELLO_BYTES - 1)).kind, 'need-more');
  const r = parseClientHello(exact.subarray(0, MAX_CLIENT_HELLO_BYTES));
  assert.equal(r.kind, 'invalid', JSON.stringify(r));
});

