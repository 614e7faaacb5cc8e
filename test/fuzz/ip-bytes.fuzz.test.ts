/**
 * Property/fuzz tests for the IP text <-> byte conversions (ts/protocol/ip-bytes.ts).
 *
 * Oracles: node:net isIPv4 / isIPv6 for what is an address (the parsers additionally refuse IPv6
 * zone ids, by design), and the WHATWG URL host serialiser for which address a text denotes
 * and for the RFC 5952 canonical text. Inputs: strings over the address alphabet, fast-check's
 * valid addresses in every text form and those after character mutations, arbitrary strings.
 * Properties: never throws, agreement with the oracles, format -> parse round trips, canonical
 * output, offsets honoured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { formatIPv4, formatIPv6, isV4Mapped, parseIPv4, parseIPv6 } from '../../ts/protocol/ip-bytes.js';
import { check, ensure } from './helpers/fuzz.js';

const whatwg = (ip6: string): string => new URL(`http://[${ip6}]/`).hostname;

function p4(s: string): Uint8Array | undefined {
  try {
    return parseIPv4(s);
  } catch (err) {
    throw new Error(`parseIPv4 threw on ${JSON.stringify(s)}: ${String(err)}`);
  }
}
function p6(s: string): Uint8Array | undefined {
  try {
    return parseIPv6(s);
  } catch (err) {
    throw new Error(`parseIPv6 threw on ${JSON.stringify(s)}: ${String(err)}`);
  }
}

function checkText(s: string): void {
  const v4 = p4(s);
  ensure((v4 !== undefined) === net.isIPv4(s), () => `parseIPv4(${JSON.stringify(s)}) ${v4 ? 'accepts' : 'refuses'}, net.isIPv4 disagrees`);
  if (v4) {
    ensure(v4.length === 4 && formatIPv4(v4) === s, () => `IPv4 ${s} -> ${formatIPv4(v4)}`);
  }
  const v6 = p6(s);
  const want6 = net.isIPv6(s) && !s.includes('%');
  ensure((v6 !== undefined) === want6, () => `parseIPv6(${JSON.stringify(s)}) ${v6 ? 'accepts' : 'refuses'}, net.isIPv6 says ${net.isIPv6(s)}`);
  if (v6) {
    ensure(v6.length === 16, 'IPv6 bytes');
    const text = formatIPv6(v6);
    ensure(whatwg(text) === whatwg(s), () => `IPv6 ${s} formatted as ${text}, a different address`);
    checkCanonical(v6, text);
  }
}

/** RFC 5952 text: what WHATWG prints (except the mapped form, printed ::ffff:a.b.c.d), and it parses back. */
function checkCanonical(bytes: Uint8Array, text: string): void {
  const back = p6(text);
  ensure(back !== undefined && Buffer.from(back).equals(Buffer.from(bytes)), () => `format/parse round trip broke at ${text}`);
  if (isV4Mapped(bytes)) ensure(/^::ffff:\d+\.\d+\.\d+\.\d+$/.test(text) && net.isIPv4(text.slice(7)), () => `mapped form ${text}`);
  else ensure(`[${text}]` === whatwg(text), () => `${text} is not canonical; WHATWG prints ${whatwg(text)}`);
}

const alphabet4 = fc.constantFrom(...'0123456789........'.split(''), '00', '255', '256', '-', ' ', 'x', 'a');
const alphabet6 = fc.constantFrom(...'0123456789abcdefABCDEF::::....'.split(''), '::', 'ffff', '%', '%eth0', 'g', ' ', '[', ']');
const textArb = fc.oneof(
  fc.array(alphabet4, { maxLength: 20, size: 'max' }).map((a) => a.join('')),
  fc.array(alphabet6, { maxLength: 30, size: 'max' }).map((a) => a.join('')),
  fc.string({ maxLength: 50 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

const validText = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.tuple(fc.ipV6(), fc.nat()).map(([ip, bits]) => [...ip].map((c, i) => ((bits >> (i % 30)) & 1 ? c.toUpperCase() : c)).join('')),
  fc.ipV4Extended(),
);
/** A valid address text with characters edited: insert / delete / replace / duplicate. */
const mutatedText = fc
  .record({ s: validText, ops: fc.array(fc.record({ op: fc.constantFrom('ins', 'del', 'rep', 'dup'), at: fc.nat(), c: fc.constantFrom(...'0123456789abcdefF:.%'.split(''), '::', '00') }), { minLength: 1, maxLength: 3 }) })
  .map(({ s, ops }) => {
    let t = s;
    for (const o of ops) {
      const at = o.at % (t.length + 1);
      if (o.op === 'ins') t = t.slice(0, at) + o.c + t.slice(at);
      else if (o.op === 'del') t = t.slice(0, at) + t.slice(at + 1);
      else if (o.op === 'rep') t = t.slice(0, at) + o.c + t.slice(at + 1);
      else t = t.slice(0, at) + t.slice(at, at + 3) + t.slice(at);
    }
    return t;
  });

test('ip-bytes fuzz: parse agrees with node:net and WHATWG on any text', { timeout: 120_000 }, () => {
  let n = 0;
  n += check('ip text random', fc.property(textArb, (s) => checkText(s)), 30_000);
  n += check('ip text valid', fc.property(validText, (s) => checkText(s)), 20_000);
  n += check('ip text mutated', fc.property(mutatedText, (s) => checkText(s)), 30_000);
  assert.ok(n >= 80_000);
});

test('ip-bytes fuzz: bytes -> text -> bytes round trips, canonical, at any offset', { timeout: 120_000 }, () => {
  const groups = fc.array(fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }, { weight: 1, arbitrary: fc.constantFrom(1, 0xffff) }), { minLength: 8, maxLength: 8 });
  let n = 0;
  n += check(
    'ipv6 bytes round trip',
    fc.property(groups, fc.boolean(), fc.integer({ min: 0, max: 8 }), (g, mapped, off) => {
      const bytes = new Uint8Array(16);
      g.forEach((v, i) => {
        bytes[i * 2] = v >> 8;
        bytes[i * 2 + 1] = v & 0xff;
      });
      if (mapped) {
        bytes.fill(0, 0, 10);
        bytes[10] = 0xff;
        bytes[11] = 0xff;
      }
      const text = formatIPv6(bytes);
      checkCanonical(bytes, text);
      const padded = new Uint8Array(off + 16 + 3);
      padded.set(bytes, off);
      ensure(formatIPv6(padded, off) === text && isV4Mapped(padded, off) === isV4Mapped(bytes), 'offset honoured');
    }),
    15_000,
  );
  n += check(
    'ipv4 bytes round trip',
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 8 }), (b, off) => {
      const text = formatIPv4(b);
      ensure(net.isIPv4(text), () => `formatIPv4 gave ${text}`);
      const back = p4(text);
      ensure(back !== undefined && Buffer.from(back).equals(Buffer.from(b)), () => `round trip broke at ${text}`);
      const padded = new Uint8Array(off + 4 + 2);
      padded.set(b, off);
      ensure(formatIPv4(padded, off) === text, 'offset honoured');
      ensure(p6(text) === undefined && p4(`::ffff:${text}`) === undefined, 'families kept apart');
      const m = p6(`::ffff:${text}`);
      ensure(m !== undefined && isV4Mapped(m) && formatIPv6(m) === `::ffff:${text}`, 'mapped form round trip');
    }),
    10_000,
  );
  assert.ok(n >= 25_000);
});
