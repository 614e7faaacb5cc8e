/**
 * One tls.SecureContext per certificate, keyed by a hash of its key and certificate PEM, so a
 * route table rebuilt with the same certificates reuses the same contexts. Work is staged in a
 * generation (reusing live entries, creating missing ones) and swapped in by commit(); entries
 * the new generation does not use are dropped then, which keeps the cache bounded by the table.
 */
import { createHash, constants } from 'node:crypto';
import * as tls from 'node:tls';
import { inspectCertificate, type CertInfo } from './cert-info.js';

export interface PemPair {
  key: string;
  cert: string;
}

export interface CachedContext {
  /** sha256 of key and certificate PEM. */
  readonly id: string;
  readonly context: tls.SecureContext;
  readonly info: CertInfo;
  /** What it was built from (a route's tls.versions builds a variant of it). */
  readonly pair: PemPair;
}

/** A route's tls.versions: the lowest and highest version its handshakes may use. */
export interface VersionRange {
  readonly min: tls.SecureVersion;
  readonly max: tls.SecureVersion;
}

/** TLS versions offered on terminated connections (the lowest is `tls.minVersion`). */
export const TLS_MIN_VERSION: tls.SecureVersion = 'TLSv1.2';
export const TLS_MAX_VERSION: tls.SecureVersion = 'TLSv1.3';

/** Settings every terminating context shares (options `tls`); the server's cipher order is always enforced. */
export interface ContextSettings {
  ciphers?: string | undefined;
  minVersion?: tls.SecureVersion | undefined;
  ecdhCurve?: string | undefined;
  sessionTimeout?: number | undefined;
  /** false: no session tickets (SSL_OP_NO_TICKET; options allowSessionTicket). Default true. */
  sessionTickets?: boolean | undefined;
}

export function pairId(pair: PemPair): string {
  return createHash('sha256').update(pair.key).update('\0').update(pair.cert).digest('hex');
}

/** Builds a context and inspects the certificate; throws when the PEM or the key does not load. */
export function buildContext(pair: PemPair, id = pairId(pair), settings: ContextSettings = {}, range?: VersionRange): CachedContext {
  const info = inspectCertificate(pair.cert);
  const context = tls.createSecureContext({
    key: pair.key,
    cert: pair.cert,
    minVersion: range?.min ?? settings.minVersion ?? TLS_MIN_VERSION,
    maxVersion: range?.max ?? TLS_MAX_VERSION,
    // The server picks the cipher by its own order (nginx ssl_prefer_server_ciphers, HAProxy's
    // default): a client cannot talk it down to, say, AES128-SHA when ECDHE-GCM is shared.
    honorCipherOrder: true,
    // No client-initiated renegotiation (a CPU DoS; nginx refuses it too): a bare server TLSSocket
    // does not get Node's own renegotiation limit, which only tls.Server wires up.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | (settings.sessionTickets === false ? constants.SSL_OP_NO_TICKET : 0),
    ...(settings.ciphers !== undefined ? { ciphers: settings.ciphers } : {}),
    ...(settings.ecdhCurve !== undefined ? { ecdhCurve: settings.ecdhCurve } : {}),
    ...(settings.sessionTimeout !== undefined ? { sessionTimeout: settings.sessionTimeout } : {}),
  });
  return Object.freeze({ id, context, info, pair });
}

export class ContextGeneration {
  readonly #next = new Map<string, CachedContext>();

  constructor(
    private readonly live: ReadonlyMap<string, CachedContext>,
    private readonly onCreate: () => void,
    private readonly settings: ContextSettings = {},
  ) {}

  /** The context for a pair: reused from the live cache or this generation, else built. Throws on bad PEM. */
  get(pair: PemPair): CachedContext {
    const id = pairId(pair);
    let entry = this.#next.get(id) ?? this.live.get(id);
    if (entry === undefined) {
      entry = buildContext(pair, id, this.settings);
      this.onCreate();
    }
    this.#next.set(id, entry);
    return entry;
  }

  /** @internal entries used by this generation */
  entries(): ReadonlyMap<string, CachedContext> {
    return this.#next;
  }
}

export class SecureContextCache {
  #live: ReadonlyMap<string, CachedContext> = new Map();
  /** Contexts of live entries for a route's tls.versions, keyed `id|min|max`, built on first use. */
  #variants = new Map<string, CachedContext>();
  #created = 0;

  constructor(private readonly settings: ContextSettings = {}) {}

  /** Start building the next set of contexts; nothing changes until commit(). */
  stage(): ContextGeneration {
    return new ContextGeneration(this.#live, () => this.#created++, this.settings);
  }

  /** Make a generation the live set (entries it did not use are released). */
  commit(gen: ContextGeneration): void {
    this.#live = new Map(gen.entries());
    for (const [key, v] of this.#variants) if (!this.#live.has(v.id)) this.#variants.delete(key);
  }

  /** `entry` limited to a route's version range (built once per entry and range). Throws on bad settings. */
  variant(entry: CachedContext, range: VersionRange): CachedContext {
    const key = `${entry.id}|${range.min}|${range.max}`;
    let v = this.#variants.get(key);
    if (v === undefined) {
      v = buildContext(entry.pair, entry.id, this.settings, range);
      this.#created++;
      // bounded by the entries x the distinct ranges in the table; commit drops those of entries no longer live
      this.#variants.set(key, v);
    }
    return v;
  }

  /** Contexts live now. */
  get size(): number {
    return this.#live.size;
  }

  /** Contexts built since this cache was created (reuse does not count). */
  get created(): number {
    return this.#created;
  }
}
