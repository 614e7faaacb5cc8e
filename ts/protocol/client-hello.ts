/**
 * Pure TLS ClientHello parser: Buffer in, result out, never throws.
 *
 * Handles a ClientHello that arrives over several TCP segments (the caller re-calls with the
 * concatenated buffer) and over several TLS records (the handshake message fragmented across
 * records of type 0x16). Every length field is checked against its container. Valid prefixes
 * always answer 'need-more'; malformed input answers 'invalid' as soon as it can be told.
 * Spec: RFC 8446 (TLS 1.3) sections 4.1.2 and 5.1, RFC 5246, RFC 6066 (server_name), RFC 7301 (ALPN).
 */

export type TlsVersionName = 'TLSv1.0' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export type ClientHelloResult =
  | { kind: 'need-more' }
  | { kind: 'not-tls' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'ok'; sni: string | undefined; alpn: string[]; version: TlsVersionName; bytesConsumed: number };

const CONTENT_TYPE_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const RECORD_HEADER_BYTES = 5;
const HANDSHAKE_HEADER_BYTES = 4;
/** TLSPlaintext.length limit (2^14), RFC 8446 5.1. */
export const MAX_TLS_RECORD_PAYLOAD = 16384;
/** Largest ClientHello body accepted (the handshake header's 24-bit length). */
export const MAX_CLIENT_HELLO_MESSAGE_BYTES = 16384;
/**
 * Cap on the bytes a caller should buffer while waiting for a ClientHello. A 16 KiB hello in
 * full-size records takes ~16.4 KiB; 64 KiB leaves room for heavily fragmented record layouts.
 * The parser answers 'invalid' for any layout whose records would end past this cap.
 */
export const MAX_CLIENT_HELLO_BYTES = 65536;
/** Smallest possible body: version(2) random(32) sid(1) suites(2+2) compression(1+1). */
const MIN_CLIENT_HELLO_BODY = 41;

const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;
const MAX_HOST_NAME_BYTES = 255;

const NEED_MORE: ClientHelloResult = Object.freeze({ kind: 'need-more' });
const NOT_TLS: ClientHelloResult = Object.freeze({ kind: 'not-tls' });

function invalid(reason: string): ClientHelloResult {
  return { kind: 'invalid', reason };
}

/** True if a connection's first byte can start a TLS handshake record. */
export function looksLikeTls(firstByte: number): boolean {
  return firstByte === CONTENT_TYPE_HANDSHAKE;
}

export function parseClientHello(buf: Buffer): ClientHelloResult {
  try {
    return parseRecords(buf);
  } catch {
    // Defensive net only: the parser checks every bound itself, and the fuzz tests assert this never fires.
    return invalid('internal parser error');
  }
}

/** Reads byte `index` of the handshake stream formed by the concatenated fragments. */
function streamByte(frags: Buffer[], index: number): number {
  let i = index;
  for (const f of frags) {
    if (i < f.length) return f[i]!;
    i -= f.length;
  }
  return -1;
}

function parseRecords(buf: Buffer): ClientHelloResult {
  const frags: Buffer[] = [];
  let available = 0; // handshake bytes present in buf
  let declared = 0; // handshake bytes announced by the record headers read so far
  let needed = -1; // 4 + handshake length, once known
  let pos = 0;

  while (needed === -1 || declared < needed) {
    // Another record is needed; it would end past the cap, so a caller never buffers more than the cap.
    if (pos >= MAX_CLIENT_HELLO_BYTES) return invalid(`ClientHello records exceed ${MAX_CLIENT_HELLO_BYTES} bytes`);
    if (pos >= buf.length) return NEED_MORE;
    const first = pos === 0;
    if (buf[pos] !== CONTENT_TYPE_HANDSHAKE) {
      return first ? NOT_TLS : invalid('non-handshake record inside a fragmented ClientHello');
    }
    if (pos + 1 < buf.length && buf[pos + 1] !== 0x03) {
      return first ? NOT_TLS : invalid('bad record version');
    }
    if (pos + 2 < buf.length && buf[pos + 2]! > 0x04) {
      return first ? NOT_TLS : invalid('bad record version');
    }
    if (pos + RECORD_HEADER_BYTES > buf.length) return NEED_MORE;
    const recLen = buf.readUInt16BE(pos + 3);
    if (recLen === 0) return invalid('empty handshake record');
    if (recLen > MAX_TLS_RECORD_PAYLOAD) return invalid(`record length ${recLen} exceeds 16384`);
    const start = pos + RECORD_HEADER_BYTES;
    const end = start + recLen;
    if (end > MAX_CLIENT_HELLO_BYTES) return invalid(`ClientHello records exceed ${MAX_CLIENT_HELLO_BYTES} bytes`);
    const slice = buf.subarray(start, Math.min(end, buf.length));
    frags.push(slice);
    available += slice.length;
    declared += recLen;
    pos = end;

    if (needed === -1 && available >= 1) {
      const hsType = streamByte(frags, 0);
      if (hsType !== HANDSHAKE_CLIENT_HELLO) return invalid(`handshake type ${hsType} is not ClientHello`);
    }
    if (needed === -1 && available >= HANDSHAKE_HEADER_BYTES) {
      const hsLen = (streamByte(frags, 1) << 16) | (streamByte(frags, 2) << 8) | streamByte(frags, 3);
      if (hsLen > MAX_CLIENT_HELLO_MESSAGE_BYTES) return invalid(`ClientHello length ${hsLen} exceeds ${MAX_CLIENT_HELLO_MESSAGE_BYTES}`);
      if (hsLen < MIN_CLIENT_HELLO_BODY) return invalid(`ClientHello length ${hsLen} is too short`);
      needed = HANDSHAKE_HEADER_BYTES + hsLen;
    }
    if (needed !== -1 && declared > needed) return invalid('trailing bytes after ClientHello in handshake record');
    if (end > buf.length) return NEED_MORE;
  }

  const msg = frags.length === 1 ? frags[0]! : Buffer.concat(frags, available);
  const body = msg.subarray(HANDSHAKE_HEADER_BYTES, needed);
  return parseBody(body, pos);
}

function parseBody(b: Buffer, bytesConsumed: number): ClientHelloResult {
  const n = b.length;
  if (n < MIN_CLIENT_HELLO_BODY) return invalid('ClientHello body too short');
  const major = b[0]!;
  const minor = b[1]!;
  if (major !== 0x03) return invalid(`unknown client_version ${major}.${minor}`);
  if (minor === 0x00) return invalid('SSLv3 ClientHello not supported');
  let version: TlsVersionName = minor === 0x01 ? 'TLSv1.0' : minor === 0x02 ? 'TLSv1.1' : 'TLSv1.2';

  let p = 2 + 32;
  const sidLen = b[p]!;
  p += 1;
  if (sidLen > 32) return invalid(`session_id length ${sidLen} exceeds 32`);
  if (p + sidLen > n) return invalid('session_id overruns ClientHello');
  p += sidLen;

  if (p + 2 > n) return invalid('cipher_suites length missing');
  const csLen = b.readUInt16BE(p);
  p += 2;
  if (csLen < 2 || csLen % 2 !== 0) return invalid(`bad cipher_suites length ${csLen}`);
  if (p + csLen > n) return invalid('cipher_suites overrun ClientHello');
  p += csLen;

  if (p + 1 > n) return invalid('compression_methods length missing');
  const cmLen = b[p]!;
  p += 1;
  if (cmLen < 1) return invalid('empty compression_methods');
  if (p + cmLen > n) return invalid('compression_methods overrun ClientHello');
  p += cmLen;

  let sni: string | undefined;
  let alpn: string[] = [];
  if (p === n) return { kind: 'ok', sni, alpn, version, bytesConsumed };

  if (p + 2 > n) return invalid('truncated extensions length');
  const extTotal = b.readUInt16BE(p);
  p += 2;
  if (p + extTotal !== n) return invalid('extensions length does not match ClientHello length');

  const seen = new Set<number>();
  while (p < n) {
    if (p + 4 > n) return invalid('truncated extension header');
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (p + len > n) return invalid(`extension ${type} overruns extensions block`);
    if (seen.has(type)) return invalid(`duplicate extension ${type}`);
    seen.add(type);
    const data = b.subarray(p, p + len);
    p += len;
    if (type === EXT_SERVER_NAME) {
      const r = parseServerName(data);
      if (typeof r !== 'string' && r !== undefined) return r;
      sni = r;
    } else if (type === EXT_ALPN) {
      const r = parseAlpn(data);
      if (!Array.isArray(r)) return r;
      alpn = r;
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      const r = parseSupportedVersions(data);
      if (typeof r !== 'boolean') return r;
      if (r) version = 'TLSv1.3';
    }
  }
  return { kind: 'ok', sni, alpn, version, bytesConsumed };
}

/** RFC 6066 3: ServerNameList. Returns the host_name (lower-cased) or undefined, or an invalid result. */
function parseServerName(d: Buffer): string | undefined | ClientHelloResult {
  if (d.length < 2) return invalid('server_name extension too short');
  const listLen = d.readUInt16BE(0);
  if (listLen + 2 !== d.length) return invalid('server_name list length mismatch');
  if (listLen === 0) return invalid('empty server_name list');
  let p = 2;
  let host: string | undefined;
  while (p < d.length) {
    if (p + 3 > d.length) return invalid('truncated server_name entry');
    const nameType = d[p]!;
    const nameLen = d.readUInt16BE(p + 1);
    p += 3;
    if (p + nameLen > d.length) return invalid('server_name entry overruns list');
    if (nameType === 0) {
      if (host !== undefined) return invalid('more than one host_name in server_name');
      if (nameLen === 0) return invalid('empty host_name');
      if (nameLen > MAX_HOST_NAME_BYTES) return invalid('host_name longer than 255 bytes');
      for (let i = p; i < p + nameLen; i++) {
        const c = d[i]!;
        if (c < 0x21 || c > 0x7e) return invalid('host_name contains a non-printable or non-ASCII byte');
      }
      host = d.toString('latin1', p, p + nameLen).toLowerCase();
    }
    p += nameLen;
  }
  return host;
}

/** RFC 7301 3.1: ProtocolNameList, each name 1..255 bytes. Names are decoded byte-for-byte (latin1). */
function parseAlpn(d: Buffer): string[] | ClientHelloResult {
  if (d.length < 2) return invalid('ALPN extension too short');
  const listLen = d.readUInt16BE(0);
  if (listLen + 2 !== d.length) return invalid('ALPN list length mismatch');
  if (listLen === 0) return invalid('empty ALPN list');
  const out: string[] = [];
  let p = 2;
  while (p < d.length) {
    const len = d[p]!;
    p += 1;
    if (len === 0) return invalid('empty ALPN protocol name');
    if (p + len > d.length) return invalid('ALPN protocol name overruns list');
    out.push(d.toString('latin1', p, p + len));
    p += len;
  }
  return out;
}

/** RFC 8446 4.2.1: ClientHello form, a 1-byte-length list of 2-byte versions. True if it offers TLS 1.3. */
function parseSupportedVersions(d: Buffer): boolean | ClientHelloResult {
  if (d.length < 1) return invalid('supported_versions extension too short');
  const listLen = d[0]!;
  if (listLen + 1 !== d.length) return invalid('supported_versions length mismatch');
  if (listLen < 2 || listLen % 2 !== 0) return invalid(`bad supported_versions list length ${listLen}`);
  let tls13 = false;
  for (let p = 1; p < d.length; p += 2) {
    if (d[p] === 0x03 && d[p + 1] === 0x04) tls13 = true;
  }
  return tls13;
}
