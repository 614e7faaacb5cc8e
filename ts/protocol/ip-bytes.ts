/**
 * Pure IPv4/IPv6 text <-> byte conversions used by the PROXY protocol parser and builder.
 * Parsing is the routing matchers' parser (one IP parser in the project), plus: no zone ids.
 * Strict: no leading zeros in IPv4 octets, no brackets. Never throws.
 */
import { parseV4, parseV6 } from '../core/ip.js';

/** Parses dotted-quad IPv4 ('1.2.3.4') into 4 bytes, or undefined if not strictly valid (the routing parser's rules). */
export function parseIPv4(text: string): Uint8Array | undefined {
  const n = parseV4(text, 0, text.length);
  if (n < 0) return undefined;
  return Uint8Array.of(Math.floor(n / 16777216) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** Parses an IPv6 address (RFC 4291 text forms, incl. '::' and a trailing dotted quad) into 16 bytes; no zone ids. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45 || text.includes('%')) return undefined;
  const h = new Uint16Array(8);
  if (!parseV6(text, 0, text.length, h)) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = h[i]! >> 8;
    out[i * 2 + 1] = h[i]! & 0xff;
  }
  return out;
}

export function formatIPv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** True if the 16 bytes at offset are an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
export function isV4Mapped(b: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 10; i++) if (b[offset + i] !== 0) return false;
  return b[offset + 10] === 0xff && b[offset + 11] === 0xff;
}

/** RFC 5952 canonical text: lower-case, longest zero run (>= 2 groups) as '::', mapped v4 as '::ffff:a.b.c.d'. */
export function formatIPv6(b: Uint8Array, offset = 0): string {
  if (isV4Mapped(b, offset)) return `::ffff:${formatIPv4(b, offset + 12)}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[offset + i * 2]! << 8) | b[offset + i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
  const left = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const right = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${left}::${right}`;
}
