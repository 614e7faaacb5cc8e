/**
 * Pure IPv4/IPv6 text <-> byte conversions used by the PROXY protocol parser and builder.
 * Strict: no leading zeros in IPv4 octets, no zone ids, no brackets. Never throws.
 */

/** Parses dotted-quad IPv4 ('1.2.3.4') into 4 bytes, or undefined if not strictly valid. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (p.length === 0 || p.length > 3) return undefined;
    if (p.length > 1 && p.charCodeAt(0) === 0x30) return undefined; // leading zero: ambiguous (octal)
    let v = 0;
    for (let j = 0; j < p.length; j++) {
      const c = p.charCodeAt(j) - 0x30;
      if (c < 0 || c > 9) return undefined;
      v = v * 10 + c;
    }
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function parseHexGroup(g: string): number {
  if (g.length === 0 || g.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g.charCodeAt(i);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Parses an IPv6 address (RFC 4291 text forms, incl. '::' and a trailing dotted quad) into 16 bytes. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const dbl = text.indexOf('::');
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) return undefined;
  const groups: number[] = [];
  const tail: number[] = [];
  const parseSide = (side: string, into: number[], allowV4: boolean): boolean => {
    if (side.length === 0) return true;
    const parts = side.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4 && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return false;
        into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      const v = parseHexGroup(p);
      if (v < 0) return false;
      into.push(v);
    }
    return true;
  };
  if (dbl === -1) {
    if (!parseSide(text, groups, true) || groups.length !== 8) return undefined;
  } else {
    const head = text.slice(0, dbl);
    const rest = text.slice(dbl + 2);
    if (!parseSide(head, groups, false)) return undefined;
    if (!parseSide(rest, tail, true)) return undefined;
    if (groups.length + tail.length > 7) return undefined;
    const zeros = 8 - groups.length - tail.length;
    for (let i = 0; i < zeros; i++) groups.push(0);
    for (const t of tail) groups.push(t);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
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
