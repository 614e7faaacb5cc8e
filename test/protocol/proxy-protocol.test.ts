import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  IPv4Address,
  IPv4ProxyAddress,
  IPv6Address,
  IPv6ProxyAddress,
  INETProtocol,
  Peer,
  V1BinaryProxyProtocol,
  V2ProxyProtocol,
  Command,
  TransportProtocol,
} from 'proxy-protocol-js';
import {
  MAX_PROXY_HEADER_BYTES,
  buildProxyHeader,
  parseProxyHeader,
  type ProxyHeaderResult,
} from '../../ts/protocol/proxy-protocol.js';
import { fuzzSeed, makeRng } from './helpers/rng.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const v2 = (verCmd: number, fam: number, body: Buffer, len = body.length): Buffer => {
  const h = Buffer.alloc(4);
  h[0] = verCmd;
  h[1] = fam;
  h.writeUInt16BE(len, 2);
  return Buffer.concat([SIG, h, body]);
};
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const INET = hex('c0000201 c6336401 d431 01bb'); // 192.0.2.1 -> 198.51.100.1, 54321 -> 443
const INET6 = hex('20010db8000000000000000000000001 00000000000000000000000000000001 0050 1f90');
const tlv = (type: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 0xff]), value]);
const payload = Buffer.from('GET / HTTP/1.1\r\n\r\n');
const unknown107 = Buffer.from(
  'PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n',
);

type Ok = Extract<ProxyHeaderResult, { kind: 'ok' }>;
const ok = (o: Omit<Ok, 'kind'>): Ok => ({ kind: 'ok', ...o });
const ep = (ip: string, port: number) => ({ ip, port });

const valid: Array<[string, Buffer, Ok]> = [
  ['v1 TCP4', Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
    ok({ version: 1, command: 'PROXY', family: 'TCP4', source: ep('192.168.0.1', 56324), destination: ep('192.168.0.11', 443), headerLength: 47 })],
  ['v1 TCP4 followed by payload', Buffer.concat([Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n'), payload]),
    ok({ version: 1, command: 'PROXY', family: 'TCP4', source: ep('1.2.3.4', 0), destination: ep('5.6.7.8', 65535), headerLength: 36 })],
  ['v1 TCP6 (canonicalised)', Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 2\r\n'),
    ok({ version: 1, command: 'PROXY', family: 'TCP6', source: ep('2001:db8::1', 1), destination: ep('::1', 2), headerLength: 41 })],
  ['v1 TCP6 with v4-mapped', Buffer.from('PROXY TCP6 ::ffff:10.0.0.1 ::1 1000 2000\r\n'),
    ok({ version: 1, command: 'PROXY', family: 'TCP6', source: ep('::ffff:10.0.0.1', 1000), destination: ep('::1', 2000), headerLength: 42 })],
  ['v1 UNKNOWN short form', Buffer.from('PROXY UNKNOWN\r\n'), ok({ version: 1, command: 'PROXY', family: 'UNKNOWN', headerLength: 15 })],
  ['v1 UNKNOWN worst case, 107 bytes', unknown107, ok({ version: 1, command: 'PROXY', family: 'UNKNOWN', headerLength: 107 })],
  ['v2 TCP4 + payload', Buffer.concat([v2(0x21, 0x11, INET), payload]),
    ok({ version: 2, command: 'PROXY', family: 'TCP4', source: ep('192.0.2.1', 54321), destination: ep('198.51.100.1', 443), headerLength: 28 })],
  ['v2 UDP4', v2(0x21, 0x12, INET),
    ok({ version: 2, command: 'PROXY', family: 'UDP4', source: ep('192.0.2.1', 54321), destination: ep('198.51.100.1', 443), headerLength: 28 })],
  ['v2 TCP6', v2(0x21, 0x21, INET6),
    ok({ version: 2, command: 'PROXY', family: 'TCP6', source: ep('2001:db8::1', 80), destination: ep('::1', 8080), headerLength: 52 })],
  ['v2 UDP6', v2(0x21, 0x22, INET6),
    ok({ version: 2, command: 'PROXY', family: 'UDP6', source: ep('2001:db8::1', 80), destination: ep('::1', 8080), headerLength: 52 })],
  ['v2 UNIX stream', v2(0x21, 0x31, Buffer.alloc(216, 0x61)), ok({ version: 2, command: 'PROXY', family: 'UNIX', headerLength: 232 })],
  ['v2 LOCAL, empty', v2(0x20, 0x00, Buffer.alloc(0)), ok({ version: 2, command: 'LOCAL', family: 'UNKNOWN', headerLength: 16 })],
  ['v2 LOCAL with (ignored) addresses', v2(0x20, 0x11, INET), ok({ version: 2, command: 'LOCAL', family: 'UNKNOWN', headerLength: 28 })],
  ['v2 PROXY UNSPEC', v2(0x21, 0x00, Buffer.alloc(0)), ok({ version: 2, command: 'PROXY', family: 'UNKNOWN', headerLength: 16 })],
  ['v2 TCP4 with TLVs (ALPN, authority, NOOP)',
    v2(0x21, 0x11, Buffer.concat([INET, tlv(0x01, Buffer.from('h2')), tlv(0x02, Buffer.from('example.com')), tlv(0x04, Buffer.alloc(3))])),
    ok({ version: 2, command: 'PROXY', family: 'TCP4', source: ep('192.0.2.1', 54321), destination: ep('198.51.100.1', 443), headerLength: 28 + 5 + 14 + 6 })],
  ['v2 TCP4 with an empty TLV', v2(0x21, 0x11, Buffer.concat([INET, tlv(0xee, Buffer.alloc(0))])),
    ok({ version: 2, command: 'PROXY', family: 'TCP4', source: ep('192.0.2.1', 54321), destination: ep('198.51.100.1', 443), headerLength: 31 })],
];

const invalidCases: Array<[string, Buffer, RegExp]> = [
  ['no signature (HTTP)', Buffer.from('GET / HTTP/1.1\r\n'), /signature/],
  ['no signature (TLS)', Buffer.from([0x16, 0x03, 0x01]), /signature/],
  ['lower-case proxy', Buffer.from('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), /signature/],
  ['PROXYX', Buffer.from('PROXYX'), /signature/],
  ['v1 bare LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), /bare LF/],
  ['v1 CR without LF', Buffer.from('PROXY TCP4 1.2.3.4\r5'), /CR not followed/],
  ['v1 unknown protocol', Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), /unknown protocol/],
  ['v1 TCP4 with IPv6 address', Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'), /IPv4/],
  ['v1 TCP6 with IPv4 address', Buffer.from('PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n'), /IPv6/],
  ['v1 octet 256', Buffer.from('PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'), /IPv4/],
  ['v1 leading zero octet', Buffer.from('PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n'), /IPv4/],
  ['v1 port 65536', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'), /port/],
  ['v1 negative port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n'), /port/],
  ['v1 double space', Buffer.from('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'), /expected/],
  ['v1 missing field', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), /expected/],
  ['v1 extra field', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'), /expected/],
  ['v1 trailing space', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'), /expected/],
  ['v1 NUL byte', Buffer.from('PROXY TCP4 1.2.3.4\x00'), /non-printable/],
  ['v1 no CRLF within 107 bytes', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}`), /107/],
  ['v1 108-byte line', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`), /107/],
  ['v2 version 1', v2(0x11, 0x11, INET), /version/],
  ['v2 version 3', v2(0x31, 0x11, INET), /version/],
  ['v2 command 2', v2(0x22, 0x11, INET), /command/],
  ['v2 family 4', v2(0x21, 0x41, INET), /family/],
  ['v2 transport 3', v2(0x21, 0x13, INET), /transport/],
  ['v2 INET length 11, told before the body', v2(0x21, 0x11, Buffer.alloc(0), 11), /too short/],
  ['v2 INET6 length 12', v2(0x21, 0x21, INET), /too short/],
  ['v2 UNIX length 36', v2(0x21, 0x31, INET6), /too short/],
  ['v2 truncated TLV header', v2(0x21, 0x11, Buffer.concat([INET, Buffer.from([1, 0])])), /truncated TLV/],
  ['v2 TLV overruns header', v2(0x21, 0x11, Buffer.concat([INET, Buffer.from([1, 0, 9, 0x68])])), /overruns/],
  ['v2 bad signature byte', Buffer.concat([SIG.subarray(0, 11), Buffer.from([0x0b])]), /signature/],
];

describe('PROXY header table', () => {
  for (const [name, buf, want] of valid) {
    test(`valid: ${name}`, () => {
      assert.deepEqual(parseProxyHeader(buf), want);
      for (let i = 0; i < want.headerLength; i++) {
        const r = parseProxyHeader(buf.subarray(0, i));
        if (r.kind !== 'need-more') assert.fail(`prefix ${i} gave ${JSON.stringify(r)}`);
      }
    });
  }
  for (const [name, buf, reason] of invalidCases) {
    test(`invalid: ${name}`, () => {
      const r = parseProxyHeader(buf);
      assert.equal(r.kind, 'invalid', JSON.stringify(r));
      if (r.kind === 'invalid') assert.match(r.reason, reason);
    });
  }
  test('empty buffer and signature prefixes need more', () => {
    for (const b of [Buffer.alloc(0), Buffer.from('P'), Buffer.from('PROXY'), Buffer.from('PROXY TCP4 1.2'), SIG.subarray(0, 5), SIG, v2(0x21, 0x11, INET).subarray(0, 20)]) {
      assert.deepEqual(parseProxyHeader(b), { kind: 'need-more' }, b.toString('hex'));
    }
  });
  test('MAX_PROXY_HEADER_BYTES covers the largest v2 header', () => {
    assert.equal(MAX_PROXY_HEADER_BYTES, 16 + 65535);
    const big = v2(0x21, 0x11, Buffer.concat([INET, tlv(0x04, Buffer.alloc(65535 - 12 - 3))]));
    assert.equal(big.length, MAX_PROXY_HEADER_BYTES);
    const r = parseProxyHeader(big);
    assert.equal(r.kind === 'ok' && r.headerLength, MAX_PROXY_HEADER_BYTES);
  });
});

describe('buildProxyHeader', () => {
  const table: Array<[string, 'v1' | 'v2', string, string, string | Buffer]> = [
    ['v1 IPv4', 'v1', '10.0.0.1', '10.0.0.2', 'PROXY TCP4 10.0.0.1 10.0.0.2 1234 443\r\n'],
    ['v1 both mapped -> plain IPv4', 'v1', '::ffff:10.0.0.1', '::FFFF:10.0.0.2', 'PROXY TCP4 10.0.0.1 10.0.0.2 1234 443\r\n'],
    ['v1 one mapped, one IPv4 -> IPv4', 'v1', '::ffff:10.0.0.1', '10.0.0.2', 'PROXY TCP4 10.0.0.1 10.0.0.2 1234 443\r\n'],
    ['v1 IPv6', 'v1', '2001:db8:0::1', '::1', 'PROXY TCP6 2001:db8::1 ::1 1234 443\r\n'],
    ['v1 mixed -> v4 as ::ffff:', 'v1', '10.0.0.1', '::1', 'PROXY TCP6 ::ffff:10.0.0.1 ::1 1234 443\r\n'],
    ['v1 zone id and brackets dropped', 'v1', 'fe80::1%eth0', '[::1]', 'PROXY TCP6 fe80::1 ::1 1234 443\r\n'],
    ['v1 unparseable -> UNKNOWN', 'v1', 'not-an-ip', '10.0.0.2', 'PROXY UNKNOWN\r\n'],
    ['v2 IPv4', 'v2', '192.0.2.1', '198.51.100.1', v2(0x21, 0x11, hex('c0000201 c6336401 04d2 01bb'))],
    ['v2 mixed', 'v2', '2001:db8::1', '127.0.0.1', v2(0x21, 0x21, hex('20010db8000000000000000000000001 00000000000000000000ffff7f000001 04d2 01bb'))],
    ['v2 unparseable -> PROXY/UNSPEC', 'v2', '', '::1', v2(0x21, 0x00, Buffer.alloc(0))],
  ];
  for (const [name, ver, s, d, want] of table) {
    test(name, () => {
      const got = buildProxyHeader(ver, ep(s, 1234), ep(d, 443));
      assert.deepEqual(got, typeof want === 'string' ? Buffer.from(want) : want);
      assert.equal(parseProxyHeader(got).kind, 'ok');
    });
  }
  test('bad ports yield the unknown form, never a throw', () => {
    for (const port of [-1, 65536, 1.5, Number.NaN]) {
      assert.deepEqual(buildProxyHeader('v1', ep('1.2.3.4', port), ep('1.2.3.4', 1)), Buffer.from('PROXY UNKNOWN\r\n'));
      assert.deepEqual(buildProxyHeader('v2', ep('1.2.3.4', 1), ep('1.2.3.4', port)), v2(0x21, 0x00, Buffer.alloc(0)));
    }
  });
});

/** WHATWG URL host serialisation: an independent canonical form for IPv6 text. */
const canon6 = (ip: string): string => new URL(`http://[${ip}]/`).hostname;
const isV4ish = (ip: string): boolean => !ip.includes(':') || /^\[::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}\]$/.test(canon6(ip));
const addr = fc.oneof(fc.ipV4(), fc.ipV6());
const port = fc.integer({ min: 0, max: 65535 });

describe('round trip and cross-check with proxy-protocol-js', () => {
  test('build -> parse round trip (fast-check)', () => {
    fc.assert(
      fc.property(fc.constantFrom('v1' as const, 'v2' as const), addr, addr, port, port, (ver, s, d, sp, dp) => {
        const built = buildProxyHeader(ver, ep(s, sp), ep(d, dp));
        const r = parseProxyHeader(Buffer.concat([built, payload]));
        assert.equal(r.kind, 'ok');
        if (r.kind !== 'ok') return;
        assert.equal(r.headerLength, built.length);
        assert.equal(r.version, ver === 'v1' ? 1 : 2);
        assert.equal(r.family, isV4ish(s) && isV4ish(d) ? 'TCP4' : 'TCP6');
        assert.equal(r.source?.port, sp);
        assert.equal(r.destination?.port, dp);
        const same = (got: string | undefined, want: string): void => {
          if (r.family === 'TCP4') assert.equal(canon6(`::ffff:${got}`), canon6(want.includes(':') ? want : `::ffff:${want}`));
          else assert.equal(canon6(got ?? ''), canon6(want.includes(':') ? want : `::ffff:${want}`));
        };
        same(r.source?.ip, s);
        same(r.destination?.ip, d);
      }),
      { numRuns: 2000 },
    );
  });

  test('our v1/v2 output parses with proxy-protocol-js', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), port, port, (s, d, sp, dp) => {
        const p1 = V1BinaryProxyProtocol.parse(buildProxyHeader('v1', ep(s, sp), ep(d, dp)));
        assert.equal(p1.inetProtocol, INETProtocol.TCP4);
        assert.deepEqual([p1.source.ipAddress, p1.source.port, p1.destination.ipAddress, p1.destination.port], [s, sp, d, dp]);
        const p2 = V2ProxyProtocol.parse(buildProxyHeader('v2', ep(s, sp), ep(d, dp)));
        assert.equal(p2.command, Command.PROXY);
        assert.equal(p2.transportProtocol, TransportProtocol.STREAM);
        const a = p2.proxyAddress as IPv4ProxyAddress;
        assert.deepEqual([a.sourceAddress.address.join('.'), a.sourcePort, a.destinationAddress.address.join('.'), a.destinationPort], [s, sp, d, dp]);
      }),
      { numRuns: 500 },
    );
  });

  test('proxy-protocol-js output parses with ours', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), port, port, fc.uint8Array({ minLength: 16, maxLength: 16 }), (s, d, sp, dp, six) => {
        const v1 = Buffer.from(new V1BinaryProxyProtocol(INETProtocol.TCP4, new Peer(s, sp), new Peer(d, dp)).build());
        assert.deepEqual(parseProxyHeader(v1), ok({ version: 1, command: 'PROXY', family: 'TCP4', source: ep(s, sp), destination: ep(d, dp), headerLength: v1.length }));
        const octets = (ip: string) => ip.split('.').map(Number) as [number, number, number, number];
        const v2b = Buffer.from(
          new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv4ProxyAddress(new IPv4Address(octets(s)), sp, new IPv4Address(octets(d)), dp)).build(),
        );
        assert.deepEqual(parseProxyHeader(v2b), ok({ version: 2, command: 'PROXY', family: 'TCP4', source: ep(s, sp), destination: ep(d, dp), headerLength: 28 }));
        const v6 = IPv6Address.createFrom([...six]);
        const v2c = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.DGRAM, new IPv6ProxyAddress(v6, sp, v6, dp)).build());
        const r = parseProxyHeader(v2c);
        assert.equal(r.kind === 'ok' && r.family, 'UDP6');
        if (r.kind === 'ok') assert.equal(canon6(r.source!.ip), canon6(Buffer.from(six).toString('hex').replace(/(.{4})(?!$)/g, '$1:')));
      }),
      { numRuns: 500 },
    );
  });
});

test('PROXY header fuzz: >= 20,000 cases never throw', { timeout: 60_000 }, () => {
  const seed = fuzzSeed();
  const rng = makeRng(seed);
  const seeds = [...valid.map((v) => v[1]), ...invalidCases.map((v) => v[1])];
  const counts: Record<string, number> = {};
  const started = performance.now();
  const N = 40_000;
  for (let i = 0; i < N; i++) {
    let b: Buffer;
    const mode = rng.int(6);
    if (mode === 0) b = rng.bytes(rng.int(120));
    else if (mode === 1) b = Buffer.concat([rng.next() < 0.5 ? SIG : Buffer.from('PROXY '), rng.bytes(rng.int(120))]);
    else if (mode === 2) b = Buffer.concat([Buffer.from(`PROXY ${rng.pick(['TCP4', 'TCP6', 'UNKNOWN'])} `), Buffer.from(Array.from({ length: rng.int(110) }, () => rng.pick([0x20, 0x2e, 0x3a, 0x0d, 0x0a, 0x30 + rng.int(10), 0x61 + rng.int(6)])))]);
    else {
      b = Buffer.from(rng.pick(seeds));
      if (mode === 3) for (let k = rng.range(1, 6); k > 0 && b.length > 0; k--) b[rng.int(b.length)] ^= 1 << rng.int(8);
      else if (mode === 4) b = b.subarray(0, rng.int(b.length + 1));
      else if (b.length >= 16 && b[0] === 0x0d) b.writeUInt16BE(rng.pick([0, 11, 12, 35, 36, 215, 216, 0xffff, rng.int(0x10000)]), 14);
      else { const at = rng.int(b.length + 1); b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)]); }
    }
    let r: ProxyHeaderResult;
    try {
      r = parseProxyHeader(b);
    } catch (err) {
      assert.fail(`threw (FUZZ_SEED=${seed}) on ${b.toString('hex')}: ${String(err)}`);
    }
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    if (r.kind === 'invalid' && r.reason === 'internal parser error') assert.fail(`defensive catch fired (FUZZ_SEED=${seed}) on ${b.toString('hex')}`);
    if (r.kind === 'ok') {
      assert.ok(r.headerLength <= b.length && r.headerLength <= MAX_PROXY_HEADER_BYTES);
      assert.deepEqual(parseProxyHeader(b.subarray(0, r.headerLength)), r, `FUZZ_SEED=${seed}`);
    }
  }
  console.log(`# proxy-protocol fuzz: ${N} cases in ${(performance.now() - started).toFixed(0)} ms, seed ${seed}, ${JSON.stringify(counts)}`);
  assert.ok((counts['ok'] ?? 0) > 100 && (counts['invalid'] ?? 0) > 100);
});
