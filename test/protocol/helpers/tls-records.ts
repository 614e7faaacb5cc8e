/** Test helpers that take TLS handshake bytes apart and re-record them into differently sized records. */
import type { Rng } from './rng.js';

/** Concatenates the payloads of the leading handshake records (type 0x16) of a captured flight. */
export function extractHandshake(flight: Buffer): Buffer {
  const parts: Buffer[] = [];
  let p = 0;
  let need = -1;
  let have = 0;
  while (p + 5 <= flight.length && flight[p] === 0x16) {
    const len = flight.readUInt16BE(p + 3);
    parts.push(flight.subarray(p + 5, p + 5 + len));
    have += len;
    p += 5 + len;
    if (need === -1 && have >= 4) {
      const all = Buffer.concat(parts);
      need = 4 + ((all[1]! << 16) | (all[2]! << 8) | all[3]!);
    }
    if (need !== -1 && have >= need) break;
  }
  return Buffer.concat(parts).subarray(0, need === -1 ? undefined : need);
}

/** Wraps handshake bytes into records whose payload sizes come from `sizeOf` (clamped to 1..16384). */
export function rerecord(handshake: Buffer, sizeOf: (remaining: number) => number, recordVersion = 0x0301): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  while (p < handshake.length) {
    const remaining = handshake.length - p;
    const size = Math.max(1, Math.min(16384, remaining, Math.floor(sizeOf(remaining))));
    const hdr = Buffer.alloc(5);
    hdr[0] = 0x16;
    hdr.writeUInt16BE(recordVersion, 1);
    hdr.writeUInt16BE(size, 3);
    out.push(hdr, handshake.subarray(p, p + size));
    p += size;
  }
  return Buffer.concat(out);
}

/** Re-records into random-size records: mostly small, sometimes large. */
export function rerecordRandom(handshake: Buffer, rng: Rng): Buffer {
  return rerecord(handshake, (rem) => (rng.next() < 0.7 ? rng.range(1, 16) : rng.range(1, rem)));
}

/**
 * Offsets and widths of every length field in a single-record ClientHello flight (record, handshake,
 * session_id, cipher_suites, compression, extensions block, each extension, SNI/ALPN/versions lists).
 * Used by the fuzzer to corrupt exactly the fields that the parser must bound-check.
 */
export function lengthFields(flight: Buffer): Array<{ offset: number; width: 1 | 2 | 3 }> {
  const f: Array<{ offset: number; width: 1 | 2 | 3 }> = [{ offset: 3, width: 2 }, { offset: 6, width: 3 }];
  const b = 9; // body start
  let p = b + 34;
  f.push({ offset: p, width: 1 });
  p += 1 + flight[p]!;
  f.push({ offset: p, width: 2 });
  p += 2 + flight.readUInt16BE(p);
  f.push({ offset: p, width: 1 });
  p += 1 + flight[p]!;
  if (p + 2 > flight.length) return f;
  f.push({ offset: p, width: 2 });
  p += 2;
  while (p + 4 <= flight.length) {
    const type = flight.readUInt16BE(p);
    const len = flight.readUInt16BE(p + 2);
    f.push({ offset: p + 2, width: 2 });
    const d = p + 4;
    if (type === 0 || type === 16) f.push({ offset: d, width: 2 });
    if (type === 0) f.push({ offset: d + 3, width: 2 });
    if (type === 16) f.push({ offset: d + 2, width: 1 });
    if (type === 43) f.push({ offset: d, width: 1 });
    p = d + len;
  }
  return f.filter((x) => x.offset + x.width <= flight.length);
}
