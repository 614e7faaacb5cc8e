/**
 * Pure facts about a PEM certificate: the names it covers and its validity window.
 * Parsing uses node's X509Certificate; the subjectAltName text is split here.
 */
import { X509Certificate } from 'node:crypto';
import { normalizeDomain } from '../core/domain-name.js';

export interface CertInfo {
  /** Exact DNS names (normalised), from the SAN list, or the subject CN when the SAN list has none. */
  readonly names: readonly string[];
  /** For each `*.suffix` SAN entry, the normalised suffix (one label is covered, never the apex). */
  readonly wildcardSuffixes: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * Split node's `subjectAltName` text (`DNS:a.com, DNS:*.b.com, IP Address:1.2.3.4`) into
 * [type, value] pairs. Values containing separators are JSON-quoted by node (`DNS:"a,b"`).
 */
export function splitSubjectAltName(san: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (san === undefined || san === '') return out;
  let i = 0;
  const n = san.length;
  while (i < n) {
    while (i < n && (san[i] === ' ' || san[i] === ',')) i++;
    if (i >= n) break;
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon);
    let j = colon + 1;
    let value: string;
    if (san[j] === '"') {
      // JSON string: find the closing quote, skipping escapes
      let k = j + 1;
      while (k < n && san[k] !== '"') k += san[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(san.slice(j, k + 1)) as string;
      } catch {
        value = san.slice(j + 1, k);
      }
      j = k + 1;
    } else {
      const comma = san.indexOf(', ', j);
      const end = comma < 0 ? n : comma;
      value = san.slice(j, end);
      j = end;
    }
    out.push([type, value]);
    i = j;
  }
  return out;
}

/** The subject CN from node's `subject` text (`CN=a.com\nO=x`), if any. */
export function commonNameOf(subject: string): string | undefined {
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

/** Classify DNS name patterns into exact names and one-label wildcard suffixes; other forms are dropped. */
export function classifyNames(raw: readonly string[]): { names: string[]; wildcardSuffixes: string[] } {
  const names: string[] = [];
  const wildcardSuffixes: string[] = [];
  for (const r of raw) {
    if (r.startsWith('*.')) {
      const suffix = normalizeDomain(r.slice(2));
      if (suffix !== undefined && !suffix.includes('*') && !wildcardSuffixes.includes(suffix)) wildcardSuffixes.push(suffix);
      continue;
    }
    if (r.includes('*')) continue; // partial-label wildcards (`a*.b.com`) are not honoured
    const name = normalizeDomain(r);
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return { names, wildcardSuffixes };
}

/** Parses the first certificate of a PEM string. Throws when it is not a certificate. */
export function inspectCertificate(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  const dns = splitSubjectAltName(x.subjectAltName)
    .filter(([type]) => type === 'DNS')
    .map(([, value]) => value);
  if (dns.length === 0) {
    const cn = commonNameOf(x.subject);
    if (cn !== undefined) dns.push(cn);
  }
  const { names, wildcardSuffixes } = classifyNames(dns);
  return Object.freeze({
    names: Object.freeze(names),
    wildcardSuffixes: Object.freeze(wildcardSuffixes),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
  });
}
