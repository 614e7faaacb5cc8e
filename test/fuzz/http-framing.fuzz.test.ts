/**
 * Property/fuzz tests for the HTTP/1.1 body framing of ts/protocol/http-framing.ts: the
 * incremental BodyTracker (Content-Length, chunked, close) and requestFraming/responseFraming.
 *
 * Inputs: chunked bodies built from a random model (chunk sizes in any hex case, leading zeros,
 * extensions, BWS, trailers; end offset known), the same after byte mutations and size-line
 * rewrites, random bytes; Content-Length bodies of random length; random framing header lists.
 * Properties: never throws; returned offsets inside [start, buf.length]; the modelled end is
 * found exactly; feeding the same bytes in random pieces, byte by byte, or from an offset inside
 * a larger buffer gives the same end / done / error as feeding them at once; a finished or failed
 * tracker consumes nothing more; bounded size and line lengths; and the framing rules
 * (smuggling-relevant conflicts are errors, OWS is only SP/HTAB, header-name case is ignored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BodyTracker, requestFraming, responseFraming, type Framing, type FramingResult } from '../../ts/protocol/http-framing.js';
import { applyMutations, bytesArb, check, cutsArb, ensure, fastString, hex, mutationsArb, splitAt } from './helpers/fuzz.js';

interface Outcome {
  /** Absolute offset just past the body (done), of the failing byte (error), else bytes consumed. */
  end: number;
  done: boolean;
  error: string | undefined;
}

function advance(t: BodyTracker, buf: Buffer, start: number): number {
  let p: number;
  try {
    p = t.advance(buf, start);
  } catch (err) {
    throw new Error(`BodyTracker.advance threw at ${start} of ${hex(buf)}: ${String(err)}`);
  }
  ensure(Number.isInteger(p) && p >= start && p <= buf.length, () => `advance returned ${p} outside [${start}, ${buf.length}]`);
  ensure(!(t.done && t.error !== undefined), 'both done and error');
  if (!t.done && t.error === undefined) ensure(p === buf.length, () => `neither done nor failed, but stopped at ${p} of ${buf.length}`);
  return p;
}

function finished(t: BodyTracker): void {
  // a finished or failed tracker takes nothing more
  if (t.done || t.error !== undefined) {
    const before = { done: t.done, error: t.error };
    ensure(advance(t, Buffer.from('0\r\n\r\nabc'), 2) === 2, 'consumed bytes after finishing');
    ensure(t.done === before.done && t.error === before.error, 'state changed after finishing');
  }
}

function feedWhole(framing: Framing, buf: Buffer): Outcome {
  const t = new BodyTracker(framing);
  const end = advance(t, buf, 0);
  const out = { end, done: t.done, error: t.error };
  finished(t);
  return out;
}

function feedPieces(framing: Framing, pieces: readonly Buffer[]): Outcome {
  const t = new BodyTracker(framing);
  let base = 0;
  for (const piece of pieces) {
    const p = advance(t, piece, 0);
    if (t.done || t.error !== undefined) {
      const out = { end: base + p, done: t.done, error: t.error };
      finished(t);
      return out;
    }
    base += piece.length;
  }
  return { end: base, done: t.done, error: t.error };
}

/** The same bytes inside a larger buffer, fed from an offset. */
function feedAtOffset(framing: Framing, buf: Buffer, junk: Buffer): Outcome {
  const t = new BodyTracker(framing);
  const end = advance(t, Buffer.concat([junk, buf]), junk.length) - junk.length;
  return { end, done: t.done, error: t.error };
}

function sameOutcome(a: Outcome, b: Outcome, how: string, buf: Buffer): void {
  ensure(a.end === b.end && a.done === b.done && a.error === b.error, () => `${how}: ${JSON.stringify(b)} but at once ${JSON.stringify(a)}; input ${JSON.stringify(buf.toString('latin1').slice(0, 400))}`);
}

function checkIncremental(framing: Framing, buf: Buffer, cuts: readonly number[], junk: Buffer): Outcome {
  const whole = feedWhole(framing, buf);
  sameOutcome(whole, feedPieces(framing, splitAt(buf, cuts)), `split at ${JSON.stringify(cuts)}`, buf);
  sameOutcome(whole, feedAtOffset(framing, buf, junk), `from offset ${junk.length}`, buf);
  if (buf.length <= 300 && cuts.length % 4 === 0) {
    sameOutcome(whole, feedPieces(framing, [...buf].map((c) => Buffer.from([c]))), 'byte by byte', buf);
  }
  // a prefix of a body that ends (or fails) answers the same, or has not got there yet
  if (buf.length > 0) {
    const n = (cuts[0] ?? 0) % buf.length;
    const p = feedWhole(framing, buf.subarray(0, n));
    if (whole.done || whole.error !== undefined) {
      if (n <= whole.end) ensure(!p.done && p.error === undefined ? p.end === n : JSON.stringify(p) === JSON.stringify(whole), () => `prefix ${n}: ${JSON.stringify(p)} vs ${JSON.stringify(whole)}`);
      else sameOutcome(whole, p, `prefix ${n}`, buf);
    }
  }
  return whole;
}

// ---------- chunked model ----------

const CHUNKED: Framing = { kind: 'chunked' };
const hexDigits = (n: number, upper: boolean, zeros: number): string => '0'.repeat(zeros) + (upper ? n.toString(16).toUpperCase() : n.toString(16));
/** Chunk extensions of the strict grammar (no BWS: llhttp refuses it, so BodyTracker does too). */
const extArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom(';a=b', ';name', ';x=y', ';q="quoted;value"', ';q="a \\" b"', ';a=b;c=d', ';a=') },
);
const chunkArb = fc.record({
  size: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 41, max: 2000 }) }),
  upper: fc.boolean(),
  zeros: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
  ext: extArb,
  fill: fc.integer({ min: 0, max: 255 }),
});
/** Trailer fields: a token name, a colon, a value of visible bytes, SP and HTAB. */
const trailerLine = fc.oneof(
  fc.constantFrom('Expires: 0', 'X-Checksum: abc', 'a:b', 'x-empty:'),
  fc
    .tuple(fastString('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&*+.^`|~', 1, 20), fastString(String.fromCharCode(...Array.from({ length: 0x5f }, (_, i) => 0x20 + i)), 0, 40))
    .filter(([name]) => !['content-length', 'transfer-encoding', 'host'].includes(name.toLowerCase()))
    .map(([name, value]) => `${name}:${value}`),
);
const chunkedModel = fc.record({
  chunks: fc.array(chunkArb, { maxLength: 8 }),
  lastZeros: fc.integer({ min: 0, max: 3 }),
  lastExt: extArb,
  trailers: fc.array(trailerLine, { maxLength: 3 }),
});
type ChunkedModel = typeof chunkedModel extends fc.Arbitrary<infer T> ? T : never;

function encodeChunked(m: ChunkedModel): Buffer {
  const parts: Buffer[] = [];
  for (const c of m.chunks) {
    parts.push(Buffer.from(`${hexDigits(c.size, c.upper, c.zeros)}${c.ext}\r\n`, 'latin1'), Buffer.alloc(c.size, c.fill), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`${'0'.repeat(m.lastZeros + 1)}${m.lastExt}\r\n${m.trailers.map((t) => `${t}\r\n`).join('')}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

const junkArb = bytesArb(12);
const nextRequest = fc.oneof(fc.constant(Buffer.alloc(0)), fc.constant(Buffer.from('GET /next HTTP/1.1\r\n\r\n')), bytesArb(20));

test('BodyTracker fuzz: modelled chunked bodies end exactly where they should, however fed', { timeout: 120_000 }, () => {
  const n = check(
    'chunked model',
    fc.property(chunkedModel, nextRequest, cutsArb, junkArb, (m, next, cuts, junk) => {
      const body = encodeChunked(m);
      const buf = Buffer.concat([body, next]);
      const whole = checkIncremental(CHUNKED, buf, cuts, junk);
      assert.deepEqual(whole, { end: body.length, done: true, error: undefined });
    }),
    30_000,
  );
  assert.ok(n >= 30_000);
});

/** Size-line rewrites: the parser must bound and reject these, never mis-count. */
const sizeLineOp = fc.record({
  chunk: fc.nat(),
  line: fc.constantFrom('', 'g', '-1', '0x10', ' 5', '5 5', '5 ', '5\t', '5 ;a=b', '5;a =b', '5;a= b', '5; a=b', '1;', ';ext', 'fffffffffffff', '10000000000000', '00000000000001', '7fffffffffffffff', 'a'.repeat(5000), '5\n', '5\r', '\r', '+5'),
});

const mutatedChunked = fc.oneof(
  fc.record({ m: chunkedModel, next: nextRequest, muts: mutationsArb(3, [0x0d, 0x0a, 0x3b, 0x20, 0x09, 0x30, 0x39, 0x61, 0x66, 0x46, 0x67, 0x00, 0xff]) }).map(({ m, next, muts }) =>
    applyMutations(Buffer.concat([encodeChunked(m), next]), muts),
  ),
  fc.record({ m: chunkedModel, op: sizeLineOp }).map(({ m, op }) => {
    const body = encodeChunked(m).toString('latin1');
    // replace the op.chunk-th size line (counting the last chunk)
    const lines: number[] = [];
    let at = 0;
    for (const c of m.chunks) {
      lines.push(at);
      at += hexDigits(c.size, c.upper, c.zeros).length + c.ext.length + 2 + c.size + 2;
    }
    lines.push(at);
    const start = lines[op.chunk % lines.length]!;
    const end = body.indexOf('\r\n', start);
    return Buffer.from(`${body.slice(0, start)}${op.line}${body.slice(end)}`, 'latin1');
  }),
  // the declared size differs from the data that follows
  fc.record({ m: chunkedModel, delta: fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0), i: fc.nat() }).map(({ m, delta, i }) => {
    const which = m.chunks.length === 0 ? -1 : i % m.chunks.length;
    const parts: Buffer[] = [];
    m.chunks.forEach((c, k) => {
      const declared = k === which ? Math.max(1, c.size + delta) : c.size;
      parts.push(Buffer.from(`${hexDigits(declared, c.upper, c.zeros)}${c.ext}\r\n`, 'latin1'), Buffer.alloc(c.size, c.fill), Buffer.from('\r\n'));
    });
    parts.push(Buffer.from(`0\r\n${m.trailers.map((t) => `${t}\r\n`).join('')}\r\n`, 'latin1'));
    return Buffer.concat(parts);
  }),
);

test('BodyTracker fuzz: mutated chunked bodies give the same outcome however fed', { timeout: 120_000 }, () => {
  const outcomes: Record<string, number> = {};
  const n = check(
    'chunked mutated',
    fc.property(mutatedChunked, cutsArb, junkArb, (buf, cuts, junk) => {
      const whole = checkIncremental(CHUNKED, buf, cuts, junk);
      const k = whole.done ? 'done' : whole.error !== undefined ? 'error' : 'more';
      outcomes[k] = (outcomes[k] ?? 0) + 1;
    }),
    40_000,
  );
  console.log(`chunked mutated outcomes: ${JSON.stringify(outcomes)}`);
  assert.ok(n >= 40_000 && (outcomes['done'] ?? 0) > n / 10 && (outcomes['error'] ?? 0) > n / 10, JSON.stringify(outcomes));
});

test('BodyTracker fuzz: random bytes, chunked and close', { timeout: 120_000 }, () => {
  const n = check(
    'chunked random',
    fc.property(
      fc.oneof(bytesArb(200), fc.array(fc.constantFrom(...'0123456789abcdefABCDEF;= \t\r\n\r\nxX'.split('')), { maxLength: 120, size: 'max' }).map((a) => Buffer.from(a.join(''), 'latin1'))),
      cutsArb,
      junkArb,
      (buf, cuts, junk) => {
        checkIncremental(CHUNKED, buf, cuts, junk);
        const close = checkIncremental({ kind: 'close' }, buf, cuts, junk);
        ensure(!close.done && close.error === undefined && close.end === buf.length, 'close framing takes everything, never ends');
      },
    ),
    20_000,
  );
  assert.ok(n >= 20_000);
});

test('BodyTracker fuzz: bounded chunk-size and trailer lines', { timeout: 60_000 }, () => {
  check(
    'chunked bounds',
    fc.property(fc.integer({ min: 1, max: 9000 }), fc.constantFrom('size', 'ext', 'trailer'), fc.integer({ min: 1, max: 64 }), (len, where, piece) => {
      const line = where === 'size' ? `${'0'.repeat(len)}1\r\n` : where === 'ext' ? `1;${'x'.repeat(len)}\r\nz\r\n0\r\n\r\n` : `0\r\nX: ${'y'.repeat(len)}\r\n\r\n`;
      const buf = Buffer.from(line, 'latin1');
      const pieces: Buffer[] = [];
      for (let i = 0; i < buf.length; i += piece) pieces.push(buf.subarray(i, i + piece));
      const whole = feedWhole(CHUNKED, buf);
      sameOutcome(whole, feedPieces(CHUNKED, pieces), `pieces of ${piece}`, buf);
      // a tracker never reads more than ~4 KiB of one line before refusing it
      if (whole.error !== undefined) ensure(whole.end <= 4096 + 8, () => `error only at ${whole.end}`);
      if (where === 'size') ensure(len + 1 <= 13 ? whole.error === undefined : whole.error !== undefined, () => `size with ${len + 1} digits: ${JSON.stringify(whole)}`);
      if (where !== 'size' && len + 3 <= 4096) ensure(whole.done, () => `line of ${len} refused: ${JSON.stringify(whole)}`);
      if (len > 4100) ensure(whole.error !== undefined, () => `line of ${len} accepted`);
    }),
    2_000,
  );
});

test('BodyTracker fuzz: Content-Length bodies end exactly at the length, however fed', { timeout: 60_000 }, () => {
  const n = check(
    'length bodies',
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 300 }), cutsArb, junkArb, (length, extra, cuts, junk) => {
      const buf = Buffer.alloc(length + extra, 0x61);
      const whole = checkIncremental({ kind: 'length', length }, buf, cuts, junk);
      assert.deepEqual(whole, { end: length, done: true, error: undefined });
      // shorter input: not done, everything consumed
      const short = feedWhole({ kind: 'length', length }, buf.subarray(0, length - 1));
      assert.deepEqual(short, { end: length - 1, done: false, error: undefined });
    }),
    10_000,
  );
  const big = new BodyTracker({ kind: 'length', length: 2 ** 50 });
  assert.equal(big.advance(Buffer.alloc(10), 0), 10);
  assert.equal(big.done, false);
  assert.equal(new BodyTracker({ kind: 'none' }).advance(Buffer.alloc(5), 2), 2);
  assert.ok(n >= 10_000);
});

// ---------- requestFraming / responseFraming ----------

const NAMES = ['Content-Length', 'content-length', 'CONTENT-LENGTH', 'Transfer-Encoding', 'transfer-encoding', 'TRANSFER-ENCODING', 'Content-Type', 'Connection'];
const VALUES = ['0', '5', '05', '5, 5', '5,6', ' 5', '', '-1', '1e3', '999999999999999', '1000000000000000', 'chunked', 'CHUNKED', 'gzip, chunked', 'chunked, gzip', 'chunked, chunked', 'gzip', 'identity', ',chunked', 'chunked,', 'chunked\u00a0', '\u00a05', '5,\u00a05', 'chunked\t', 'keep-alive'];
const headerListArb = fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...VALUES) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) })), { maxLength: 5 });
const FRAMING_KINDS = new Set(['none', 'length', 'chunked', 'close', 'error']);

const isName = (h: string, n: string): boolean => h.toLowerCase() === n;
const ows = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, '');

function checkFraming(r: FramingResult, headers: string[], isRequest: boolean, noBody = false): void {
  ensure(FRAMING_KINDS.has(r.kind), () => `framing kind ${JSON.stringify(r)}`);
  const te = headers.filter((_, i) => i % 2 === 0).some((h) => isName(h, 'transfer-encoding'));
  const cls = headers.flatMap((h, i) => (i % 2 === 0 && isName(h, 'content-length') ? headers[i + 1]!.split(',').map(ows) : []));
  const teValue = headers
    .flatMap((h, i) => (i % 2 === 0 && isName(h, 'transfer-encoding') ? [headers[i + 1]!] : []))
    .join(', ');
  if (r.kind === 'length') {
    ensure(!te && cls.length > 0 && cls.every((v) => v === cls[0]) && /^\d{1,15}$/.test(cls[0]!) && Number(cls[0]) === r.length && r.length > 0, () => `length ${r.length} from ${JSON.stringify(headers)}`);
  }
  if (r.kind === 'chunked') ensure(te && ows(teValue.split(',').pop()!).toLowerCase() === 'chunked', () => `chunked from ${JSON.stringify(headers)}`);
  if (isRequest) {
    if (te && cls.length > 0) ensure(r.kind === 'error', 'request with both Transfer-Encoding and Content-Length must be refused');
    if (te) ensure(r.kind === 'chunked' || r.kind === 'error', 'request with a Transfer-Encoding is chunked or refused');
    if (!te && cls.length === 0) ensure(r.kind === 'none', 'request without framing headers has no body');
    ensure(r.kind !== 'close', 'a request body is never delimited by close');
  }
  if (cls.length > 0 && !te && new Set(cls).size > 1 && !noBody) ensure(r.kind === 'error', 'conflicting Content-Length values must be refused');
}

test('requestFraming / responseFraming fuzz: smuggling-relevant rules', { timeout: 60_000 }, () => {
  const n = check(
    'framing rules',
    fc.property(headerListArb, fc.integer({ min: 100, max: 599 }), fc.constantFrom('GET', 'HEAD', 'POST', 'CONNECT'), fc.nat(), (pairs, status, method, bits) => {
      const headers = pairs.flat();
      let req: FramingResult;
      let res: FramingResult;
      try {
        req = requestFraming(headers);
        res = responseFraming(status, method, headers);
      } catch (err) {
        throw new Error(`framing threw on ${JSON.stringify(headers)}: ${String(err)}`);
      }
      checkFraming(req, headers, true);
      const noBody = method === 'HEAD' || status < 200 || status === 204 || status === 304;
      checkFraming(res, headers, false, noBody);
      if (noBody) ensure(res.kind === 'none', 'no body for HEAD, 1xx, 204, 304');
      // header-name case never matters
      const recased = headers.map((h, i) => (i % 2 === 0 ? [...h].map((c, j) => ((bits >> (j % 30)) & 1 ? c.toUpperCase() : c.toLowerCase())).join('') : h));
      assert.deepEqual(requestFraming(recased), req);
      assert.deepEqual(responseFraming(status, method, recased), res);
      // a tracker can be built for every non-error framing
      if (req.kind !== 'error') new BodyTracker(req).advance(Buffer.from('0\r\n\r\n'), 0);
    }),
    10_000,
  );
  assert.ok(n >= 10_000);
});
