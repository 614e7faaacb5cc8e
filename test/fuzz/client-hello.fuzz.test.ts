/**
 * Property/fuzz tests for parseClientHello (ts/protocol/client-hello.ts).
 *
 * Inputs: ClientHellos built from a random model by the independent hello-builder (so the
 * expected SNI/ALPN/version is known), split into random TLS record layouts; the same hellos
 * and the saved real captures after byte mutations and length-field corruption; random bytes.
 * Properties: never throws, one of the four kinds, bounded offsets and output sizes, round trip
 * against the model, prefix consistency (a prefix answers need-more or the whole's answer),
 * and independence from the bytes after the hello.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseClientHello, MAX_CLIENT_HELLO_BYTES, type ClientHelloResult } from '../../ts/protocol/client-hello.js';
import { handshake } from '../protocol/helpers/hello-builder.js';
import { extractHandshake, lengthFields, rerecord } from '../protocol/helpers/tls-records.js';
import { applyMutations, bytesArb, check, ensure, hex, mutationsArb, prefixLengths } from './helpers/fuzz.js';
import { build, helloModel } from './helpers/hello-model.js';

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'client-hellos');
const captures = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.bin'))
  .sort()
  .map((f) => readFileSync(join(fixtureDir, f)));
const singleCaptures = captures.map((c) => rerecord(extractHandshake(c), (rem) => rem));

const KINDS = new Set(['need-more', 'not-tls', 'invalid', 'ok']);

/** Invariants every answer must satisfy, whatever the input. */
function checkResult(buf: Buffer, r: ClientHelloResult): void {
  ensure(KINDS.has(r.kind), () => `unknown kind ${JSON.stringify(r)}`);
  if (r.kind === 'invalid') {
    ensure(r.reason !== 'internal parser error', 'the defensive catch fired (the parser threw)');
    ensure(typeof r.reason === 'string' && r.reason.length > 0 && r.reason.length < 200, 'reason is a short string');
  }
  if (r.kind === 'not-tls') {
    // decided from the record header only: content type 0x16, version 3.0-3.4
    ensure(buf[0] !== 0x16 || (buf.length > 1 && buf[1] !== 0x03) || (buf.length > 2 && buf[2]! > 4), () => `not-tls for a handshake record header ${hex(buf.subarray(0, 5))}`);
  }
  if (r.kind === 'ok') {
    // record header (5) + handshake header (4) + the smallest body (41) at least
    ensure(r.bytesConsumed >= 50 && r.bytesConsumed <= buf.length, () => `bytesConsumed ${r.bytesConsumed} outside [50, ${buf.length}]`);
    ensure(r.bytesConsumed <= MAX_CLIENT_HELLO_BYTES, 'bytesConsumed beyond the buffering cap');
    if (r.sni !== undefined) {
      ensure(/^[\x21-\x7e]{1,255}$/.test(r.sni), () => `bad sni ${JSON.stringify(r.sni)}`);
      ensure(r.sni === r.sni.toLowerCase(), 'sni not lower-cased');
    }
    ensure(Array.isArray(r.alpn) && r.alpn.every((p) => p.length >= 1 && p.length <= 255), 'alpn names 1..255 bytes');
    ensure(r.alpn.reduce((n, p) => n + 1 + p.length, 0) <= r.bytesConsumed, 'alpn larger than its input');
    ensure(['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'].includes(r.version), 'version');
  }
}

function parse(buf: Buffer): ClientHelloResult {
  let r: ClientHelloResult;
  try {
    r = parseClientHello(buf);
  } catch (err) {
    throw new Error(`parseClientHello threw on ${hex(buf)}: ${String(err)}`);
  }
  checkResult(buf, r);
  return r;
}

/** Prefix consistency: a prefix answers need-more or exactly what the whole answered. */
function checkPrefixes(buf: Buffer, whole: ClientHelloResult, picks: readonly number[]): void {
  for (const n of prefixLengths(buf.length, picks)) {
    const p = parse(buf.subarray(0, n));
    if (p.kind === 'need-more') {
      // an accepted hello cannot be complete in fewer bytes, and nothing else comes from fewer bytes
      continue;
    }
    ensure(
      JSON.stringify(p) === JSON.stringify(whole),
      () => `prefix ${n}/${buf.length} answered ${JSON.stringify(p)} but the whole answered ${JSON.stringify(whole)}; input ${hex(buf)}`,
    );
  }
  if (whole.kind === 'need-more') return;
  if (whole.kind === 'ok') {
    // and a verdict never comes before the hello is complete
    const p = parse(buf.subarray(0, whole.bytesConsumed - 1));
    ensure(p.kind === 'need-more', () => `${whole.bytesConsumed - 1}-byte prefix of an accepted hello answered ${p.kind}`);
  }
}

const picksArb = fc.array(fc.nat(), { minLength: 2, maxLength: 3 });

test('ClientHello fuzz: built hellos round-trip (SNI/ALPN/version) in any record layout', { timeout: 120_000 }, () => {
  let cases = 0;
  cases += check(
    'client-hello round trip',
    fc.property(helloModel, bytesArb(40), picksArb, (m, trailer, picks) => {
      const { flight, expect } = build(m);
      const r = parse(flight);
      ensure(r.kind === 'ok', () => `built hello not accepted: ${JSON.stringify(r)} ${hex(flight)}`);
      assert.deepEqual(r, { kind: 'ok', ...expect, bytesConsumed: flight.length });
      // bytes after the hello (early data, the next record, junk) change nothing
      assert.deepEqual(parse(Buffer.concat([flight, trailer])), r);
      checkPrefixes(flight, r, picks);
    }),
    25_000,
  );
  assert.ok(cases >= 25_000);
});

/** A length field of the single-record form set to a nearby or extreme value. */
const lengthCorruption = fc.record({ field: fc.nat(), how: fc.constantFrom('zero', 'one', 'max', 'plus1', 'minus1', 'plusN', 'random'), n: fc.integer({ min: 2, max: 300 }), r: fc.nat() });

function corruptLength(flight: Buffer, c: { field: number; how: string; n: number; r: number }): Buffer {
  const fields = lengthFields(flight);
  const f = fields[c.field % fields.length]!;
  const b = Buffer.from(flight);
  const max = 2 ** (8 * f.width) - 1;
  const cur = b.readUIntBE(f.offset, f.width);
  const v = { zero: 0, one: 1, max, plus1: cur + 1, minus1: cur - 1, plusN: cur + c.n, random: c.r % (max + 1) }[c.how]!;
  b.writeUIntBE(((v % (max + 1)) + max + 1) % (max + 1), f.offset, f.width);
  return b;
}

const mutatedHello = fc.oneof(
  fc.record({ m: helloModel, muts: mutationsArb(4, [0x00, 0x01, 0x03, 0x04, 0x16, 0x17, 0x20, 0x7f, 0x80, 0xff]) }).map(({ m, muts }) => applyMutations(build(m).flight, muts)),
  fc.record({ m: helloModel, c: lengthCorruption }).map(({ m, c }) => corruptLength(rerecord(extractHandshake(build(m).flight), (rem) => rem), c)),
  fc.record({ i: fc.nat(), muts: mutationsArb(6) }).map(({ i, muts }) => applyMutations(captures[i % captures.length]!, muts)),
  fc.record({ i: fc.nat(), c: lengthCorruption, muts: fc.option(mutationsArb(2)) }).map(({ i, c, muts }) => {
    const b = corruptLength(singleCaptures[i % singleCaptures.length]!, c);
    return muts ? applyMutations(b, muts) : b;
  }),
);

test('ClientHello fuzz: mutated hellos and captures keep every invariant', { timeout: 120_000 }, () => {
  const kinds: Record<string, number> = {};
  const n = check(
    'client-hello mutated',
    fc.property(mutatedHello, picksArb, (buf, picks) => {
      const r = parse(buf);
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
      checkPrefixes(buf, r, picks);
      if (r.kind === 'ok') {
        // the answer depends only on the bytes it consumed
        assert.deepEqual(parse(buf.subarray(0, r.bytesConsumed)), r);
      }
    }),
    55_000,
  );
  console.log(`client-hello mutated kinds: ${JSON.stringify(kinds)}`);
  assert.ok(n >= 55_000);
  // the mutations must reach deep into the parser, not stop at the first byte
  assert.ok((kinds['ok'] ?? 0) > n / 50 && (kinds['invalid'] ?? 0) > n / 4, JSON.stringify(kinds));
});

const randomInput = fc.oneof(
  bytesArb(300),
  // a plausible record header, then noise
  fc.record({ v: fc.integer({ min: 0, max: 5 }), len: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 40, max: 300 })), body: bytesArb(300) }).map(({ v, len, body }) => {
    const h = Buffer.from([0x16, 0x03, v, len >> 8, len & 0xff]);
    return Buffer.concat([h, body]);
  }),
  // record + handshake header for a ClientHello of the right size, then noise
  fc.record({ body: bytesArb(300, 41), split: fc.boolean() }).map(({ body, split }) => {
    const hs = handshake(body);
    return rerecord(hs, (rem) => (split ? Math.max(1, rem >> 1) : rem));
  }),
);

test('ClientHello fuzz: random bytes keep every invariant', { timeout: 120_000 }, () => {
  const n = check(
    'client-hello random',
    fc.property(randomInput, picksArb, (buf, picks) => {
      const r = parse(buf);
      checkPrefixes(buf, r, picks);
    }),
    25_000,
  );
  assert.ok(n >= 25_000);
});
