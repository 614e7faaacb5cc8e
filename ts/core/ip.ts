/**
 * Allocation-free IP address parsing for the hot path.
 *
 * `parseIp` returns the IPv4 address as an unsigned 32-bit number (>= 0), `IP_V6` when the address
 * is IPv6 (its eight hextets are written into `out6`), or `IP_INVALID`. IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`, `::ffff:102:304`) is returned as its IPv4 number, so both forms match alike.
 * A zone id (`fe80::1%eth0`) is ignored.
 */
export const IP_INVALID = -1;
export const IP_V6 = -2;

/** Parses a dotted IPv4 address in s[start, end): the number, or -1. Leading zeros are refused (ambiguous). */
export function parseV4(s: string, start: number, end: number): number {
  let value = 0;
  let octet = -1;
  let digits = 0;
  let dots = 0;
  let first = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 0) first = c;
      else if (first === 48) return -1;
      octet = (octet < 0 ? 0 : octet) * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = -1;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 in s[start, end) into out (8 hextets). Returns false when malformed. */
export function parseV6(s: string, start: number, end: number, out: Uint16Array): boolean {
  const zone = s.indexOf('%', start);
  if (zone >= 0 && zone < end) end = zone;
  let n = 0; // hextets written
  let gap = -1; // index in out where '::' was
  let i = start;
  if (end - start < 2) return false;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      out.fill(0);
      return true;
    }
  }
  while (i < end) {
    // one group: hex digits, or a trailing dotted IPv4
    let j = i;
    let v = 0;
    while (j < end && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      if (n > 6) return false;
      const v4 = parseV4(s, i, end);
      if (v4 < 0) return false;
      out[n++] = Math.floor(v4 / 65536);
      out[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (j === i || j - i > 4 || n >= 8) return false;
    out[n++] = v;
    if (j === end) {
      i = end;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    if (j + 1 < end && s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  if (gap < 0) return n === 8;
  if (n >= 8) return false;
  const tail = n - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[n - 1 - k];
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

/** True when out holds ::ffff:a.b.c.d. */
export function isV4Mapped(h: Uint16Array): boolean {
  return h[0] === 0 && h[1] === 0 && h[2] === 0 && h[3] === 0 && h[4] === 0 && h[5] === 0xffff;
}

export function parseIp(s: string, out6: Uint16Array): number {
  let colon = false;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 58) {
      colon = true;
      break;
    }
  }
  if (!colon) {
    const v4 = parseV4(s, 0, s.length);
    return v4 < 0 ? IP_INVALID : v4;
  }
  if (!parseV6(s, 0, s.length, out6)) return IP_INVALID;
  if (isV4Mapped(out6)) return out6[6]! * 65536 + out6[7]!;
  return IP_V6;
}

export function formatV4(n: number): string {
  return `${Math.floor(n / 16777216) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function v6ToBigInt(h: Uint16Array): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 16n) | BigInt(h[i]!);
  return v;
}

export function bigIntToV6(v: bigint): Uint16Array {
  const out = new Uint16Array(8);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffffn);
    v >>= 16n;
  }
  return out;
}

/** Lexicographic compare of two hextet arrays: <0, 0, >0. */
export function compareV6(a: Uint16Array, aOff: number, b: Uint16Array, bOff: number): number {
  for (let i = 0; i < 8; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

const normalizeScratch = new Uint16Array(8);

/** Plain form of an address: `::ffff:1.2.3.4` -> `1.2.3.4`, IPv6 lower-cased, zone id dropped. */
export function normalizeIp(ip: string): string {
  const v4 = parseIp(ip, normalizeScratch);
  if (v4 >= 0) return ip.indexOf(':') >= 0 ? formatV4(v4) : ip;
  const zone = ip.indexOf('%');
  const base = zone >= 0 ? ip.slice(0, zone) : ip;
  return base.toLowerCase();
}
