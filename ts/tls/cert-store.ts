/**
 * Certificates for terminated TLS: one per route (static, provisioned or self-signed), chosen
 * per handshake by SNI. prepare() builds the whole new state (contexts, SNI index, statuses)
 * and swaps it in at the end, so a failed or superseded prepare leaves the old state live.
 *
 * Lookup order: exact SAN name, one-label wildcard SAN, the matched route's own certificate,
 * then a self-signed `localhost` certificate, so a handshake always has a context.
 */
import type * as tls from 'node:tls';
import { SmartProxyConfigError } from '../core/errors.js';
import type { CompiledRoute, RouteTable } from '../routing/route-table.js';
import type { ILogger, ISmartProxyOptions } from '../types.js';
import { classifyNames } from './cert-info.js';
import { SecureContextCache, type CachedContext, type ContextGeneration, type PemPair } from './secure-context-cache.js';
import { createSelfSignedCertificate } from './self-signed.js';
import { SniIndex } from './sni-index.js';
import { provisionCertificate } from './provision.js';

export type CertificateState = 'valid' | 'pending' | 'error' | 'expired';
export type CertificateSource = 'static' | 'provision' | 'self-signed';

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
}

export interface CertStoreDeps {
  logger: ILogger;
  certProvisionFunction?: ISmartProxyOptions['certProvisionFunction'];
  /** Bound on one certProvisionFunction call. Default 60 000 ms. */
  provisionTimeoutMs?: number;
  /** Wall clock for 'expired' (default Date.now). */
  now?: () => number;
  /** Provisioning outcomes, after the new state is live (an unchanged certificate raises none). */
  onEvent?: (event: CertificateEventName, info: ICertificateEventInfo) => void;
}

interface RouteCert {
  readonly entry: CachedContext;
  readonly domain: string;
  readonly domains: readonly string[];
  readonly source: CertificateSource;
  readonly state: 'valid' | 'pending' | 'error';
  readonly error: string | undefined;
}

interface StoreState {
  readonly index: SniIndex<CachedContext>;
  readonly byRoute: ReadonlyMap<string, RouteCert>;
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
  readonly #cache = new SecureContextCache();
  /** Self-signed pairs by their (sorted) name list, kept while a route uses them. */
  #selfSigned = new Map<string, PemPair>();
  #fallback: CachedContext | undefined;
  #state: StoreState = { index: new SniIndex<CachedContext>([], 0), byRoute: new Map() };
  #seq = 0;

  constructor(deps: CertStoreDeps) {
    this.#deps = deps;
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
    const sniCandidates: Array<{ value: CachedContext; info: CachedContext['info'] }> = [];

    // 1. static certificates: synchronous, a bad one is a config error
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
      certs.set(route.name, { entry, domain: domains[0] ?? '', domains, source: 'static', state: 'valid', error: undefined });
      sniCandidates.push({ value: entry, info: entry.info });
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
    for (const route of autoRoutes) {
      const domains = routeDomains(route);
      const domain = domains[0] ?? '';
      const call = domain === '' ? undefined : calls.get(domain);
      if (call === undefined) {
        const error = fn !== undefined ? 'route names no domain to provision a certificate for' : undefined;
        pending.push({ route, state: error === undefined ? 'pending' : 'error', error });
        continue;
      }
      const outcome = await call;
      let error = outcome.ok ? undefined : outcome.error;
      if (outcome.ok) {
        try {
          const entry = gen.get(outcome.pair);
          certs.set(route.name, { entry, domain, domains, source: 'provision', state: 'valid', error: undefined });
          sniCandidates.push({ value: entry, info: entry.info });
          const prev = this.#state.byRoute.get(route.name);
          if (prev?.source !== 'provision') events.push(['certificate:issued', { routeName: route.name, domain, source: 'provision' }]);
          else if (prev.entry.id !== entry.id) events.push(['certificate:renewed', { routeName: route.name, domain, source: 'provision' }]);
          continue;
        } catch (err) {
          error = `provisioned certificate does not load: ${(err as Error).message}`;
        }
      }
      events.push(['certificate:failed', { routeName: route.name, domain, source: 'self-signed', error }]);
      pending.push({ route, state: 'error', error });
    }

    // 3. self-signed fallbacks for the rest (generated once per name set, kept across prepares)
    const nextSelf = new Map<string, PemPair>();
    for (const { route, state, error } of pending) {
      const domains = routeDomains(route);
      const entry = await this.#selfSignedContext(gen, selfSignedNames(domains), nextSelf);
      certs.set(route.name, { entry, domain: domains[0] ?? '', domains, source: 'self-signed', state, error });
      if (error !== undefined) this.#deps.logger.warn({ route: route.name, error }, 'certificate provisioning failed; serving a self-signed certificate');
    }

    if (seq !== this.#seq) return; // superseded by a newer prepare()
    const index = new SniIndex(sniCandidates, this.#now());
    this.#cache.commit(gen);
    this.#selfSigned = nextSelf;
    this.#state = { index, byRoute: certs };
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
    const hit = st.index.lookup(servername);
    if (hit !== undefined) return hit.context;
    if (route !== undefined) {
      const own = st.byRoute.get(route.name);
      if (own !== undefined) return own.entry.context;
    }
    return this.#fallbackContext().context;
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
