/**
 * Certificates for terminated TLS: one per route (static, provisioned, ACME or self-signed),
 * chosen per handshake by SNI. prepare() builds the whole new state (contexts, SNI index,
 * statuses) and swaps it in at the end, so a failed or superseded prepare leaves the old state
 * live. An ACME certificate that arrives later (issued or renewed in the background) is swapped
 * into the live state by acmeUpdated(): new handshakes get it, open connections keep theirs.
 *
 * Lookup order: exact SAN name, one-label wildcard SAN, the matched route's own certificate,
 * then a self-signed `localhost` certificate, so a handshake always has a context.
 */
import type * as tls from 'node:tls';
import { SmartProxyConfigError } from '../core/errors.js';
import type { CompiledRoute, RouteTable } from '../routing/route-table.js';
import type { ILogger, ISmartProxyOptions } from '../types.js';
import { classifyNames } from './cert-info.js';
import { SecureContextCache, pairId, type CachedContext, type ContextGeneration, type ContextSettings, type PemPair } from './secure-context-cache.js';
import { createSelfSignedCertificate } from './self-signed.js';
import { SniIndex } from './sni-index.js';
import { provisionCertificate } from './provision.js';

export type CertificateState = 'valid' | 'pending' | 'error' | 'expired';
/** Where the certificate being served came from. */
export type CertificateSource = 'static' | 'provision' | 'acme' | 'self-signed';

/** What `proxy.getCertificateStatus(routeName)` returns. */
export interface ICertificateStatus {
  /** The route's first domain ('' when it names none). */
  domain: string;
  /** Every domain of the route (one certificate covers them all). */
  domains: string[];
  status: CertificateState;
  /** notAfter / notBefore of the certificate being served. */
  expiryDate?: Date;
  issueDate?: Date;
  source: CertificateSource;
  error?: string;
}

/** issued: a route got a provisioned certificate it did not have; renewed: a different one replaced it; failed: an attempt failed. */
export type CertificateEventName = 'certificate:issued' | 'certificate:renewed' | 'certificate:failed';

export interface ICertificateEventInfo {
  routeName: string;
  domain: string;
  source: CertificateSource;
  error?: string;
  /** notAfter of an ACME certificate issued or renewed. */
  expiryDate?: Date;
}

/** What an ACME order came to (reported by the ACME service to the store). */
export type AcmeOutcome = { kind: 'issued' | 'renewed'; notAfter: Date } | { kind: 'failed'; error: string };

/** What the certificate store serves for a domain set. */
export interface AcmeCertState {
  /** valid: `pair` is an ACME certificate; pending: none yet, an order is due; error: none, and the last order failed (or cannot be made). */
  readonly state: 'pending' | 'valid' | 'error';
  readonly pair: PemPair | undefined;
  /** The last failure, also while an older certificate is still served. */
  readonly error: string | undefined;
  /** No order will be made for this set (e.g. a wildcard name); `error` says why. */
  readonly unorderable: boolean;
}

/** The ACME side as the store uses it (ts/acme/acme-service.ts). */
export interface AcmeCertificates {
  /** Called when a preparation starts; passed back to retain(). */
  mark(): number;
  /** Registers a route's domain set (loading a stored certificate); resolves to the set's key. */
  want(domains: readonly string[]): Promise<string>;
  current(key: string): AcmeCertState;
  /** The sets the committed table uses. */
  retain(keys: ReadonlySet<string>, mark: number): void;
}

export interface CertStoreDeps {
  logger: ILogger;
  certProvisionFunction?: ISmartProxyOptions['certProvisionFunction'];
  /** When `acme` is configured: 'auto' routes (and certProvisionFunction answers of 'http01') use it. */
  acme?: AcmeCertificates;
  /** Bound on one certProvisionFunction call. Default 60 000 ms. */
  provisionTimeoutMs?: number;
  /** Wall clock for 'expired' (default Date.now). */
  now?: () => number;
  /** Provisioning outcomes, after the new state is live (an unchanged certificate raises none). */
  onEvent?: (event: CertificateEventName, info: ICertificateEventInfo) => void;
  /** Cipher list, minimum version, curves, session lifetime of every context (options `tls`). */
  tls?: ContextSettings;
  /** For clients whose SNI no certificate names (options `tls.defaultCertificate`). */
  defaultCertificate?: PemPair;
  /** A certProvisionFunction that throws (or times out) falls back to ACME when configured (options certProvisionFallbackToAcme). Default true. */
  fallbackToAcme?: boolean;
}

interface RouteCert {
  readonly entry: CachedContext;
  readonly domain: string;
  readonly domains: readonly string[];
  readonly source: CertificateSource;
  readonly state: 'valid' | 'pending' | 'error';
  readonly error: string | undefined;
  /** The route's ACME domain set, when ACME provides (or is to provide) its certificate. */
  readonly acmeKey: string | undefined;
}

interface Candidate {
  readonly value: CachedContext;
  readonly info: CachedContext['info'];
  readonly acmeKey: string | undefined;
}

interface StoreState {
  readonly index: SniIndex<CachedContext>;
  /** tls.defaultCertificate, when configured. */
  readonly byDefault: CachedContext | undefined;
  readonly byRoute: ReadonlyMap<string, RouteCert>;
  /** What the index was built from (kept to rebuild it when an ACME certificate arrives). */
  readonly candidates: readonly Candidate[];
}

const DEFAULT_PROVISION_TIMEOUT_MS = 60_000;
const FALLBACK_DOMAINS = ['localhost'];

function routeDomains(route: CompiledRoute): string[] {
  const d = route.config.match.domains;
  return d === undefined ? [] : typeof d === 'string' ? [d] : [...d];
}

/** Names a self-signed certificate can carry: exact names and one-label wildcards. */
function selfSignedNames(domains: readonly string[]): string[] {
  const { names, wildcardSuffixes } = classifyNames(domains);
  const all = [...names, ...wildcardSuffixes.map((s) => `*.${s}`)];
  return all.length > 0 ? all : FALLBACK_DOMAINS;
}

function isTerminating(route: CompiledRoute): boolean {
  return route.tlsMode === 'terminate' || route.tlsMode === 'terminate-and-reencrypt';
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class CertStore {
  readonly #deps: CertStoreDeps;
  readonly #cache: SecureContextCache;
  /** Self-signed pairs by their (sorted) name list, kept while a route uses them. */
  #selfSigned = new Map<string, PemPair>();
  #fallback: CachedContext | undefined;
  #state: StoreState = { index: new SniIndex<CachedContext>([], 0), byDefault: undefined, byRoute: new Map(), candidates: [] };
  #seq = 0;

  constructor(deps: CertStoreDeps) {
    this.#deps = deps;
    this.#cache = new SecureContextCache(deps.tls);
  }

  /** A default certificate is configured: TLS clients no route names are terminated with it. */
  get hasDefaultCertificate(): boolean {
    return this.#deps.defaultCertificate !== undefined;
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }

  /**
   * Loads every terminating route's certificate. Throws SmartProxyConfigError (SPX_ERR_CERTIFICATE)
   * when a static certificate does not load; nothing changes then. When a later prepare() starts
   * before this one finishes, this one's result is dropped.
   */
  async prepare(table: RouteTable): Promise<void> {
    const seq = ++this.#seq;
    const routes = table.routes.filter(isTerminating);
    const gen = this.#cache.stage();
    const certs = new Map<string, RouteCert>();
    const sniCandidates: Candidate[] = [];
    const acme = this.#deps.acme;
    const mark = acme?.mark() ?? 0;

    // 1. static certificates: synchronous, a bad one is a config error
    let byDefault: CachedContext | undefined;
    const dflt = this.#deps.defaultCertificate;
    if (dflt !== undefined) {
      try {
        byDefault = gen.get(dflt);
      } catch (err) {
        throw new SmartProxyConfigError('SPX_ERR_CERTIFICATE', 'tls.defaultCertificate', `does not load: ${(err as Error).message}`, { cause: err });
      }
    }
    for (const route of routes) {
      const c = route.config.action.tls?.certificate;
      if (c === undefined || c === 'auto') continue;
      let entry: CachedContext;
      try {
        entry = gen.get({ key: c.key, cert: c.cert });
      } catch (err) {
        throw new SmartProxyConfigError(
          'SPX_ERR_CERTIFICATE',
          `routes[${route.index}].action.tls.certificate`,
          `does not load: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const domains = routeDomains(route);
      certs.set(route.name, { entry, domain: domains[0] ?? '', domains, source: 'static', state: 'valid', error: undefined, acmeKey: undefined });
      sniCandidates.push({ value: entry, info: entry.info, acmeKey: undefined });
      if (entry.info.notAfter.getTime() <= this.#now()) {
        this.#deps.logger.warn({ route: route.name, notAfter: entry.info.notAfter.toISOString() }, 'static certificate has expired');
      }
    }

    // 2. provisioned certificates ('auto'): one call per distinct first domain, all in parallel
    const fn = this.#deps.certProvisionFunction;
    const timeoutMs = this.#deps.provisionTimeoutMs ?? DEFAULT_PROVISION_TIMEOUT_MS;
    const calls = new Map<string, ReturnType<typeof provisionCertificate>>();
    const autoRoutes = routes.filter((r) => r.config.action.tls?.certificate === 'auto' || r.config.action.tls?.certificate === undefined);
    if (fn !== undefined) {
      for (const route of autoRoutes) {
        const domain = routeDomains(route)[0];
        if (domain !== undefined && !calls.has(domain)) calls.set(domain, provisionCertificate(fn, domain, timeoutMs));
      }
    }
    const events: Array<[CertificateEventName, ICertificateEventInfo]> = [];
    const pending: Array<{ route: CompiledRoute; state: 'pending' | 'error'; error: string | undefined }> = [];
    const acmeRoutes: CompiledRoute[] = [];
    for (const route of autoRoutes) {
      const domains = routeDomains(route);
      const domain = domains[0] ?? '';
      const call = domain === '' ? undefined : calls.get(domain);
      if (call === undefined) {
        if (acme !== undefined && domain !== '') {
          acmeRoutes.push(route);
          continue;
        }
        const error = fn !== undefined || acme !== undefined ? 'route names no domain to provision a certificate for' : undefined;
        pending.push({ route, state: error === undefined ? 'pending' : 'error', error });
        continue;
      }
      const outcome = await call;
      let error: string;
      if (outcome.kind === 'http01') {
        if (acme !== undefined) {
          acmeRoutes.push(route);
          continue;
        }
        error = `certProvisionFunction('${domain}') answered 'http01', but acme is not configured`;
      } else if (outcome.kind === 'pair') {
        try {
          const entry = gen.get(outcome.pair);
          certs.set(route.name, { entry, domain, domains, source: 'provision', state: 'valid', error: undefined, acmeKey: undefined });
          sniCandidates.push({ value: entry, info: entry.info, acmeKey: undefined });
          const prev = this.#state.byRoute.get(route.name);
          if (prev?.source !== 'provision') events.push(['certificate:issued', { routeName: route.name, domain, source: 'provision' }]);
          else if (prev.entry.id !== entry.id) events.push(['certificate:renewed', { routeName: route.name, domain, source: 'provision' }]);
          continue;
        } catch (err) {
          error = `provisioned certificate does not load: ${(err as Error).message}`;
        }
      } else {
        error = outcome.error;
        if (acme !== undefined && this.#deps.fallbackToAcme !== false) {
          // certProvisionFallbackToAcme (19.x, default true): a failed provision is ordered from ACME
          this.#deps.logger.warn({ route: route.name, domain, error }, 'certProvisionFunction failed; ordering the certificate from ACME');
          acmeRoutes.push(route);
          continue;
        }
      }
      events.push(['certificate:failed', { routeName: route.name, domain, source: 'self-signed', error }]);
      pending.push({ route, state: 'error', error });
    }

    // 2b. ACME: register each route's domain set (a stored certificate is loaded); ordering runs in the background
    const acmeKeys = new Map<string, string>();
    if (acme !== undefined) {
      const keys = await Promise.all(acmeRoutes.map((r) => acme.want(routeDomains(r))));
      acmeRoutes.forEach((r, i) => acmeKeys.set(r.name, keys[i]!));
    }

    // 3. self-signed fallbacks for the rest (generated once per name set, kept across prepares)
    const nextSelf = new Map<string, PemPair>();
    for (const { route, state, error } of pending) {
      const domains = routeDomains(route);
      const entry = await this.#selfSignedContext(gen, selfSignedNames(domains), nextSelf);
      certs.set(route.name, { entry, domain: domains[0] ?? '', domains, source: 'self-signed', state, error, acmeKey: undefined });
      if (error !== undefined) this.#deps.logger.warn({ route: route.name, error }, 'certificate provisioning failed; serving a self-signed certificate');
    }
    // ... and for ACME routes still waiting for their first certificate
    const acmeFallbacks = new Map<string, CachedContext>();
    for (const route of acmeRoutes) {
      if (acme!.current(acmeKeys.get(route.name)!).pair !== undefined) continue;
      acmeFallbacks.set(route.name, await this.#selfSignedContext(gen, selfSignedNames(routeDomains(route)), nextSelf));
    }

    if (seq !== this.#seq) return; // superseded by a newer prepare()
    // No await from here on: the ACME state read below is the one committed, so a certificate
    // that arrived while this prepare ran is not lost.
    for (const route of acmeRoutes) {
      const key = acmeKeys.get(route.name)!;
      const cur = acme!.current(key);
      const domains = routeDomains(route);
      const rc = this.#acmeRouteCert(key, cur, domains, () => gen.get(cur.pair!), acmeFallbacks.get(route.name));
      certs.set(route.name, rc);
      if (rc.source === 'acme') sniCandidates.push({ value: rc.entry, info: rc.entry.info, acmeKey: key });
      if (cur.unorderable) {
        events.push(['certificate:failed', { routeName: route.name, domain: rc.domain, source: 'acme', error: cur.error }]);
        this.#deps.logger.warn({ route: route.name, error: cur.error }, 'no ACME certificate can be ordered for this route; serving a self-signed certificate');
      }
    }
    const index = new SniIndex(sniCandidates, this.#now());
    this.#cache.commit(gen);
    this.#selfSigned = nextSelf;
    this.#state = { index, byDefault, byRoute: certs, candidates: sniCandidates };
    acme?.retain(new Set(acmeKeys.values()), mark);
    const onEvent = this.#deps.onEvent;
    if (onEvent !== undefined) for (const [name, info] of events) onEvent(name, info);
  }

  /** A route's certificate from its ACME state: the ACME pair when there is one, else the self-signed fallback. */
  #acmeRouteCert(key: string, cur: AcmeCertState, domains: readonly string[], load: () => CachedContext, fallback: CachedContext | undefined): RouteCert {
    const domain = domains[0] ?? '';
    if (cur.pair !== undefined) {
      try {
        return { entry: load(), domain, domains, source: 'acme', state: 'valid', error: cur.error, acmeKey: key };
      } catch (err) {
        this.#deps.logger.error({ domains, err }, 'ACME certificate does not load');
      }
    }
    const state = cur.state === 'valid' ? 'error' : cur.state;
    return { entry: fallback ?? this.#fallbackContext(), domain, domains, source: 'self-signed', state, error: cur.error, acmeKey: key };
  }

  /**
   * The ACME service got a certificate for a domain set (or an order for it failed): routes of
   * the live state that use the set are updated in place, the SNI index rebuilt, events raised.
   */
  acmeUpdated(key: string, outcome: AcmeOutcome): void {
    const acme = this.#deps.acme;
    const st = this.#state;
    const affected = [...st.byRoute].filter(([, rc]) => rc.acmeKey === key);
    if (acme === undefined || affected.length === 0) return;
    const cur = acme.current(key);
    const byRoute = new Map(st.byRoute);
    // the context served now, reused when the pair did not change (a failed renewal)
    const served = affected.find(([, rc]) => rc.source === 'acme')?.[1].entry;
    let fresh: CachedContext | undefined;
    const load = (): CachedContext => (fresh ??= served !== undefined && served.id === pairId(cur.pair!) ? served : this.#cache.stage().get(cur.pair!));
    const events: Array<[CertificateEventName, ICertificateEventInfo]> = [];
    for (const [name, old] of affected) {
      const fallback = old.source === 'self-signed' ? old.entry : undefined;
      const rc = this.#acmeRouteCert(key, cur, old.domains, load, fallback);
      byRoute.set(name, rc);
      const info: ICertificateEventInfo = { routeName: name, domain: rc.domain, source: 'acme' };
      if (outcome.kind === 'failed') events.push(['certificate:failed', { ...info, error: outcome.error }]);
      else events.push([outcome.kind === 'issued' ? 'certificate:issued' : 'certificate:renewed', { ...info, expiryDate: outcome.notAfter }]);
    }
    let { index, candidates } = st;
    if (fresh !== undefined && fresh !== served) {
      candidates = [...candidates.filter((c) => c.acmeKey !== key), { value: fresh, info: fresh.info, acmeKey: key }];
      index = new SniIndex(candidates, this.#now());
    }
    this.#state = { index, byDefault: st.byDefault, byRoute, candidates };
    const onEvent = this.#deps.onEvent;
    if (onEvent !== undefined) for (const [name, info] of events) onEvent(name, info);
  }

  async #selfSignedContext(gen: ContextGeneration, names: string[], next: Map<string, PemPair>): Promise<CachedContext> {
    const key = [...names].sort().join(',');
    let pair = next.get(key) ?? this.#selfSigned.get(key);
    if (pair === undefined) {
      await yieldToEventLoop(); // key generation blocks for tens of ms: let traffic through between certificates
      pair = createSelfSignedCertificate(names);
    }
    next.set(key, pair);
    return gen.get(pair);
  }

  /** The context for a handshake; never throws. `route` is the route matched for this connection. */
  secureContextFor(servername: string | undefined, route: CompiledRoute | undefined): tls.SecureContext {
    const st = this.#state;
    const entry = st.index.lookup(servername) ?? (route !== undefined ? st.byRoute.get(route.name)?.entry : undefined) ?? st.byDefault ?? this.#fallbackContext();
    const range = route?.tlsVersionRange;
    return range === undefined ? entry.context : this.#cache.variant(entry, range).context;
  }

  #fallbackContext(): CachedContext {
    if (this.#fallback === undefined) {
      const pair = this.#selfSigned.get(FALLBACK_DOMAINS.join(',')) ?? createSelfSignedCertificate(FALLBACK_DOMAINS);
      this.#fallback = this.#cache.stage().get(pair);
    }
    return this.#fallback;
  }

  status(routeName: string): ICertificateStatus | undefined {
    const rc = this.#state.byRoute.get(routeName);
    if (rc === undefined) return undefined;
    const info = rc.entry.info;
    const expired = rc.state === 'valid' && info.notAfter.getTime() <= this.#now();
    const out: ICertificateStatus = {
      domain: rc.domain,
      domains: [...rc.domains],
      status: expired ? 'expired' : rc.state,
      expiryDate: new Date(info.notAfter.getTime()),
      issueDate: new Date(info.notBefore.getTime()),
      source: rc.source,
    };
    if (rc.error !== undefined) out.error = rc.error;
    return out;
  }

  /** Counts for tests and diagnostics. */
  stats(): { contexts: number; contextsCreated: number; selfSigned: number; sniNames: number } {
    return {
      contexts: this.#cache.size,
      contextsCreated: this.#cache.created,
      selfSigned: this.#selfSigned.size,
      sniNames: this.#state.index.size,
    };
  }
}
