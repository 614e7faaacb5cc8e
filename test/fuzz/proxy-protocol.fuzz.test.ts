/**
 * Property/fuzz tests for parseProxyHeader / buildProxyHeader (ts/protocol/proxy-protocol.ts).
 *
 * Inputs: PROXY v1 lines and v2 headers built from a random model (expected result known),
 * those after byte mutations and length rewrites, and random bytes behind a signature.
 * Properties: never throws, documented kinds only, bounded header length and buffering,
 * canonical addresses, prefix consistency, build -> parse round trip, and agreement with
 * proxy-protocol-js as an oracle on complete inputs.
 *
 * Where we are deliberately stricter than proxy-protocol-js (the oracle accepts, we refuse):
 *   v1: a line over 107 bytes, ports over 65535 or with more than 5 digits, addresses that are
 *       not strict IPv4/IPv6 text (leading zeros, zone ids, any other text), bytes outside
 *       0x20-0x7e, an empty or CR/LF-carrying field.
 *   v2: TLVs that do not tile the rest of the header exactly.
 * Where we are more lenient: v2 LOCAL with a length shorter than its (ignored) address block
 * (the spec says a receiver must ignore the address information of LOCAL), and v1 UNKNOWN
 * followed by anything (the spec says to ignore it), both of which the oracle refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { V1BinaryProxyProtocol, V2ProxyProtocol, IPv4ProxyAddress, IPv6ProxyAddress, AddressFamilyType } from 'proxy-protocol-js';
import { MAX_PROXY_HEADER_BYTES, MAX_PROXY_V1_BYTES, buildProxyHeader, parseProxyHeader, type ProxyHeaderResult } from '../../ts/protocol/proxy-protocol.js';
import { formatIPv6, parseIPv4, parseIPv6 } from '../../ts/protocol/ip-bytes.js';
import { applyMutations, bytesArb, check, ensure, fastString, hex, mutationsArb, prefixLengths } from './helpers/fuzz.js';

const PRINTABLE = String.fromCharCode(...Array.from({ length: 0x5f }, (_, i) => 0x20 + i));

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const KINDS = new Set(['need-more', 'invalid', 'ok']);
const FAMILIES = new Set(['TCP4', 'TCP6', 'UNKNOWN', 'UDP4', 'UDP6', 'UNIX']);

/** WHATWG URL serialisation: an independent canonical form of IPv6 text. */
const canon6 = (ip: string): string => new URL(`http://[${ip}]/`).hostname;

function checkResult(buf: Buffer, r: ProxyHeaderResult): void {
  ensure(KINDS.has(r.kind), () => `unknown kind ${JSON.stringify(r)}`);
  if (r.kind === 'invalid') ensure(r.reason !== 'internal parser error', 'the defensive catch fired (the parser threw)');
  if (r.kind === 'need-more') {
    // a caller never has to buffer more than the largest header to get a verdict
    ensure(buf.length < MAX_PROXY_HEADER_BYTES, 'need-more at or beyond MAX_PROXY_HEADER_BYTES');
    if (buf[0] === 0x50) ensure(buf.length < MAX_PROXY_V1_BYTES, () => `v1 need-more after ${buf.length} bytes`);
  }
  if (r.kind !== 'ok') return;
  ensure(r.headerLength <= buf.length && r.headerLength <= MAX_PROXY_HEADER_BYTES, () => `headerLength ${r.headerLength} of ${buf.length}`);
  ensure(FAMILIES.has(r.family), 'family');
  if (r.version === 1) {
    ensure(r.command === 'PROXY', 'v1 is always PROXY');
    ensure(r.headerLength >= 15 && r.headerLength <= MAX_PROXY_V1_BYTES, () => `v1 headerLength ${r.headerLength}`);
    ensure(buf[r.headerLength - 2] === 0x0d && buf[r.headerLength - 1] === 0x0a, 'v1 header ends in CRLF');
    ensure(r.family === 'TCP4' || r.family === 'TCP6' || r.family === 'UNKNOWN', 'v1 family');
  } else {
    ensure(r.version === 2, 'version');
    ensure(r.headerLength === 16 + buf.readUInt16BE(14), 'v2 headerLength is 16 + its length field');
  }
  const hasAddr = r.family === 'TCP4' || r.family === 'TCP6' || r.family === 'UDP4' || r.family === 'UDP6';
  ensure(hasAddr === (r.source !== undefined) && hasAddr === (r.destination !== undefined), 'addresses iff an INET family');
  for (const e of [r.source, r.destination]) {
    if (!e) continue;
    ensure(Number.isInteger(e.port) && e.port >= 0 && e.port <= 0xffff, 'port range');
    if (r.family === 'TCP4' || r.family === 'UDP4') ensure(parseIPv4(e.ip) !== undefined && net.isIPv4(e.ip), () => `not IPv4: ${e.ip}`);
    else {
      const b = parseIPv6(e.ip);
      ensure(b !== undefined && net.isIPv6(e.ip) && formatIPv6(b) === e.ip, () => `not canonical IPv6: ${e.ip}`);
    }
  }
}

function parse(buf: Buffer): ProxyHeaderResult {
  let r: ProxyHeaderResult;
  try {
    r = parseProxyHeader(buf);
  } catch (err) {
    throw new Error(`parseProxyHeader threw on ${hex(buf)}: ${String(err)}`);
  }
  checkResult(buf, r);
  return r;
}

function checkPrefixes(buf: Buffer, whole: ProxyHeaderResult, picks: readonly number[]): void {
  for (const n of prefixLengths(buf.length, picks)) {
    const p = parse(buf.subarray(0, n));
    if (p.kind === 'need-more') continue;
    ensure(JSON.stringify(p) === JSON.stringify(whole), () => `prefix ${n}/${buf.length} answered ${JSON.stringify(p)}, whole ${JSON.stringify(whole)}; input ${hex(buf)}`);
  }
  if (whole.kind === 'ok') {
    const p = parse(buf.subarray(0, whole.headerLength - 1));
    ensure(p.kind === 'need-more', () => `verdict ${p.kind} one byte before the end of an accepted header`);
    assert.deepEqual(parse(buf.subarray(0, whole.headerLength)), whole, 'answer depends only on the header bytes');
  } else if (whole.kind === 'need-more') {
    for (const n of prefixLengths(buf.length, picks)) ensure(parse(buf.subarray(0, n)).kind === 'need-more', 'a prefix of need-more gave a verdict');
  }
}

// ---------- oracle: proxy-protocol-js ----------

function tryParse<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

const isPort = (s: string | undefined): boolean => s !== undefined && /^\d{1,5}$/.test(s) && Number(s) <= 0xffff;

let oracleCompared = 0;

function agreeV1(buf: Buffer, r: ProxyHeaderResult): void {
  const o = tryParse(() => V1BinaryProxyProtocol.parse(buf));
  if (r.kind === 'ok' && r.version === 1 && r.family !== 'UNKNOWN') {
    ensure(o !== undefined, () => `we accept a v1 ${r.family} line the oracle refuses: ${JSON.stringify(buf.toString('latin1', 0, r.headerLength))}`);
    ensure(o.inetProtocol === r.family, 'oracle family');
    ensure(buf.length - o.data!.length === r.headerLength, 'oracle header length');
    ensure(o.source.port === r.source!.port && o.destination.port === r.destination!.port, 'oracle ports');
    if (r.family === 'TCP4') ensure(o.source.ipAddress === r.source!.ip && o.destination.ipAddress === r.destination!.ip, 'oracle IPv4 addresses');
    else ensure(canon6(o.source.ipAddress) === canon6(r.source!.ip) && canon6(o.destination.ipAddress) === canon6(r.destination!.ip), 'oracle IPv6 addresses');
    oracleCompared++;
  }
  if (o === undefined) return;
  // The oracle accepted: if the line is valid by the spec, we must accept it with the same fields.
  const hl = buf.length - o.data!.length;
  const line = buf.toString('latin1', 0, hl);
  if (hl > MAX_PROXY_V1_BYTES || !/^[\x20-\x7e]*\r\n$/.test(line)) return;
  const parts = line.slice(0, -2).split(' ');
  if (o.inetProtocol === 'UNKNOWN') {
    ensure(r.kind === 'ok' && r.family === 'UNKNOWN' && r.headerLength === hl, () => `oracle accepts UNKNOWN ${JSON.stringify(line)}, we say ${JSON.stringify(r)}`);
    return;
  }
  const isIp = o.inetProtocol === 'TCP4' ? net.isIPv4 : (s: string) => net.isIPv6(s) && !s.includes('%');
  const specValid = parts.length === 6 && isIp(parts[2]!) && isIp(parts[3]!) && isPort(parts[4]) && isPort(parts[5]);
  if (!specValid) return;
  ensure(r.kind === 'ok' && r.version === 1 && r.family === o.inetProtocol && r.headerLength === hl, () => `valid line ${JSON.stringify(line)} accepted by the oracle, we say ${JSON.stringify(r)}`);
  oracleCompared++;
}

function agreeV2(buf: Buffer, r: ProxyHeaderResult): void {
  if (buf.length < 16 || !buf.subarray(0, 12).equals(SIG)) return;
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return; // the oracle cannot tell "incomplete"
  const o = tryParse(() => V2ProxyProtocol.parse(buf));
  const af = buf[13]! >> 4;
  const addrLen = [0, 12, 36, 216][af] ?? 0;
  oracleCompared++;
  if (r.kind === 'invalid') {
    ensure(o === undefined || /TLV/.test(r.reason), () => `oracle accepts a v2 header we refuse (${r.reason}): ${hex(buf.subarray(0, 16 + len))}`);
    return;
  }
  ensure(r.kind === 'ok', 'complete v2 header answered need-more');
  if (r.command === 'LOCAL') {
    ensure(o !== undefined ? o.command === 0 : len < addrLen, () => `v2 LOCAL: oracle ${o ? o.command : 'refuses'}`);
    return;
  }
  ensure(o !== undefined, () => `we accept a v2 header the oracle refuses: ${hex(buf.subarray(0, 16 + len))}`);
  ensure(o.command === 1, 'oracle command');
  if (r.family === 'UNIX') ensure(o.addressFamilyType === AddressFamilyType.UNIX, 'oracle UNIX');
  if (r.family === 'TCP4' || r.family === 'UDP4' || r.family === 'TCP6' || r.family === 'UDP6') {
    ensure(o.transportProtocol === (r.family.startsWith('TCP') ? 1 : 2), 'oracle transport');
    if (r.family.endsWith('4')) {
      const a = o.proxyAddress as IPv4ProxyAddress;
      ensure(a.sourceAddress.address.join('.') === r.source!.ip && a.destinationAddress.address.join('.') === r.destination!.ip, 'oracle IPv4 addresses');
      ensure(a.sourcePort === r.source!.port && a.destinationPort === r.destination!.port, 'oracle ports');
    } else {
      const a = o.proxyAddress as IPv6ProxyAddress;
      ensure(formatIPv6(Uint8Array.from(a.sourceAddress.address)) === r.source!.ip && formatIPv6(Uint8Array.from(a.destinationAddress.address)) === r.destination!.ip, 'oracle IPv6 addresses');
      ensure(a.sourcePort === r.source!.port && a.destinationPort === r.destination!.port, 'oracle ports');
    }
  }
}

function agree(buf: Buffer, r: ProxyHeaderResult): void {
  if (buf[0] === 0x50) agreeV1(buf, r);
  else if (buf[0] === 0x0d) agreeV2(buf, r);
}

// ---------- models ----------

const port = fc.integer({ min: 0, max: 0xffff });
const portText = fc.record({ p: port, zeros: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }) }).map(({ p, zeros }) => {
  const s = String(p);
  return s.padStart(Math.min(5, s.length + zeros), '0');
});
const mixedCase = (s: string, bits: number): string => [...s].map((c, i) => ((bits >> (i % 30)) & 1 ? c.toUpperCase() : c)).join('');
const v6Text = fc.record({ ip: fc.ipV6(), bits: fc.nat() }).map(({ ip, bits }) => mixedCase(ip, bits));
const payload = fc.oneof(fc.constant(Buffer.alloc(0)), fc.constant(Buffer.from('GET / HTTP/1.1\r\n\r\n')), bytesArb(20));

interface V1Model {
  line: string;
  expect: ProxyHeaderResult;
}
const v1Model: fc.Arbitrary<V1Model> = fc.oneof(
  fc.record({ s: fc.ipV4(), d: fc.ipV4(), sp: portText, dp: portText }).map(({ s, d, sp, dp }) => {
    const line = `PROXY TCP4 ${s} ${d} ${sp} ${dp}\r\n`;
    return { line, expect: { kind: 'ok', version: 1, command: 'PROXY', family: 'TCP4', source: { ip: s, port: Number(sp) }, destination: { ip: d, port: Number(dp) }, headerLength: line.length } } as V1Model;
  }),
  fc.record({ s: v6Text, d: v6Text, sp: portText, dp: portText }).map(({ s, d, sp, dp }) => {
    const line = `PROXY TCP6 ${s} ${d} ${sp} ${dp}\r\n`;
    const ok = line.length <= MAX_PROXY_V1_BYTES;
    const ip = (t: string): string => formatIPv6(parseIPv6(t)!);
    return {
      line,
      expect: ok
        ? { kind: 'ok', version: 1, command: 'PROXY', family: 'TCP6', source: { ip: ip(s), port: Number(sp) }, destination: { ip: ip(d), port: Number(dp) }, headerLength: line.length }
        : { kind: 'invalid', reason: 'v1: no CRLF within 107 bytes' },
    } as V1Model;
  }),
  fastString(PRINTABLE, 0, 91).map((junk) => {
    const line = `PROXY UNKNOWN${junk.length > 0 ? ` ${junk}` : ''}\r\n`;
    return { line, expect: { kind: 'ok', version: 1, command: 'PROXY', family: 'UNKNOWN', headerLength: line.length } } as V1Model;
  }),
);

interface V2Model {
  header: Buffer;
  expect: ProxyHeaderResult;
}
const tlvArb = fc.record({ type: fc.integer({ min: 0, max: 255 }), value: bytesArb(24) });
const v2Model: fc.Arbitrary<V2Model> = fc
  .record({
    local: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    af: fc.constantFrom(0, 1, 1, 2, 2, 3),
    transport: fc.constantFrom(0, 1, 1, 2),
    addr: bytesArb(216, 216),
    tlvs: fc.array(tlvArb, { maxLength: 4 }),
    bigTlv: fc.oneof({ weight: 60, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 65535 - 216 - 4 * 27 - 3 }) }),
  })
  .map(({ local, af, transport, addr, tlvs, bigTlv }) => {
    const addrLen = [0, 12, 36, 216][af]!;
    const parts = [Buffer.from(addr.subarray(0, addrLen))];
    for (const t of tlvs) parts.push(Buffer.from([t.type, t.value.length >> 8, t.value.length & 0xff]), Buffer.from(t.value));
    if (bigTlv > 0) parts.push(Buffer.from([0x04, bigTlv >> 8, bigTlv & 0xff]), Buffer.alloc(bigTlv));
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(16);
    SIG.copy(head);
    head[12] = local ? 0x20 : 0x21;
    head[13] = (af << 4) | transport;
    head.writeUInt16BE(body.length, 14);
    const header = Buffer.concat([head, body]);
    const headerLength = header.length;
    let expect: ProxyHeaderResult;
    if (local) expect = { kind: 'ok', version: 2, command: 'LOCAL', family: 'UNKNOWN', headerLength };
    else if (af === 0 || transport === 0) expect = { kind: 'ok', version: 2, command: 'PROXY', family: 'UNKNOWN', headerLength };
    else if (af === 3) expect = { kind: 'ok', version: 2, command: 'PROXY', family: 'UNIX', headerLength };
    else {
      const a = Buffer.from(addr);
      const v4 = af === 1;
      const ip = (o: number): string => (v4 ? [...a.subarray(o, o + 4)].join('.') : formatIPv6(a, o));
      const family = v4 ? (transport === 1 ? 'TCP4' : 'UDP4') : transport === 1 ? 'TCP6' : 'UDP6';
      const pAt = v4 ? 8 : 32;
      expect = {
        kind: 'ok',
        version: 2,
        command: 'PROXY',
        family,
        source: { ip: ip(0), port: a.readUInt16BE(pAt) },
        destination: { ip: ip(v4 ? 4 : 16), port: a.readUInt16BE(pAt + 2) },
        headerLength,
      };
    }
    return { header, expect };
  });

const picksArb = fc.array(fc.nat(), { minLength: 2, maxLength: 3 });

test('PROXY fuzz: modelled v1 and v2 headers parse to the model, agree with proxy-protocol-js', { timeout: 120_000 }, () => {
  oracleCompared = 0;
  const n1 = check(
    'proxy v1 model',
    fc.property(v1Model, payload, picksArb, ({ line, expect }, pl, picks) => {
      const buf = Buffer.concat([Buffer.from(line, 'latin1'), pl]);
      const r = parse(buf);
      if (expect.kind === 'ok') assert.deepEqual(r, expect);
      else assert.equal(r.kind, 'invalid');
      checkPrefixes(buf, r, picks);
      agree(buf, r);
    }),
    15_000,
  );
  const n2 = check(
    'proxy v2 model',
    fc.property(v2Model, payload, picksArb, ({ header, expect }, pl, picks) => {
      const buf = Buffer.concat([header, pl]);
      const r = parse(buf);
      assert.deepEqual(r, expect);
      checkPrefixes(buf, r, picks);
      agree(buf, r);
    }),
    15_000,
  );
  console.log(`proxy model: oracle compared on ${oracleCompared} inputs`);
  assert.ok(n1 + n2 >= 30_000 && oracleCompared > (n1 + n2) / 2);
});

/** Inputs for buildProxyHeader: real addresses in every text form, and garbage. */
const anyIpText = fc.oneof(
  fc.ipV4(),
  v6Text,
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.ipV4().map((ip) => `::FFFF:${ip}`),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.ipV6().map((ip) => `${ip}%eth0`),
  fc.ipV4Extended(),
  fc.string({ maxLength: 20 }),
);
const anyPort = fc.oneof({ weight: 8, arbitrary: port }, { weight: 1, arbitrary: fc.constantFrom(-1, 65536, 1.5, Number.NaN, Infinity) });

/** An independent reading of an address text: its 16-byte IPv6 form via WHATWG URL, or undefined. */
function whatwg16(ip: string): string | undefined {
  let s = ip;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const z = s.indexOf('%');
  if (z !== -1) s = s.slice(0, z);
  if (net.isIPv4(s)) return canon6(`::ffff:${s}`);
  if (!net.isIPv6(s)) return undefined;
  return canon6(s);
}

test('PROXY fuzz: buildProxyHeader -> parseProxyHeader round trip', { timeout: 120_000 }, () => {
  const n = check(
    'proxy build round trip',
    fc.property(fc.constantFrom('v1' as const, 'v2' as const), anyIpText, anyIpText, anyPort, anyPort, payload, (ver, s, d, sp, dp, pl) => {
      let built: Buffer;
      try {
        built = buildProxyHeader(ver, { ip: s, port: sp }, { ip: d, port: dp });
      } catch (err) {
        throw new Error(`buildProxyHeader threw: ${String(err)}`);
      }
      const r = parse(Buffer.concat([built, pl]));
      ensure(r.kind === 'ok' && r.headerLength === built.length && r.version === (ver === 'v1' ? 1 : 2), () => `built header did not parse: ${JSON.stringify(r)}`);
      const ws = whatwg16(s);
      const wd = whatwg16(d);
      const portsOk = [sp, dp].every((p) => Number.isInteger(p) && p >= 0 && p <= 0xffff);
      if (ws === undefined || wd === undefined || !portsOk) {
        ensure(r.family === 'UNKNOWN' && r.command === 'PROXY', () => `unrepresentable input should give UNKNOWN, got ${JSON.stringify(r)}`);
        return;
      }
      const mapped = (w: string): boolean => /^\[::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}\]$/.test(w);
      ensure(r.family === (mapped(ws) && mapped(wd) ? 'TCP4' : 'TCP6'), () => `family ${r.family} for ${s} ${d}`);
      const back = (ip: string): string => (r.family === 'TCP4' ? canon6(`::ffff:${ip}`) : canon6(ip));
      ensure(back(r.source!.ip) === ws && back(r.destination!.ip) === wd, () => `addresses ${r.source!.ip} ${r.destination!.ip} for ${s} ${d}`);
      ensure(r.source!.port === sp && r.destination!.port === dp, 'ports');
      agree(Buffer.concat([built, pl]), r);
    }),
    15_000,
  );
  assert.ok(n >= 15_000);
});

const mutatedHeader = fc.oneof(
  fc.record({ m: v1Model, pl: payload, muts: mutationsArb(4, [0x00, 0x0a, 0x0d, 0x20, 0x2e, 0x3a, 0x30, 0x39, 0x41, 0x66, 0x7f, 0xff]) }).map(({ m, pl, muts }) =>
    applyMutations(Buffer.concat([Buffer.from(m.line, 'latin1'), pl]), muts),
  ),
  fc.record({ m: v2Model, pl: payload, muts: mutationsArb(4, [0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x20, 0x21, 0x22, 0x31, 0xff]) }).map(({ m, pl, muts }) =>
    applyMutations(Buffer.concat([m.header, pl]), muts),
  ),
  // v2 with a rewritten length field (and so TLVs/addresses that no longer fit)
  fc.record({ m: v2Model, pl: payload, len: fc.oneof(fc.constantFrom(0, 1, 11, 12, 13, 35, 36, 37, 215, 216, 217, 0xffff), fc.integer({ min: 0, max: 400 })) }).map(({ m, pl, len }) => {
    const b = Buffer.concat([m.header, pl]);
    b.writeUInt16BE(len, 14);
    return b;
  }),
  // v1 with fields swapped, dropped or duplicated
  fc.record({ m: v1Model, op: fc.constantFrom('swap', 'drop', 'dup', 'space'), i: fc.nat(), j: fc.nat() }).map(({ m, op, i, j }) => {
    const parts = m.line.slice(0, -2).split(' ');
    const a = i % parts.length;
    const b = j % parts.length;
    if (op === 'swap') [parts[a], parts[b]] = [parts[b]!, parts[a]!];
    else if (op === 'drop') parts.splice(a, 1);
    else if (op === 'dup') parts.splice(a, 0, parts[b]!);
    else parts.splice(a, 0, '');
    return Buffer.from(`${parts.join(' ')}\r\n`, 'latin1');
  }),
);

const randomHeader = fc.oneof(
  bytesArb(120),
  fc.record({ v1: fc.boolean(), rest: bytesArb(120) }).map(({ v1, rest }) => Buffer.concat([v1 ? Buffer.from('PROXY ') : SIG, rest])),
  fc
    .record({ proto: fc.constantFrom('TCP4', 'TCP6', 'UNKNOWN', 'UDP4'), rest: fc.array(fc.constantFrom(...' .:\r\n0123456789abcdefABCDEF'.split('')), { maxLength: 110, size: 'max' }) })
    .map(({ proto, rest }) => Buffer.from(`PROXY ${proto} ${rest.join('')}`, 'latin1')),
);

test('PROXY fuzz: mutated and random headers keep every invariant and agree with the oracle', { timeout: 120_000 }, () => {
  oracleCompared = 0;
  const kinds: Record<string, number> = {};
  const n1 = check(
    'proxy mutated',
    fc.property(mutatedHeader, picksArb, (buf, picks) => {
      const r = parse(buf);
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
      checkPrefixes(buf, r, picks);
      agree(buf, r);
    }),
    40_000,
  );
  const n2 = check(
    'proxy random',
    fc.property(randomHeader, picksArb, (buf, picks) => {
      const r = parse(buf);
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
      checkPrefixes(buf, r, picks);
      agree(buf, r);
    }),
    20_000,
  );
  console.log(`proxy mutated/random kinds: ${JSON.stringify(kinds)}; oracle compared on ${oracleCompared}`);
  assert.ok(n1 + n2 >= 60_000);
  assert.ok((kinds['ok'] ?? 0) > 2000 && (kinds['invalid'] ?? 0) > 10_000, JSON.stringify(kinds));
});
