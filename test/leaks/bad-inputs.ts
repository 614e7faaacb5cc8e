/**
 * Malformed first bytes for the bad-input tests: broken TLS ClientHellos and broken PROXY
 * headers, each with the connection:error reasons the proxy may answer with. Built by hand
 * (and from the protocol tests' hello builder), independent of the parsers under test.
 */
import type { Rng } from '../protocol/helpers/rng.js';
import { hello, sniExt, handshake, helloBody, record } from '../protocol/helpers/hello-builder.js';

export interface IBadCase {
  name: string;
  /** Written in order, one per event-loop turn. */
  chunks: Buffer[];
  /** Send FIN after the chunks. */
  fin: boolean;
  /** Reasons of 'connection:error' accepted for this case ('route:miss' for a miss event). */
  reasons: readonly string[];
}

const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A v2 header: signature, ver/cmd, fam/proto, declared length, body. */
export function v2(verCmd: number, famProto: number, declared: number, body: Buffer): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = verCmd;
  fixed[1] = famProto;
  fixed.writeUInt16BE(declared, 2);
  return Buffer.concat([v2Signature, fixed, body]);
}

/** A valid v2 PROXY TCP4 header (addresses are only data: 192.0.2.x is a documentation range). */
export function v2Tcp4(): Buffer {
  return v2(0x21, 0x11, 12, Buffer.from([192, 0, 2, 1, 192, 0, 2, 2, 0x30, 0x39, 0x01, 0xbb]));
}

export function v1Tcp4(): Buffer {
  return Buffer.from('PROXY TCP4 192.0.2.1 192.0.2.2 12345 443\r\n', 'latin1');
}

const one = (b: Buffer | string): Buffer[] => [typeof b === 'string' ? Buffer.from(b, 'latin1') : b];

/** Deterministic malformed ClientHellos; each has exactly one expected reason. */
export function malformedHellos(domain: string): IBadCase[] {
  const good = hello({ extensions: [sniExt(domain)] });
  const err = ['client_hello'];
  return [
    { name: 'record length 0xffff', chunks: one(Buffer.concat([Buffer.from([0x16, 3, 1, 0xff, 0xff]), Buffer.alloc(64, 1)])), fin: false, reasons: err },
    { name: 'zero-length record', chunks: one(Buffer.from([0x16, 3, 1, 0, 0])), fin: false, reasons: err },
    { name: 'handshake length 16 MiB', chunks: one(record(0x16, Buffer.concat([Buffer.from([1, 0xff, 0xff, 0xff]), Buffer.alloc(60, 2)]))), fin: false, reasons: err },
    { name: 'handshake type 2 (ServerHello)', chunks: one(record(0x16, handshake(helloBody(), 2))), fin: false, reasons: err },
    { name: 'host_name with a NUL byte', chunks: one(hello({ extensions: [sniExt(Buffer.from('bad\0name.test', 'latin1'))] })), fin: false, reasons: err },
    { name: 'extensions length mismatch', chunks: one(hello({ extensions: [sniExt(domain)], extensionsLength: 3 })), fin: false, reasons: err },
    { name: 'SSLv3 client_version', chunks: one(hello({ clientVersion: 0x0300, extensions: [sniExt(domain)] })), fin: false, reasons: err },
    { name: 'alert record after a valid first fragment', chunks: one(Buffer.concat([record(0x16, good.subarray(5, 20)), record(0x15, Buffer.from([2, 40]))])), fin: false, reasons: err },
    { name: 'half a ClientHello, then silence', chunks: one(good.subarray(0, good.length >> 1)), fin: false, reasons: ['initial_data_timeout'] },
    { name: 'connect and say nothing', chunks: [], fin: false, reasons: ['initial_data_timeout'] },
  ];
}

/** Random TLS-looking garbage: 0x16 0x03 0x0[0-4] then random bytes, written in random pieces. */
export function garbageHellos(rng: Rng, count: number): IBadCase[] {
  const out: IBadCase[] = [];
  for (let i = 0; i < count; i++) {
    const body = rng.bytes(rng.range(2, 3000));
    const all = Buffer.concat([Buffer.from([0x16, 0x03, rng.int(5)]), body]);
    out.push({ name: `garbage #${i} (${all.length} bytes)`, chunks: split(rng, all), fin: false, reasons: ['client_hello', 'initial_data_timeout', 'sniff_too_large'] });
  }
  // 0x16 followed by anything at all: may not even look like TLS (then it is raw bytes: no route names none).
  for (let i = 0; i < count >> 1; i++) {
    const all = Buffer.concat([Buffer.from([0x16]), rng.bytes(rng.range(1, 500))]);
    out.push({ name: `0x16+random #${i}`, chunks: split(rng, all), fin: false, reasons: ['client_hello', 'initial_data_timeout', 'sniff_too_large', 'route:miss'] });
  }
  return out;
}

/** Oversized: a ClientHello announced at the 16 KiB maximum, sent as 1-byte records until past every cap. */
export function fragmentFlood(): IBadCase {
  const parts: Buffer[] = [record(0x16, Buffer.from([1])), record(0x16, Buffer.from([0x00])), record(0x16, Buffer.from([0x40])), record(0x16, Buffer.from([0x00]))];
  for (let i = 0; i < 12_000; i++) parts.push(record(0x16, Buffer.from([0x55])));
  const all = Buffer.concat(parts);
  const chunks: Buffer[] = [];
  for (let off = 0; off < all.length; off += 8192) chunks.push(all.subarray(off, off + 8192));
  return { name: `fragment flood (${all.length} bytes of 1-byte records)`, chunks, fin: false, reasons: ['client_hello', 'sniff_too_large'] };
}

/** A valid ClientHello cut short, then FIN. */
export function truncatedHellos(domain: string): IBadCase[] {
  const good = hello({ extensions: [sniExt(domain)] });
  return [1, 3, 5, 9, 40, good.length - 1].map((n) => ({
    name: `first ${n} of ${good.length} hello bytes, then FIN`,
    chunks: one(good.subarray(0, n)),
    fin: true,
    reasons: ['client_hello', 'truncated_client_hello', 'protocol_error'],
  }));
}

/** Malformed PROXY headers from a trusted peer, and a trusted peer that sends none. */
export function malformedProxyHeaders(): IBadCase[] {
  const p = ['proxy_header'];
  const cases: Array<[string, Buffer[], boolean]> = [
    ['v1 unknown protocol', one('PROXY GARBAGE 1 2 3 4\r\n'), false],
    ['v1 bad IPv4', one('PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n'), false],
    ['v1 port 70000', one('PROXY TCP4 192.0.2.1 192.0.2.2 70000 80\r\n'), false],
    ['v1 bare LF', one('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n'), false],
    ['v1 missing field', one('PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n'), false],
    ['v1 no CRLF within 107 bytes', one(`PROXY TCP4 ${'9'.repeat(150)}`), false],
    ['v1 NUL byte', one('PROXY TCP4 192.0.2.1\0 192.0.2.2 1 2\r\n'), false],
    ['v1 cut short, then FIN', one('PROXY TCP4 192.0.2.1 '), true],
    ['v2 version 3', [v2(0x31, 0x11, 12, Buffer.alloc(12))], false],
    ['v2 command 5', [v2(0x25, 0x11, 12, Buffer.alloc(12))], false],
    ['v2 length too short for INET', [v2(0x21, 0x11, 5, Buffer.alloc(5))], false],
    ['v2 TLV overrun', [v2(0x21, 0x11, 16, Buffer.concat([Buffer.alloc(12), Buffer.from([0x01, 0x00, 0x09, 0x00])]))], false],
    ['v2 cut short, then FIN', [v2(0x21, 0x11, 12, Buffer.alloc(4))], true],
    ['no header: plain text', one('hello, no header here\r\n'), false],
    ['no header: a TLS ClientHello', one(hello({ extensions: [sniExt('x.test')] })), false],
  ];
  return [
    ...cases.map(([name, chunks, fin]) => ({ name, chunks, fin, reasons: p })),
    { name: 'no header: connect and say nothing', chunks: [], fin: false, reasons: ['initial_data_timeout'] },
  ];
}

/** Well-formed PROXY headers from a peer that is not in proxyIPs. */
export function untrustedProxyHeaders(): IBadCase[] {
  const r = ['untrusted_proxy_header'];
  return [
    { name: 'untrusted v1', chunks: [v1Tcp4()], fin: false, reasons: r },
    { name: 'untrusted v2', chunks: [v2Tcp4()], fin: false, reasons: r },
    { name: 'untrusted v1 followed by data', chunks: [Buffer.concat([v1Tcp4(), Buffer.from('data')])], fin: false, reasons: r },
  ];
}

function split(rng: Rng, b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    const n = rng.range(1, Math.max(1, b.length - off));
    out.push(b.subarray(off, off + n));
    off += n;
  }
  return out;
}
