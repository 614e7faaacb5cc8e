import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import {
  FrameTracker,
  encodeFrame,
  isControlOpcode,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  type CompletedFrame,
} from '../../ts/protocol/ws-frames.js';

interface SenderFrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
type SenderFrame = (data: Buffer, options: SenderFrameOptions) => Buffer[];
const require = createRequire(import.meta.url);
const wsSender = (require('ws') as { Sender: { frame: SenderFrame } }).Sender;

/** One frame made by the ws library's own Sender (masked like a client, or not like a server). */
function wsFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; mask?: boolean; rsv1?: boolean } = {}): Buffer {
  const parts = wsSender.frame(Buffer.from(payload), {
    fin: opts.fin ?? true,
    opcode,
    mask: opts.mask ?? false,
    readOnly: false,
    rsv1: opts.rsv1 ?? false,
  });
  return Buffer.concat(parts);
}

/** Split `buf` at the given cut points (sorted, deduplicated, inside the buffer). */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < buf.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

interface Seen {
  /** Absolute stream offsets of frame starts and ends. */
  start: number;
  end: number;
  frame: CompletedFrame;
}

function feedAll(chunks: Buffer[], tracker = new FrameTracker()): Seen[] {
  const seen: Seen[] = [];
  let base = 0;
  for (const chunk of chunks) {
    for (const frame of tracker.feed(chunk)) seen.push({ start: base + frame.start, end: base + frame.end, frame });
    base += chunk.length;
  }
  return seen;
}

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

describe('FrameTracker tables', () => {
  const cases: Array<{ name: string; frames: Buffer[]; expect: Array<{ opcode: number; len: number; fin?: boolean; payload?: string }> }> = [
    { name: 'RFC 5.7 single-frame unmasked "Hello"', frames: [Buffer.from('810548656c6c6f', 'hex')], expect: [{ opcode: OP_TEXT, len: 5 }] },
    {
      name: 'RFC 5.7 single-frame masked "Hello"',
      frames: [Buffer.from('818537fa213d7f9f4d5158', 'hex')],
      expect: [{ opcode: OP_TEXT, len: 5 }],
    },
    {
      name: 'RFC 5.7 fragmented "Hel" + "lo"',
      frames: [Buffer.from('010348656c', 'hex'), Buffer.from('80026c6f', 'hex')],
      expect: [
        { opcode: OP_TEXT, len: 3, fin: false },
        { opcode: OP_CONTINUATION, len: 2, fin: true },
      ],
    },
    {
      name: 'RFC 5.7 unmasked Ping "Hello" and masked Pong "Hello"',
      frames: [Buffer.from('890548656c6c6f', 'hex'), Buffer.from('8a8537fa213d7f9f4d5158', 'hex')],
      expect: [
        { opcode: OP_PING, len: 5, payload: 'Hello' },
        { opcode: OP_PONG, len: 5, payload: 'Hello' },
      ],
    },
    { name: 'RFC 5.7 256 bytes binary (16-bit length)', frames: [encodeFrame(OP_BINARY, Buffer.alloc(256, 7))], expect: [{ opcode: OP_BINARY, len: 256 }] },
    { name: '64 KiB binary (64-bit length)', frames: [encodeFrame(OP_BINARY, Buffer.alloc(65536, 1))], expect: [{ opcode: OP_BINARY, len: 65536 }] },
    { name: 'boundary 125 / 126 / 65535', frames: [125, 126, 65535].map((n) => encodeFrame(OP_BINARY, Buffer.alloc(n))), expect: [125, 126, 65535].map((len) => ({ opcode: OP_BINARY, len })) },
    { name: 'empty frames', frames: [encodeFrame(OP_TEXT, Buffer.alloc(0)), encodeFrame(OP_PING, Buffer.alloc(0), { mask: MASK })], expect: [{ opcode: OP_TEXT, len: 0 }, { opcode: OP_PING, len: 0, payload: '' }] },
    {
      name: 'control frames between data fragments',
      frames: [
        encodeFrame(OP_TEXT, Buffer.from('part1'), { fin: false, mask: MASK }),
        encodeFrame(OP_PING, Buffer.from('p'), { mask: MASK }),
        encodeFrame(OP_CONTINUATION, Buffer.alloc(300, 0x61), { fin: false, mask: MASK }),
        encodeFrame(OP_PONG, Buffer.from('pong!'), { mask: MASK }),
        encodeFrame(OP_CONTINUATION, Buffer.from('end'), { mask: MASK }),
        encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]), { mask: MASK }),
      ],
      expect: [
        { opcode: OP_TEXT, len: 5, fin: false },
        { opcode: OP_PING, len: 1, payload: 'p' },
        { opcode: OP_CONTINUATION, len: 300, fin: false },
        { opcode: OP_PONG, len: 5, payload: 'pong!' },
        { opcode: OP_CONTINUATION, len: 3, fin: true },
        { opcode: OP_CLOSE, len: 5, payload: '\u0003\u00e8bye' },
      ],
    },
    { name: 'RSV1 (permessage-deflate) bit kept apart', frames: [encodeFrame(OP_TEXT, Buffer.from('xx'), { rsv: 4 })], expect: [{ opcode: OP_TEXT, len: 2 }] },
  ];

  for (const c of cases) {
    const stream = Buffer.concat(c.frames);
    const ends: number[] = [];
    let at = 0;
    for (const f of c.frames) ends.push((at += f.length));
    const check = (seen: Seen[], how: string): void => {
      assert.deepEqual(
        seen.map((s) => s.end),
        ends,
        `${how}: frame ends`,
      );
      assert.deepEqual(
        seen.map((s) => s.start),
        [0, ...ends.slice(0, -1)],
        `${how}: frame starts`,
      );
      seen.forEach((s, i) => {
        const want = c.expect[i]!;
        assert.equal(s.frame.opcode, want.opcode, `${how}: opcode ${i}`);
        assert.equal(s.frame.payloadLength, want.len, `${how}: length ${i}`);
        if (want.fin !== undefined) assert.equal(s.frame.fin, want.fin, `${how}: fin ${i}`);
        if (want.payload !== undefined) assert.equal(s.frame.payload?.toString('latin1'), want.payload, `${how}: payload ${i}`);
        else if (!isControlOpcode(want.opcode)) assert.equal(s.frame.payload, undefined);
      });
    };
    test(`${c.name}: whole`, () => check(feedAll([stream]), 'whole'));
    test(`${c.name}: byte by byte`, () => {
      const tracker = new FrameTracker();
      check(feedAll([...stream].map((b) => Buffer.from([b])), tracker), 'bytewise');
      assert.equal(tracker.atBoundary, true);
    });
    test(`${c.name}: every single split point`, () => {
      for (let cut = 1; cut < Math.min(stream.length, 400); cut++) check(feedAll(splitAt(stream, [cut])), `cut ${cut}`);
    });
  }

  test('header split inside the 64-bit length and the mask key', () => {
    const frame = encodeFrame(OP_BINARY, Buffer.alloc(70000, 2), { mask: MASK });
    const tracker = new FrameTracker();
    assert.deepEqual(tracker.feed(frame.subarray(0, 5)), []);
    assert.equal(tracker.currentOpcode, OP_BINARY);
    assert.equal(tracker.currentPayloadLength, -1);
    assert.equal(tracker.bytesIntoFrame, 5);
    assert.deepEqual(tracker.feed(frame.subarray(5, 12)), []);
    assert.equal(tracker.currentPayloadLength, -1, 'mask key not complete yet');
    assert.deepEqual(tracker.feed(frame.subarray(12, 14)), []);
    assert.equal(tracker.currentPayloadLength, 70000);
    assert.deepEqual(tracker.feed(frame.subarray(14, 100)), []);
    const [done] = tracker.feed(frame.subarray(100));
    assert.equal(done?.start, -100);
    assert.equal(done?.end, frame.length - 100);
    assert.equal(done?.masked, true);
    assert.equal(tracker.atBoundary, true);
    assert.equal(tracker.currentOpcode, -1);
  });

  test('step() stops at each frame end', () => {
    const stream = Buffer.concat([encodeFrame(OP_TEXT, Buffer.from('a')), encodeFrame(OP_PING, Buffer.from('bb')), encodeFrame(OP_TEXT, Buffer.from('c'))]);
    const tracker = new FrameTracker();
    const stops: number[] = [];
    let pos = 0;
    while (pos < stream.length) {
      pos = tracker.step(stream, pos);
      stops.push(pos);
      assert.ok(tracker.completed);
    }
    assert.deepEqual(stops, [3, 7, 10]);
  });

  test('captureControl: false copies nothing', () => {
    const [f] = new FrameTracker({ captureControl: false }).feed(encodeFrame(OP_PONG, Buffer.from('abc')));
    assert.equal(f?.payload, undefined);
    assert.equal(f?.payloadLength, 3);
  });

  test('an oversized control frame is tracked but not captured', () => {
    const [f] = new FrameTracker().feed(encodeFrame(OP_PONG, Buffer.alloc(200)));
    assert.equal(f?.payload, undefined);
    assert.equal(f?.payloadLength, 200);
  });

  test('a 64-bit length beyond 2^53 - 1 is an error, not a crash', () => {
    const tracker = new FrameTracker();
    const bad = Buffer.from([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1, 0xaa]);
    assert.deepEqual(tracker.feed(bad), []);
    assert.match(tracker.error ?? '', /2\^53/);
    assert.deepEqual(tracker.feed(encodeFrame(OP_TEXT, Buffer.from('x'))), []);
  });

  test('the largest 64-bit length it can count is tracked', () => {
    const tracker = new FrameTracker();
    const head = Buffer.from([0x82, 0x7f, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert.deepEqual(tracker.feed(head), []);
    assert.equal(tracker.error, undefined);
    assert.equal(tracker.currentPayloadLength, Number.MAX_SAFE_INTEGER);
  });
});

describe('FrameTracker property: frames from ws Sender, split anywhere', () => {
  const frameArb = fc.record({
    kind: fc.constantFrom('text', 'binary', 'ping', 'pong', 'close', 'fragment'),
    size: fc.oneof(fc.integer({ min: 0, max: 130 }), fc.integer({ min: 126, max: 70_000 })),
    mask: fc.boolean(),
    rsv1: fc.boolean(),
    seed: fc.integer({ min: 0, max: 255 }),
  });

  test('boundaries, opcodes and control payloads match what was sent', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (specs, cutSeeds) => {
        const frames: Buffer[] = [];
        const expect: Array<{ opcode: number; fin: boolean; len: number; payload?: Buffer }> = [];
        for (const s of specs) {
          const control = s.kind === 'ping' || s.kind === 'pong' || s.kind === 'close';
          const len = control ? Math.min(s.size, 125) : s.size;
          const payload = Buffer.alloc(len, s.seed);
          for (let i = 0; i < len; i++) payload[i] = (s.seed + i * 31) & 0xff;
          if (s.kind === 'fragment') {
            // A fragmented message: first + continuation, with a ping between them.
            const half = len >> 1;
            const ping = Buffer.from('mid');
            frames.push(wsFrame(OP_BINARY, payload.subarray(0, half), { fin: false, mask: s.mask }));
            frames.push(wsFrame(OP_PING, ping, { mask: s.mask }));
            frames.push(wsFrame(OP_CONTINUATION, payload.subarray(half), { fin: true, mask: s.mask }));
            expect.push({ opcode: OP_BINARY, fin: false, len: half });
            expect.push({ opcode: OP_PING, fin: true, len: 3, payload: ping });
            expect.push({ opcode: OP_CONTINUATION, fin: true, len: len - half });
            continue;
          }
          const opcode = { text: OP_TEXT, binary: OP_BINARY, ping: OP_PING, pong: OP_PONG, close: OP_CLOSE }[s.kind];
          frames.push(wsFrame(opcode, payload, { mask: s.mask, rsv1: s.rsv1 && !control }));
          expect.push({ opcode, fin: true, len, ...(control ? { payload } : {}) });
        }
        const stream = Buffer.concat(frames);
        const cuts = cutSeeds.map((n) => n % (stream.length + 1));
        const tracker = new FrameTracker();
        const seen = feedAll(splitAt(stream, cuts), tracker);
        const ends: number[] = [];
        let at = 0;
        for (const f of frames) ends.push((at += f.length));
        assert.deepEqual(
          seen.map((s) => s.end),
          ends,
        );
        assert.deepEqual(
          seen.map((s) => s.start),
          [0, ...ends.slice(0, -1)],
        );
        seen.forEach((s, i) => {
          const want = expect[i]!;
          assert.equal(s.frame.opcode, want.opcode);
          assert.equal(s.frame.fin, want.fin);
          assert.equal(s.frame.payloadLength, want.len);
          if (want.payload) assert.deepEqual(s.frame.payload, want.payload);
        });
        assert.equal(tracker.atBoundary, true);
      }),
      { numRuns: 300 },
    );
  });

  test('encodeFrame agrees with ws Sender byte for byte (unmasked)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(OP_TEXT, OP_BINARY, OP_CONTINUATION), fc.boolean(), (len, opcode, fin) => {
        const payload = Buffer.alloc(len, 0x5a);
        assert.deepEqual(encodeFrame(opcode, payload, { fin }), wsFrame(opcode, payload, { fin }));
      }),
      { numRuns: 100 },
    );
  });
});
