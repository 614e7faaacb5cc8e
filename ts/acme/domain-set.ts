/**
 * The set of names one ACME certificate covers (one per route: all of the route's domains).
 * Pure: normalisation, the key that identifies a set, the store file name, and the reasons
 * HTTP-01 cannot issue for a set.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { normalizeDomain } from '../core/domain-name.js';

export interface DomainSet {
  /** Identifies the set: its normalised names, sorted, comma-joined. */
  readonly key: string;
  /** Normalised names in the route's order; the first is the certificate's common name. */
  readonly names: readonly string[];
}

/** Normalised, de-duplicated names in their given order. Names that do not normalise are kept as written (problem() names them). */
export function domainSet(domains: readonly string[]): DomainSet {
  const names: string[] = [];
  for (const d of domains) {
    const n = normalizeDomain(d) ?? d;
    if (!names.includes(n)) names.push(n);
  }
  return Object.freeze({ key: [...names].sort().join(','), names: Object.freeze(names) });
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why HTTP-01 cannot issue a certificate for these names, or undefined when it can. */
export function acmeProblem(set: DomainSet): string | undefined {
  if (set.names.length === 0) return 'route names no domain to request a certificate for';
  if (set.names.length > 100) return `${set.names.length} names; an ACME certificate covers at most 100`;
  for (const name of set.names) {
    if (name.includes('*')) return `'${name}' is a wildcard; HTTP-01 cannot validate wildcard names (use a static certificate or certProvisionFunction)`;
    if (isIP(name) !== 0) return `'${name}' is an IP address; ACME HTTP-01 here issues for DNS names only`;
    const labels = name.split('.');
    if (labels.length < 2 || name.length > 253 || !labels.every((l) => LABEL.test(l))) return `'${name}' is not a public DNS name`;
  }
  return undefined;
}

/** A file-system safe stem: the first sorted name (readable) plus a hash of the whole set (unique). */
export function storeFileStem(set: DomainSet): string {
  const sorted = set.key.split(',');
  const first = (sorted[0] ?? 'cert').replace(/[^a-z0-9.-]/g, '_').slice(0, 100);
  const more = sorted.length > 1 ? `+${sorted.length - 1}` : '';
  const hash = createHash('sha256').update(set.key).digest('hex').slice(0, 12);
  return `${first}${more}-${hash}`;
}
