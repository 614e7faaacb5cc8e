/**
 * Name -> certificate lookup for SNI: exact SAN names first, then a wildcard covering exactly
 * one label (`*.example.com` covers `a.example.com`, not `a.b.example.com` nor `example.com`).
 * Built once per route table and never mutated afterwards.
 */
import { normalizeDomain } from '../core/domain-name.js';
import type { CertInfo } from './cert-info.js';

export interface SniCandidate<T> {
  readonly value: T;
  readonly info: CertInfo;
}

/** Of two certificates for the same name, prefer one still valid at `now`, then the later expiry. */
function better<T>(a: SniCandidate<T>, b: SniCandidate<T>, now: number): SniCandidate<T> {
  const aValid = a.info.notAfter.getTime() > now;
  const bValid = b.info.notAfter.getTime() > now;
  if (aValid !== bValid) return aValid ? a : b;
  return b.info.notAfter.getTime() > a.info.notAfter.getTime() ? b : a;
}

export class SniIndex<T> {
  readonly #exact = new Map<string, SniCandidate<T>>();
  readonly #wild = new Map<string, SniCandidate<T>>();

  /** Candidates in priority order; on a tie (same name, same validity) the earlier one wins. */
  constructor(candidates: Iterable<SniCandidate<T>>, now: number) {
    for (const c of candidates) {
      for (const name of c.info.names) {
        const prev = this.#exact.get(name);
        this.#exact.set(name, prev === undefined ? c : better(prev, c, now));
      }
      for (const suffix of c.info.wildcardSuffixes) {
        const prev = this.#wild.get(suffix);
        this.#wild.set(suffix, prev === undefined ? c : better(prev, c, now));
      }
    }
  }

  get size(): number {
    return this.#exact.size + this.#wild.size;
  }

  /** The certificate for a server name (any case, trailing dot allowed), or undefined. */
  lookup(servername: string | undefined): T | undefined {
    if (servername === undefined || servername === '') return undefined;
    const name = normalizeDomain(servername);
    if (name === undefined) return undefined;
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact.value;
    const dot = name.indexOf('.');
    if (dot <= 0) return undefined;
    return this.#wild.get(name.slice(dot + 1))?.value;
  }
}
