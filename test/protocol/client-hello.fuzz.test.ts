import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseClientHello, type ClientHelloResult } from '../../ts/protocol/client-hello.js';
import { extractHandshake, lengthFields, rerecord, rerecordRandom } from './helpers/tls-records.js';
import { fuzzSeed, makeRng, type Rng } from './helpers/rng.js';

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'client-hellos');
const seeds = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.bin'))
  .map((f) => readFileSync(join(fixtureDir, f)));
// Single-record forms (so lengthFields() can walk them) plus fragmented forms.
const single = seeds.map((s) => rerecord(extractHandshake(s), (rem) => rem));
const singleFields = single.map(lengthFields);

const KINDS = new Set(['need-more', 'not-tls', 'invalid', 'ok']);

function check(buf: Buffer, what: string, seed: number): ClientHelloResult {
  let r: ClientHelloResult;
  try {
    r = parseClientHello(buf);
  } catch (err) {
    assert.fail(`threw on ${what} (FUZZ_SEED=${seed}) input=${buf.toString('hex')}: ${String(err)}`);
  }
  if (!KINDS.has(r.kind)) assert.fail(`unknown kind ${JSON.stringify(r)}`);
  if (r.kind === 'invalid' && r.reason === 'internal parser error') {
    assert.fail(`defensive catch fired on ${what} (FUZZ_SEED=${seed}) input=${buf.toString('hex')}`);
  }
  if (r.kind === 'ok') {
    if (r.bytesConsumed < 47 || r.bytesConsumed > buf.length) assert.fail(`bytesConsumed ${r.bytesConsumed} out of range`);
    if (r.sni !== undefined && !/^[\x21-\x7e]{1,255}$/.test(r.sni)) assert.fail(`bad sni ${JSON.stringify(r.sni)}`);
    if (r.sni !== undefined && r.sni !== r.sni.toLowerCase()) assert.fail('sni not lower-cased');
  }
  return r;
}

function mutate(rng: Rng): { buf: Buffer; what: string } {
  const base = rng.next() < 0.6 ? rng.pick(single) : rerecordRandom(extractHandshake(rng.pick(seeds)), rng);
  const b = Buffer.from(base);
  switch (rng.int(7)) {
    case 0: {
      const flips = rng.range(1, 8);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(b.length);
        b[at] = b[at]! ^ (1 << rng.int(8));
      }
      return { buf: b, what: 'bit flips' };
    }
    case 1:
      return { buf: b.subarray(0, rng.int(b.length)), what: 'truncation' };
    case 2: {
      const idx = rng.int(single.length);
      const b = Buffer.from(single[idx]!);
      const f = rng.pick(singleFields[idx]!);
      const max = 2 ** (8 * f.width) - 1;
      const cur = b.readUIntBE(f.offset, f.width);
      const v = rng.pick([0, 1, max, cur + 1, cur - 1, cur + rng.range(2, 300), rng.int(max + 1)]);
      b.writeUIntBE(((v % (max + 1)) + max + 1) % (max + 1), f.offset, f.width);
      return { buf: b, what: 'length-field corruption' };
    }
    case 3: {
      const at = rng.int(b.length + 1);
      return { buf: Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 16)), b.subarray(at)]), what: 'insertion' };
    }
    case 4: {
      const at = rng.int(b.length);
      return { buf: Buffer.concat([b.subarray(0, at), b.subarray(at + rng.range(1, 16))]), what: 'deletion' };
    }
    case 5: {
      const n = rng.range(1, 20);
      for (let i = 0; i < n; i++) b[rng.int(b.length)] = rng.int(256);
      return { buf: b, what: 'byte overwrite' };
    }
    default: {
      // random data behind a plausible record header
      const body = rng.bytes(rng.int(600));
      const hdr = Buffer.from([0x16, 0x03, rng.int(5), 0, 0]);
      hdr.writeUInt16BE(rng.next() < 0.5 ? body.length : rng.int(0x10000), 3);
      if (body.length > 0 && rng.next() < 0.7) body[0] = 1;
      return { buf: Buffer.concat([hdr, body]), what: 'random record' };
    }
  }
}

test('ClientHello fuzz: >= 100,000 cases never throw and finish fast', { timeout: 60_000 }, () => {
  const seed = fuzzSeed();
  const rng = makeRng(seed);
  const counts: Record<string, number> = {};
  const started = performance.now();
  let cases = 0;
  for (let i = 0; i < 30_000; i++) {
    const buf = rng.next() < 0.5 ? rng.bytes(rng.int(300)) : Buffer.concat([Buffer.from([0x16]), rng.bytes(rng.int(300))]);
    const r = check(buf, 'random buffer', seed);
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    cases++;
  }
  for (let i = 0; i < 80_000; i++) {
    const { buf, what } = mutate(rng);
    const r = check(buf, what, seed);
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    cases++;
    // A result must not depend on bytes after what it consumed.
    if (r.kind === 'ok' && i % 16 === 0) {
      const again = check(buf.subarray(0, r.bytesConsumed), `${what} (consumed part)`, seed);
      assert.deepEqual(again, r, `FUZZ_SEED=${seed}`);
    }
    // Every strict prefix of an accepted hello is a valid prefix: 'need-more', never an early verdict.
    if (r.kind === 'ok' && i % 64 === 0) {
      for (let n = 0; n < r.bytesConsumed; n++) {
        const p = parseClientHello(buf.subarray(0, n));
        if (p.kind !== 'need-more') assert.fail(`prefix ${n} of accepted ${what} gave ${JSON.stringify(p)} (FUZZ_SEED=${seed})`);
      }
    }
  }
  const ms = performance.now() - started;
  console.log(`# client-hello fuzz: ${cases} cases in ${ms.toFixed(0)} ms, seed ${seed}, ${JSON.stringify(counts)}`);
  assert.ok(cases >= 100_000);
  assert.ok(ms < 10_000, `fuzz took ${ms} ms`);
  assert.ok((counts['ok'] ?? 0) > 1000 && (counts['invalid'] ?? 0) > 1000, 'mutations reach both ok and invalid');
});
