/**
 * PROXY protocol v1 (text) and v2 (binary) header parser and builder (haproxy proxy-protocol.txt).
 * Pure: Buffer in, result out, never throws. Incremental: a valid prefix answers 'need-more'.
 *
 * Own parser rather than proxy-protocol-js: its parsers throw on short or bad input, cannot tell
 * "incomplete" from "malformed", do not bound the v1 line to 107 bytes, accept any text as a v1
 * address, and read v2 addresses without checking the declared length against the buffer.
 * The tests use the library as an independent cross-check of the bytes built here.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip-bytes.js';

export type ProxyFamily = 'TCP4' | 'TCP6' | 'UNKNOWN' | 'UDP4' | 'UDP6' | 'UNIX';
export interface ProxyEndpoint {
  ip: string;
  port: number;
}

export type ProxyHeaderResult =
  | { kind: 'need-more' }
  | { kind: 'invalid'; reason: string }
  | {
      kind: 'ok';
      version: 1 | 2;
      command: 'PROXY' | 'LOCAL';
      family: ProxyFamily;
      source?: ProxyEndpoint;
      destination?: ProxyEndpoint;
      headerLength: number;
    };

/** v1: the whole line including CRLF is at most 107 bytes (spec 2.1). */
export const MAX_PROXY_V1_BYTES = 107;
const V2_FIXED_BYTES = 16;
/** Largest header either version can carry: the v2 fixed part plus a 16-bit length. */
export const MAX_PROXY_HEADER_BYTES = V2_FIXED_BYTES + 0xffff;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_ADDR_LEN_INET = 12;
const V2_ADDR_LEN_INET6 = 36;
const V2_ADDR_LEN_UNIX = 216;

const NEED_MORE: ProxyHeaderResult = Object.freeze({ kind: 'need-more' });
const invalid = (reason: string): ProxyHeaderResult => ({ kind: 'invalid', reason });

export function parseProxyHeader(buf: Buffer): ProxyHeaderResult {
  try {
    if (buf.length === 0) return NEED_MORE;
    if (buf[0] === V1_PREFIX[0]) return parseV1(buf);
    if (buf[0] === V2_SIGNATURE[0]) return parseV2(buf);
    return invalid('no PROXY protocol signature');
  } catch {
    return invalid('internal parser error'); // defensive net; the fuzz tests assert it never fires
  }
}

function matchesPrefix(buf: Buffer, sig: Buffer): boolean {
  const n = Math.min(buf.length, sig.length);
  for (let i = 0; i < n; i++) if (buf[i] !== sig[i]) return false;
  return true;
}

function parsePort(s: string): number {
  if (s.length === 0 || s.length > 5) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= 0xffff ? v : -1;
}

function parseV1(buf: Buffer): ProxyHeaderResult {
  if (!matchesPrefix(buf, V1_PREFIX)) return invalid('no PROXY protocol signature');
  const limit = Math.min(buf.length, MAX_PROXY_V1_BYTES);
  let lf = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const c = buf[i]!;
    if (c === 0x0d) {
      if (i + 1 < buf.length && buf[i + 1] !== 0x0a) return invalid('v1: CR not followed by LF');
      continue;
    }
    if (c === 0x0a) {
      if (buf[i - 1] !== 0x0d) return invalid('v1: bare LF');
      lf = i;
      break;
    }
    if (c < 0x20 || c > 0x7e) return invalid('v1: non-printable byte in header');
  }
  if (lf === -1) return buf.length >= MAX_PROXY_V1_BYTES ? invalid('v1: no CRLF within 107 bytes') : NEED_MORE;
  const headerLength = lf + 1;
  const parts = buf.toString('latin1', V1_PREFIX.length, lf - 1).split(' ');
  const proto = parts[0];
  if (proto === 'UNKNOWN') {
    // Spec: the receiver must ignore anything after UNKNOWN up to the CRLF.
    return { kind: 'ok', version: 1, command: 'PROXY', family: 'UNKNOWN', headerLength };
  }
  if (proto !== 'TCP4' && proto !== 'TCP6') return invalid(`v1: unknown protocol ${JSON.stringify(proto)}`);
  if (parts.length !== 5) return invalid('v1: expected "PROXY <proto> <src> <dst> <sport> <dport>"');
  let src: string;
  let dst: string;
  if (proto === 'TCP4') {
    if (!parseIPv4(parts[1]!) || !parseIPv4(parts[2]!)) return invalid('v1: bad IPv4 address');
    src = parts[1]!;
    dst = parts[2]!;
  } else {
    const s = parseIPv6(parts[1]!);
    const d = parseIPv6(parts[2]!);
    if (!s || !d) return invalid('v1: bad IPv6 address');
    src = formatIPv6(s);
    dst = formatIPv6(d);
  }
  const sport = parsePort(parts[3]!);
  const dport = parsePort(parts[4]!);
  if (sport < 0 || dport < 0) return invalid('v1: bad port');
  return {
    kind: 'ok',
    version: 1,
    command: 'PROXY',
    family: proto,
    source: { ip: src, port: sport },
    destination: { ip: dst, port: dport },
    headerLength,
  };
}

function parseV2(buf: Buffer): ProxyHeaderResult {
  if (!matchesPrefix(buf, V2_SIGNATURE)) return invalid('no PROXY protocol signature');
  if (buf.length > 12) {
    const verCmd = buf[12]!;
    if (verCmd >> 4 !== 0x2) return invalid(`v2: bad version ${verCmd >> 4}`);
    if ((verCmd & 0x0f) > 1) return invalid(`v2: bad command ${verCmd & 0x0f}`);
  }
  if (buf.length > 13) {
    const fam = buf[13]!;
    if (fam >> 4 > 3) return invalid(`v2: bad address family ${fam >> 4}`);
    if ((fam & 0x0f) > 2) return invalid(`v2: bad transport protocol ${fam & 0x0f}`);
  }
  if (buf.length < V2_FIXED_BYTES) return NEED_MORE;
  const local = (buf[12]! & 0x0f) === 0;
  const af = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  const len = buf.readUInt16BE(14);
  const headerLength = V2_FIXED_BYTES + len;
  const addrLen = af === 1 ? V2_ADDR_LEN_INET : af === 2 ? V2_ADDR_LEN_INET6 : af === 3 ? V2_ADDR_LEN_UNIX : 0;
  // A declared length too short for the family can be rejected before the body arrives.
  if (!local && len < addrLen) return invalid(`v2: length ${len} too short for address family`);
  if (buf.length < headerLength) return NEED_MORE;
  if (local) return { kind: 'ok', version: 2, command: 'LOCAL', family: 'UNKNOWN', headerLength };
  if (af === 0 || transport === 0) {
    return { kind: 'ok', version: 2, command: 'PROXY', family: 'UNKNOWN', headerLength };
  }
  const tlvError = checkTlvs(buf, V2_FIXED_BYTES + addrLen, headerLength);
  if (tlvError) return invalid(tlvError);
  if (af === 3) return { kind: 'ok', version: 2, command: 'PROXY', family: 'UNIX', headerLength };
  const a = V2_FIXED_BYTES;
  const stream = transport === 1;
  if (af === 1) {
    return {
      kind: 'ok',
      version: 2,
      command: 'PROXY',
      family: stream ? 'TCP4' : 'UDP4',
      source: { ip: formatIPv4(buf, a), port: buf.readUInt16BE(a + 8) },
      destination: { ip: formatIPv4(buf, a + 4), port: buf.readUInt16BE(a + 10) },
      headerLength,
    };
  }
  return {
    kind: 'ok',
    version: 2,
    command: 'PROXY',
    family: stream ? 'TCP6' : 'UDP6',
    source: { ip: formatIPv6(buf, a), port: buf.readUInt16BE(a + 32) },
    destination: { ip: formatIPv6(buf, a + 16), port: buf.readUInt16BE(a + 34) },
    headerLength,
  };
}

/** TLVs (type 1, length 2, value) must tile [start, end) exactly. Values are skipped. */
function checkTlvs(buf: Buffer, start: number, end: number): string | undefined {
  let p = start;
  while (p < end) {
    if (p + 3 > end) return 'v2: truncated TLV header';
    const len = buf.readUInt16BE(p + 1);
    p += 3 + len;
    if (p > end) return 'v2: TLV overruns header';
  }
  return undefined;
}

type Addr = { v4: Uint8Array } | { v6: Uint8Array };

/** Accepts '1.2.3.4', '::1', '[::1]', 'fe80::1%eth0' (zone dropped), '::ffff:1.2.3.4' (unmapped to IPv4). */
function toAddr(ip: string): Addr | undefined {
  let s = ip;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  const v4 = parseIPv4(s);
  if (v4) return { v4 };
  const v6 = parseIPv6(s);
  if (!v6) return undefined;
  let mapped = true;
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) mapped = false;
  if (mapped && v6[10] === 0xff && v6[11] === 0xff) return { v4: v6.subarray(12) };
  return { v6 };
}

function toV6(a: Addr): Uint8Array {
  if ('v6' in a) return a.v6;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(a.v4, 12);
  return out;
}

const validPort = (p: number): boolean => Number.isInteger(p) && p >= 0 && p <= 0xffff;

/**
 * Builds a PROXY header for a TCP connection. Both IPv4 (or IPv4-mapped) -> TCP4 with plain IPv4;
 * otherwise TCP6, with an IPv4 side written as ::ffff:a.b.c.d. Addresses or ports that cannot be
 * represented yield the spec's "unknown" form (v1 'PROXY UNKNOWN', v2 PROXY/UNSPEC) instead of throwing.
 */
export function buildProxyHeader(version: 'v1' | 'v2', src: ProxyEndpoint, dst: ProxyEndpoint): Buffer {
  const s = typeof src?.ip === 'string' ? toAddr(src.ip) : undefined;
  const d = typeof dst?.ip === 'string' ? toAddr(dst.ip) : undefined;
  const ok = s !== undefined && d !== undefined && validPort(src.port) && validPort(dst.port);
  if (!ok) {
    if (version === 'v1') return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    const out = Buffer.alloc(V2_FIXED_BYTES);
    V2_SIGNATURE.copy(out, 0);
    out[12] = 0x21;
    out[13] = 0x00;
    return out;
  }
  const both4 = 'v4' in s && 'v4' in d;
  if (version === 'v1') {
    const text = both4
      ? `PROXY TCP4 ${formatIPv4(s.v4)} ${formatIPv4(d.v4)} ${src.port} ${dst.port}\r\n`
      : `PROXY TCP6 ${formatIPv6(toV6(s))} ${formatIPv6(toV6(d))} ${src.port} ${dst.port}\r\n`;
    return Buffer.from(text, 'latin1');
  }
  const addrLen = both4 ? V2_ADDR_LEN_INET : V2_ADDR_LEN_INET6;
  const out = Buffer.alloc(V2_FIXED_BYTES + addrLen);
  V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21; // version 2, PROXY
  out[13] = both4 ? 0x11 : 0x21; // INET/INET6, STREAM
  out.writeUInt16BE(addrLen, 14);
  const ipBytes = both4 ? 4 : 16;
  out.set(both4 ? (s as { v4: Uint8Array }).v4 : toV6(s), V2_FIXED_BYTES);
  out.set(both4 ? (d as { v4: Uint8Array }).v4 : toV6(d), V2_FIXED_BYTES + ipBytes);
  out.writeUInt16BE(src.port, V2_FIXED_BYTES + 2 * ipBytes);
  out.writeUInt16BE(dst.port, V2_FIXED_BYTES + 2 * ipBytes + 2);
  return out;
}
