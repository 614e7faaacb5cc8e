import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { formatIPv6, parseIPv4, parseIPv6 } from '../../ts/protocol/ip-bytes.js';
import { fuzzSeed, makeRng } from './helpers/rng.js';

test('parseIPv4 table', () => {
  const good = ['0.0.0.0', '255.255.255.255', '1.2.3.4', '10.0.0.1'];
  const bad = ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1..3.4', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1.2.3.0x4'];
  for (const s of good) assert.ok(parseIPv4(s), s);
  for (const s of bad) assert.equal(parseIPv4(s), undefined, s);
});

test('parseIPv6 table and RFC 5952 formatting', () => {
  const table: Array<[string, string | undefined]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:102:304', '::ffff:1.2.3.4'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    [':::', undefined],
    ['1:2:3:4:5:6:7', undefined],
    ['12345::', undefined],
    ['::g', undefined],
    ['1.2.3.4', undefined],
    ['::1.2.3', undefined],
    ['fe80::1%eth0', undefined],
    ['[::1]', undefined],
  ];
  for (const [input, want] of table) {
    const bytes = parseIPv6(input);
    assert.equal(bytes === undefined ? undefined : formatIPv6(bytes), want, input);
  }
});

test('parseIPv6 agrees with net.isIPv6 and formatIPv6 with the WHATWG serialiser (fuzz)', () => {
  const seed = fuzzSeed();
  const rng = makeRng(seed);
  const alphabet = '0123456789abcdefABCDEF:::..';
  for (let i = 0; i < 20_000; i++) {
    const s = Array.from({ length: rng.range(1, 40) }, () => alphabet[rng.int(alphabet.length)]).join('');
    assert.equal(parseIPv6(s) !== undefined, net.isIPv6(s), `${s} (FUZZ_SEED=${seed})`);
  }
  for (let i = 0; i < 20_000; i++) {
    const bytes = new Uint8Array(16);
    for (let g = 0; g < 8; g++) {
      if (rng.next() < 0.5) continue; // zero runs are common
      const v = rng.int(0x10000);
      bytes[g * 2] = v >> 8;
      bytes[g * 2 + 1] = v & 0xff;
    }
    const text = formatIPv6(bytes);
    assert.deepEqual(parseIPv6(text), bytes, text);
    if (!text.startsWith('::ffff:')) assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname, `${text} (FUZZ_SEED=${seed})`);
  }
});
