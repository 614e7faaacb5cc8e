/**
 * Domain matcher shared by SNI, Host and per-request routing.
 * Patterns: exact names, `*.example.com` (any name ending in `.example.com`, never the apex),
 * `*` (any name), and other `*` globs (`api.*.example.com`). Case-insensitive, a trailing dot
 * is ignored, internationalised names are compared in punycode (node:url domainToASCII).
 */
import { configError } from '../../core/errors.js';
import { compileGlob, globMatch, type Glob } from './glob.js';
import { normalizeDomain } from '../../core/domain-name.js';

export { normalizeDomain };

/** Specificity bands of a domain match; the literal length is added within a band. */
export const DOMAIN_SCORE_NONE = 0;
export const DOMAIN_SCORE_WILDCARD = 1024;
export const DOMAIN_SCORE_EXACT = 2048;


export interface DomainMatcher {
  /** Normalised exact names. */
  readonly exact: readonly string[];
  /** For each `*.suffix` pattern, the normalised suffix (without `*.`). */
  readonly suffixes: readonly string[];
  /** Other globs, `*` included. */
  readonly globs: readonly Glob[];
  /** A bare `*` is among the patterns: it also matches a connection that gives no name (contract). */
  readonly anyName: boolean;
  /** `*` is the only pattern: matching needs no name at all. */
  readonly onlyAny: boolean;
  /**
   * Best specificity with which a normalised name matches: DOMAIN_SCORE_EXACT + length,
   * DOMAIN_SCORE_WILDCARD + literal length, or -1 for no match.
   */
  score(domain: string): number;
}

const VALID = /^[a-z0-9_*-]+(\.[a-z0-9_*-]+)*$/;

/** Normalises and checks one pattern; throws naming `path`. */
export function normalizeDomainPattern(raw: unknown, path: string): string {
  if (typeof raw !== 'string') throw configError(path, 'must be a string');
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed === '.') throw configError(path, 'empty domain');
  const n = normalizeDomain(trimmed);
  if (n === undefined || !VALID.test(n)) throw configError(path, `'${raw}' is not a valid domain pattern`);
  if (n.length > 253) throw configError(path, 'domain longer than 253 characters');
  return n;
}

export function compileDomainMatcher(domains: string | readonly string[], path: string): DomainMatcher {
  const list = typeof domains === 'string' ? [domains] : domains;
  if (!Array.isArray(list)) throw configError(path, 'must be a string or an array of strings');
  if (list.length === 0) throw configError(path, 'empty domain list (omit `domains` to match any or no domain)');
  const exact: string[] = [];
  const suffixes: string[] = [];
  const globs: Glob[] = [];
  let bare = 0;
  list.forEach((raw: unknown, i: number) => {
    const p = normalizeDomainPattern(raw, typeof domains === 'string' ? path : `${path}[${i}]`);
    if (p === '*') bare++;
    const star = p.indexOf('*');
    if (star < 0) exact.push(p);
    else if (p.startsWith('*.') && p.indexOf('*', 1) < 0) suffixes.push(p.slice(2));
    else globs.push(compileGlob(p));
  });
  return {
    exact,
    suffixes,
    globs,
    anyName: bare > 0,
    onlyAny: bare === list.length,
    score(domain: string): number {
      for (let i = 0; i < exact.length; i++) if (exact[i] === domain) return DOMAIN_SCORE_EXACT + domain.length;
      let best = -1;
      for (let i = 0; i < suffixes.length; i++) {
        const s = suffixes[i]!;
        const score = suffixScore(domain, s);
        if (score > best) best = score;
      }
      for (let i = 0; i < globs.length; i++) {
        const g = globs[i]!;
        const score = DOMAIN_SCORE_WILDCARD + g.literalLength;
        if (score > best && globMatch(g, domain, 0, domain.length)) best = score;
      }
      return best;
    },
  };
}

/** Score of `*.suffix` against a normalised name, or -1. */
export function suffixScore(domain: string, suffix: string): number {
  const dl = domain.length;
  const sl = suffix.length;
  if (dl < sl + 2 || domain.charCodeAt(dl - sl - 1) !== 46 || !domain.endsWith(suffix)) return -1;
  return DOMAIN_SCORE_WILDCARD + sl + 1;
}
