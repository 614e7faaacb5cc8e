/**
 * Client-IP matcher: single addresses, CIDR (v4 and v6, via ip-num), `192.168.1.*` wildcards,
 * ranges `a-b` and `*`. IPv4-mapped IPv6 equals its IPv4 form, in patterns and in addresses.
 * Compiled once; matching parses the address without allocating.
 */
import { IPv4CidrRange, IPv6CidrRange, Validator } from 'ip-num';
import { configError } from '../../core/errors.js';
import {
  IP_INVALID,
  IP_V6,
  bigIntToV6,
  compareV6,
  isV4Mapped,
  parseIp,
  parseV4,
  parseV6,
  v6ToBigInt,
} from '../../core/ip.js';
export { normalizeIp } from '../../core/ip.js';

export interface IpMatcher {
  matches(ip: string): boolean;
}

/** An IpMatcher that can also test an address parsed once by the caller (see parseIp). */
export interface ParsedIpMatcher extends IpMatcher {
  /** `v4` is the result of parseIp; when it is IP_V6, `v6` holds the hextets. */
  matchesParsed(v4: number, v6: Uint16Array): boolean;
}

const MAPPED_LO = 0xffff_0000_0000n;
const MAPPED_HI = 0xffff_ffff_ffffn;
const scratch = new Uint16Array(8);

class CompiledIpMatcher implements ParsedIpMatcher {
  constructor(
    private readonly any: boolean,
    /** pairs [lo, hi] */
    private readonly v4Ranges: Float64Array,
    /** pairs [mask, base] for wildcards with a '*' before a fixed octet */
    private readonly v4Masks: Uint32Array,
    /** 16 hextets per range: lo then hi */
    private readonly v6Ranges: Uint16Array,
  ) {}

  matches(ip: string): boolean {
    return this.matchesParsed(parseIp(ip, scratch), scratch);
  }

  matchesParsed(v4: number, v6: Uint16Array): boolean {
    if (v4 === IP_INVALID) return false;
    if (this.any) return true;
    if (v4 === IP_V6) {
      const r = this.v6Ranges;
      for (let i = 0; i < r.length; i += 16) {
        if (compareV6(v6, 0, r, i) >= 0 && compareV6(v6, 0, r, i + 8) <= 0) return true;
      }
      return false;
    }
    const r = this.v4Ranges;
    for (let i = 0; i < r.length; i += 2) if (v4 >= r[i]! && v4 <= r[i + 1]!) return true;
    const m = this.v4Masks;
    for (let i = 0; i < m.length; i += 2) if (((v4 & m[i]!) >>> 0) === m[i + 1]) return true;
    return false;
  }
}

type Parsed = { kind: 'any' } | { kind: 'v4'; lo: number; hi: number } | { kind: 'mask'; mask: number; base: number } | { kind: 'v6'; lo: bigint; hi: bigint };

function parseAddress(s: string): { v4: number } | { v6: bigint } | undefined {
  const out = new Uint16Array(8);
  if (s.indexOf(':') < 0) {
    const v4 = parseV4(s, 0, s.length);
    return v4 < 0 ? undefined : { v4 };
  }
  if (s.indexOf('%') >= 0 || !parseV6(s, 0, s.length, out)) return undefined;
  if (isV4Mapped(out)) return { v4: out[6]! * 65536 + out[7]! };
  return { v6: v6ToBigInt(out) };
}

function hexV6(v: bigint): string {
  const h = bigIntToV6(v);
  return Array.from(h, (x) => x.toString(16)).join(':');
}

function parseCidr(p: string): Parsed | undefined {
  const slash = p.indexOf('/');
  const addr = p.slice(0, slash);
  const prefixText = p.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (addr.indexOf(':') < 0) {
    if (!Validator.isValidIPv4CidrNotation(p)[0]) return undefined;
    const r = IPv4CidrRange.fromCidr(p);
    return { kind: 'v4', lo: Number(r.getFirst().getValue()), hi: Number(r.getLast().getValue()) };
  }
  const a = parseAddress(addr);
  if (a === undefined || prefix > 128) return undefined;
  // ip-num reads hex notation only: rewrite embedded dotted IPv4 (::ffff:10.0.0.0/104) first
  const v = 'v6' in a ? a.v6 : MAPPED_LO + BigInt(a.v4);
  const cidr = `${hexV6(v)}/${prefix}`;
  if (!Validator.isValidIPv6CidrNotation(cidr)[0]) return undefined;
  const r = IPv6CidrRange.fromCidr(cidr);
  return { kind: 'v6', lo: r.getFirst().getValue(), hi: r.getLast().getValue() };
}

function parseWildcard(p: string): Parsed | undefined {
  const parts = p.split('.');
  if (parts.length > 4 || parts.some((x) => x === '')) return undefined;
  while (parts.length < 4) {
    if (parts[parts.length - 1] !== '*') return undefined;
    parts.push('*');
  }
  let mask = 0;
  let base = 0;
  for (const part of parts) {
    const wild = part === '*';
    if (!wild && (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255)) return undefined;
    mask = mask * 256 + (wild ? 0 : 255);
    base = base * 256 + (wild ? 0 : Number(part));
  }
  return { kind: 'mask', mask, base };
}

function parsePattern(p: string): Parsed | undefined {
  if (p === '*') return { kind: 'any' };
  if (p.indexOf('/') >= 0) return parseCidr(p);
  const dash = p.indexOf('-');
  if (dash >= 0) {
    const a = parseAddress(p.slice(0, dash).trim());
    const b = parseAddress(p.slice(dash + 1).trim());
    if (!a || !b) return undefined;
    if ('v4' in a && 'v4' in b) return a.v4 <= b.v4 ? { kind: 'v4', lo: a.v4, hi: b.v4 } : undefined;
    const lo = 'v4' in a ? MAPPED_LO + BigInt(a.v4) : a.v6;
    const hi = 'v4' in b ? MAPPED_LO + BigInt(b.v4) : b.v6;
    return lo <= hi ? { kind: 'v6', lo, hi } : undefined;
  }
  if (p.indexOf('*') >= 0) return parseWildcard(p);
  const a = parseAddress(p);
  if (!a) return undefined;
  return 'v4' in a ? { kind: 'v4', lo: a.v4, hi: a.v4 } : { kind: 'v6', lo: a.v6, hi: a.v6 };
}

/** Compiles IP patterns; throws a config error naming `path[i]` for a malformed one. */
export function compileIpMatcher(patterns: readonly string[], path: string): ParsedIpMatcher {
  let any = false;
  const v4: number[] = [];
  const masks: number[] = [];
  const v6: Uint16Array[] = [];
  patterns.forEach((raw, i) => {
    if (typeof raw !== 'string') throw configError(`${path}[${i}]`, 'must be a string');
    const parsed = parsePattern(raw.trim().toLowerCase());
    if (!parsed) throw configError(`${path}[${i}]`, `'${raw}' is not an IP address, CIDR, wildcard (1.2.3.*) or range (a-b)`);
    switch (parsed.kind) {
      case 'any':
        any = true;
        break;
      case 'v4':
        v4.push(parsed.lo, parsed.hi);
        break;
      case 'mask':
        masks.push(parsed.mask, parsed.base);
        break;
      case 'v6': {
        v6.push(bigIntToV6(parsed.lo), bigIntToV6(parsed.hi));
        // the part inside ::ffff:0:0/96 also matches the plain IPv4 form
        const lo = parsed.lo > MAPPED_LO ? parsed.lo : MAPPED_LO;
        const hi = parsed.hi < MAPPED_HI ? parsed.hi : MAPPED_HI;
        if (lo <= hi) v4.push(Number(lo - MAPPED_LO), Number(hi - MAPPED_LO));
        break;
      }
    }
  });
  const v6Flat = new Uint16Array(v6.length * 8);
  v6.forEach((h, i) => v6Flat.set(h, i * 8));
  return new CompiledIpMatcher(any, Float64Array.from(v4), Uint32Array.from(masks), v6Flat);
}
