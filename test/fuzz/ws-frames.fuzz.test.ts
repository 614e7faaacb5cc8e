/**
 * Property/fuzz tests for the WebSocket FrameTracker (ts/protocol/ws-frames.ts).
 *
 * Inputs: frame sequences built from a random model by an encoder written here (independent of
 * encodeFrame: every opcode and RSV value, masked or not, minimal and non-minimal 16/64-bit
 * length encodings), the same after byte mutations and length rewrites, and random bytes.
 * Properties: never throws; step() offsets inside [offset, chunk.length]; frame ends inside the
 * chunk and frame sizes consistent with their headers; the modelled boundaries, opcodes and
 * (unmasked) control payloads are found; feeding the same bytes in random pieces, byte by byte,
 * or with step() from an offset inside a larger buffer gives the same frames, the same error and
 * the same pending state as feeding them at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameTracker, MAX_CONTROL_PAYLOAD, encodeFrame, isControlOpcode, type CompletedFrame } from '../../ts/protocol/ws-frames.js';
import { applyMutations, bytesArb, check, cutsArb, ensure, hex, mutationsArb, prng, splitAt } from './helpers/fuzz.js';

interface Seen {
  start: number;
  end: number;
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payloadLength: number;
  payload: string | undefined;
}
interface Run {
  frames: Seen[];
  error: string | undefined;
  atBoundary: boolean;
  bytesIntoFrame: number;
  currentOpcode: number;
  currentPayloadLength: number;
}

function checkFrame(f: CompletedFrame, chunkLength: number, capture: boolean): void {
  ensure(f.end > 0 && f.end <= chunkLength && f.start < f.end, () => `frame [${f.start}, ${f.end}) in a ${chunkLength}-byte chunk`);
  const size = f.end - f.start;
  const min = 2 + (f.masked ? 4 : 0) + f.payloadLength;
  ensure(size >= min && size <= min + 8, () => `frame of ${size} bytes for a ${f.payloadLength}-byte payload`);
  ensure(f.opcode >= 0 && f.opcode <= 15 && f.rsv >= 0 && f.rsv <= 7, 'opcode / rsv ranges');
  ensure(Number.isSafeInteger(f.payloadLength) && f.payloadLength >= 0, 'payload length');
  const captured = capture && isControlOpcode(f.opcode) && f.payloadLength <= MAX_CONTROL_PAYLOAD;
  ensure(captured === (f.payload !== undefined), () => `payload ${f.payload === undefined ? 'missing' : 'present'} for opcode ${f.opcode}, ${f.payloadLength} bytes`);
  if (f.payload) ensure(f.payload.length === f.payloadLength, 'captured payload length');
}

function state(t: FrameTracker, frames: Seen[]): Run {
  if (t.error === undefined) {
    ensure(t.atBoundary === (t.bytesIntoFrame === 0), 'atBoundary iff no bytes into a frame');
    if (t.atBoundary) ensure(t.currentOpcode === -1 && t.currentPayloadLength === -1, 'no current frame at a boundary');
  }
  return { frames, error: t.error, atBoundary: t.atBoundary, bytesIntoFrame: t.bytesIntoFrame, currentOpcode: t.currentOpcode, currentPayloadLength: t.currentPayloadLength };
}

const seen = (f: CompletedFrame, base: number): Seen => ({
  start: base + f.start,
  end: base + f.end,
  fin: f.fin,
  rsv: f.rsv,
  opcode: f.opcode,
  masked: f.masked,
  payloadLength: f.payloadLength,
  payload: f.payload?.toString('hex'),
});

function feedPieces(pieces: readonly Buffer[], capture = true): Run {
  const t = new FrameTracker({ captureControl: capture });
  const frames: Seen[] = [];
  let base = 0;
  for (const piece of pieces) {
    let out: CompletedFrame[];
    try {
      out = t.feed(piece);
    } catch (err) {
      throw new Error(`FrameTracker.feed threw: ${String(err)}`);
    }
    for (const f of out) {
      checkFrame(f, piece.length, capture);
      frames.push(seen(f, base));
    }
    base += piece.length;
  }
  return state(t, frames);
}

/** step() from an offset inside a larger buffer, checking every returned offset. */
function stepFrom(buf: Buffer, junk: Buffer): Run {
  const t = new FrameTracker();
  const all = Buffer.concat([junk, buf]);
  const frames: Seen[] = [];
  let pos = junk.length;
  while (pos < all.length) {
    const next = t.step(all, pos);
    ensure(next >= pos && next <= all.length, () => `step returned ${next} from ${pos} of ${all.length}`);
    if (t.completed) {
      checkFrame(t.completed, all.length, true);
      ensure(t.completed.end === next, 'step stops at the end of the frame it completed');
      frames.push(seen(t.completed, -junk.length));
    } else ensure(next === all.length, 'step stopped early without completing a frame');
    if (next === pos) break;
    pos = next;
  }
  return state(t, frames);
}

function sameRun(a: Run, b: Run): boolean {
  if (a.error !== b.error || a.atBoundary !== b.atBoundary || a.bytesIntoFrame !== b.bytesIntoFrame) return false;
  if (a.currentOpcode !== b.currentOpcode || a.currentPayloadLength !== b.currentPayloadLength || a.frames.length !== b.frames.length) return false;
  for (let i = 0; i < a.frames.length; i++) {
    const x = a.frames[i]!;
    const y = b.frames[i]!;
    if (x.start !== y.start || x.end !== y.end || x.fin !== y.fin || x.rsv !== y.rsv || x.opcode !== y.opcode || x.masked !== y.masked || x.payloadLength !== y.payloadLength || x.payload !== y.payload) return false;
  }
  return true;
}

function checkIncremental(buf: Buffer, cuts: readonly number[], junk: Buffer): Run {
  const whole = feedPieces([buf]);
  const same = (r: Run, how: string): void => ensure(sameRun(r, whole), () => `${how}: ${JSON.stringify(r).slice(0, 600)}\nat once: ${JSON.stringify(whole).slice(0, 600)}\ninput ${hex(buf).slice(0, 400)}`);
  same(feedPieces(splitAt(buf, cuts)), `split at ${JSON.stringify(cuts)}`);
  same(stepFrom(buf, junk), `step() from offset ${junk.length}`);
  if (buf.length <= 200 && cuts.length % 3 === 0) same(feedPieces(Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1))), 'byte by byte');
  // frames tile the stream from 0
  whole.frames.forEach((f, i) => ensure(f.start === (i === 0 ? 0 : whole.frames[i - 1]!.end), 'frames tile the stream'));
  const tail = whole.frames.length ? whole.frames[whole.frames.length - 1]!.end : 0;
  if (whole.error === undefined) ensure(tail + whole.bytesIntoFrame === buf.length, () => `frames end at ${tail}, pending ${whole.bytesIntoFrame}, stream ${buf.length}`);
  return whole;
}

// ---------- frame model ----------

const frameModel = fc.record({
  opcode: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  fin: fc.boolean(),
  rsv: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
  mask: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }),
  len: fc.oneof({ weight: 18, arbitrary: fc.integer({ min: 0, max: 125 }) }, { weight: 6, arbitrary: fc.integer({ min: 126, max: 1200 }) }, { weight: 1, arbitrary: fc.integer({ min: 65536, max: 70000 }) }),
  /** Length field width: the minimal one, or a longer (non-minimal, still valid to count) one. */
  encoding: fc.oneof({ weight: 5, arbitrary: fc.constant('minimal' as const) }, { weight: 1, arbitrary: fc.constantFrom('16' as const, '64' as const) }),
  seed: fc.integer({ min: 0, max: 255 }),
});
type FrameModel = typeof frameModel extends fc.Arbitrary<infer T> ? T : never;

function buildFrame(m: FrameModel): { bytes: Buffer; expect: Omit<Seen, 'start' | 'end'>; size: number } {
  const len = m.len;
  const enc = m.encoding === 'minimal' ? (len < 126 ? 7 : len < 0x10000 ? 16 : 64) : m.encoding === '16' && len < 0x10000 ? 16 : 64;
  const ext = enc === 7 ? 0 : enc === 16 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (m.mask ? 4 : 0));
  head[0] = (m.fin ? 0x80 : 0) | (m.rsv << 4) | m.opcode;
  head[1] = (m.mask ? 0x80 : 0) | (enc === 7 ? len : enc === 16 ? 126 : 127);
  if (enc === 16) head.writeUInt16BE(len, 2);
  if (enc === 64) {
    head.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    head.writeUInt32BE(len >>> 0, 6);
  }
  // Control-size payloads get a varied pattern (and are masked byte by byte); larger ones are one
  // byte value, so the masked form is the 4-byte mask pattern repeated and both are filled natively.
  let payload: Buffer;
  let wire: Buffer;
  if (len <= MAX_CONTROL_PAYLOAD) {
    payload = Buffer.alloc(len);
    for (let i = 0; i < len; i++) payload[i] = (m.seed + i * 7) & 0xff;
    wire = Buffer.from(payload);
    if (m.mask) for (let i = 0; i < len; i++) wire[i] = wire[i]! ^ m.mask[i & 3]!;
  } else {
    payload = Buffer.alloc(len, m.seed);
    wire = m.mask ? Buffer.alloc(len, Buffer.from([0, 1, 2, 3].map((k) => m.seed ^ m.mask![k]!))) : payload;
  }
  if (m.mask) Buffer.from(m.mask).copy(head, 2 + ext);
  const captured = isControlOpcode(m.opcode) && len <= MAX_CONTROL_PAYLOAD;
  return {
    bytes: Buffer.concat([head, wire]),
    size: head.length + len,
    expect: { fin: m.fin, rsv: m.rsv, opcode: m.opcode, masked: m.mask !== undefined, payloadLength: len, payload: captured ? payload.toString('hex') : undefined },
  };
}

const streamModel = fc.array(frameModel, { minLength: 1, maxLength: 8 });
/**
 * For mutation: 1-8 frames drawn from a seed (fast-check's structured generation costs more than
 * the tracking itself, and these are raw material for mutations), payloads up to 300 bytes (a
 * mutated header turns a big payload into thousands of tiny frames).
 */
const OPCODES = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa, 0x0, 0x1, 0x2, 0x8, 0x9, 0xa, 0x3, 0x7, 0xb, 0xf];
const seededFrames = fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer()).map(([count, seed]) => {
  const next = prng(seed);
  return Array.from({ length: count }, (): FrameModel => {
    const r = next();
    const small = (r & 3) !== 0;
    return {
      opcode: OPCODES[r >>> 28]!,
      fin: (r & 4) !== 0,
      rsv: (r & 0x70) === 0x70 ? (r >>> 8) & 7 : 0,
      mask: (r & 8) !== 0 ? Uint8Array.of(next() & 255, 7, 0x80, 0xff) : undefined,
      len: small ? (r >>> 12) % 126 : 126 + ((r >>> 12) % 175),
      encoding: (r & 0x180) === 0x180 ? ((r & 0x200) !== 0 ? '64' : '16') : 'minimal',
      seed: (r >>> 20) & 255,
    };
  });
});
const junkArb = bytesArb(10);

test('FrameTracker fuzz: modelled frame sequences are found exactly, however fed', { timeout: 120_000 }, () => {
  const n = check(
    'ws model',
    fc.property(streamModel, fc.nat(), cutsArb, junkArb, (frames, partial, cuts, junk) => {
      const built = frames.map(buildFrame);
      // a trailing partial frame: the tracker must report it as pending
      const last = built[built.length - 1]!;
      const cut = partial % (last.size + 1);
      const stream = Buffer.concat([...built.slice(0, -1).map((b) => b.bytes), last.bytes.subarray(0, cut)]);
      const whole = checkIncremental(stream, cuts, junk);
      const complete = cut === last.size ? built : built.slice(0, -1);
      const expected: Seen[] = [];
      let at = 0;
      for (const b of complete) {
        expected.push({ start: at, end: at + b.size, ...b.expect });
        at += b.size;
      }
      assert.deepEqual(whole.frames, expected);
      assert.equal(whole.error, undefined);
      assert.equal(whole.bytesIntoFrame, stream.length - at);
      if (cut > 0 && cut < last.size) assert.equal(whole.currentOpcode, last.expect.opcode);
    }),
    20_000,
  );
  assert.ok(n >= 20_000);
});

test('FrameTracker fuzz: encodeFrame output is tracked as what was encoded', { timeout: 60_000 }, () => {
  const n = check(
    'ws encodeFrame',
    fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 300 }), fc.boolean(), fc.integer({ min: 0, max: 7 }), fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined }), (opcode, len, fin, rsv, mask) => {
      const payload = Buffer.alloc(len, 0x42);
      const bytes = encodeFrame(opcode, payload, { fin, rsv, ...(mask ? { mask: Buffer.from(mask) } : {}) });
      const [f, ...rest] = new FrameTracker().feed(bytes);
      ensure(f !== undefined && rest.length === 0 && f.end === bytes.length, 'one frame');
      assert.deepEqual([f.opcode, f.fin, f.rsv, f.masked, f.payloadLength], [opcode, fin, rsv, mask !== undefined, len]);
      if (f.payload) assert.deepEqual(f.payload, payload);
    }),
    5_000,
  );
  assert.ok(n >= 5_000);
});

const mutatedStream = fc.oneof(
  fc.record({ frames: seededFrames, muts: mutationsArb(3, [0x00, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x88, 0x89, 0x8a, 0xfe, 0xff]) }).map(({ frames, muts }) => applyMutations(Buffer.concat(frames.map((f) => buildFrame(f).bytes)), muts)),
  // a rewritten length byte or extended length
  fc.record({ frames: seededFrames, i: fc.nat(), len7: fc.integer({ min: 0, max: 127 }), ext: fc.uint8Array({ minLength: 8, maxLength: 8 }) }).map(({ frames, i, len7, ext }) => {
    const parts = frames.map((f) => Buffer.from(buildFrame(f).bytes));
    const p = parts[i % parts.length]!;
    p[1] = (p[1]! & 0x80) | len7;
    const n = Math.min(len7 === 126 ? 2 : len7 === 127 ? 8 : 0, p.length - 2);
    Buffer.from(ext).copy(p, 2, 0, n);
    return Buffer.concat(parts);
  }),
);

test('FrameTracker fuzz: mutated and random streams give the same result however fed', { timeout: 120_000 }, () => {
  let errors = 0;
  let frames = 0;
  const n1 = check(
    'ws mutated',
    fc.property(mutatedStream, cutsArb, junkArb, (buf, cuts, junk) => {
      const r = checkIncremental(buf, cuts, junk);
      if (r.error) errors++;
      frames += r.frames.length;
    }),
    45_000,
  );
  const n2 = check(
    'ws random',
    fc.property(fc.oneof(bytesArb(300), bytesArb(40).map((b) => Buffer.concat([Buffer.from([0x82, 0x7f]), b]))), cutsArb, junkArb, (buf, cuts, junk) => {
      const r = checkIncremental(buf, cuts, junk);
      if (r.error) errors++;
      frames += r.frames.length;
    }),
    35_000,
  );
  console.log(`ws mutated/random: ${frames} frames, ${errors} unframeable streams`);
  assert.ok(n1 + n2 >= 80_000 && errors > 100 && frames > n1);
});
