/**
 * ACME certificates for the proxy: one entry per domain set (a route's domains), loaded from
 * the certificate store when a stored certificate is there, otherwise (or when it is within
 * `renewThresholdDays` of expiry) ordered from the CA in the background, one order at a time.
 * New certificates are stored, then reported through `onUpdate`, which swaps them in.
 *
 * Timers: the renewal check runs every `renewCheckIntervalHours` on the shared ticker (not with
 * `autoRenew: false`); a failed order is retried on the ticker after 5, 10, 20, 40, 60, 60 ...
 * minutes. stop() aborts the order in progress (requests, polling waits) and cancels every task.
 */
import type { Clock } from '../core/clock.js';
import type { ResolvedAcmeOptions } from '../core/options.js';
import type { Ticker, TickerTask } from '../core/ticker.js';
import type { PemPair } from '../tls/secure-context-cache.js';
import type { AcmeCertState, AcmeOutcome } from '../tls/cert-store.js';
import type { ILogger } from '../types.js';
import { createEcKey, issueCertificate } from './acme-client.js';
import { CertDirectory, checkPair } from './cert-directory.js';
import type { ChallengeStore } from './challenge-store.js';
import { acmeProblem, domainSet, type DomainSet } from './domain-set.js';
import { renewCheckIntervalMs, renewalDue, retryDelayMs } from './renewal.js';
import { AcmeTransport } from './transport.js';

export type { AcmeOutcome, AcmeCertState };

/** Orders a certificate for these names (replaceable in tests). */
export type AcmeIssuer = (names: readonly string[], signal: AbortSignal) => Promise<PemPair>;

export interface AcmeServiceDeps {
  options: ResolvedAcmeOptions;
  logger: ILogger;
  clock: Clock;
  ticker: Ticker;
  challenges: ChallengeStore;
  /** A set got a new certificate, or an order for it failed. */
  onUpdate(key: string, outcome: AcmeOutcome): void;
  issuer?: AcmeIssuer;
  /** Bound on one request to the CA (default 30 s). */
  requestTimeoutMs?: number;
}

interface Entry {
  readonly set: DomainSet;
  readonly problem: string | undefined;
  loaded: Promise<void> | undefined;
  /** Generation of the last want(); see retain(). */
  touched: number;
  pair: PemPair | undefined;
  notAfter: number;
  error: string | undefined;
  failures: number;
  retry: TickerTask | undefined;
  ordering: boolean;
}

interface Run {
  readonly abort: AbortController;
  readonly transport: AcmeTransport;
  readonly renewals: TickerTask | undefined;
}

const PENDING: AcmeCertState = Object.freeze({ state: 'pending', pair: undefined, error: undefined, unorderable: false });
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class AcmeService {
  readonly #deps: AcmeServiceDeps;
  readonly #log: ILogger;
  readonly #dir: CertDirectory;
  readonly #entries = new Map<string, Entry>();
  #wanted: ReadonlySet<string> = new Set();
  #generation = 0;
  #run: Run | undefined;
  #queue: Promise<void> = Promise.resolve();
  #accountKey: Promise<string> | undefined;

  constructor(deps: AcmeServiceDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'acme' });
    this.#dir = new CertDirectory(deps.options.certificateStore);
  }

  /** Marks the start of a certificate store preparation (see retain()). */
  mark(): number {
    return ++this.#generation;
  }

  /** Registers a domain set and loads its stored certificate (once). Returns the set's key. */
  async want(domains: readonly string[]): Promise<string> {
    const set = domainSet(domains);
    let e = this.#entries.get(set.key);
    if (e === undefined) {
      e = { set, problem: acmeProblem(set), loaded: undefined, touched: 0, pair: undefined, notAfter: 0, error: undefined, failures: 0, retry: undefined, ordering: false };
      this.#entries.set(set.key, e);
    }
    e.touched = this.#generation;
    if (e.problem === undefined) await (e.loaded ??= this.#load(e));
    return set.key;
  }

  current(key: string): AcmeCertState {
    const e = this.#entries.get(key);
    if (e === undefined) return PENDING;
    if (e.problem !== undefined) return { state: 'error', pair: undefined, error: e.problem, unorderable: true };
    if (e.pair !== undefined) return { state: 'valid', pair: e.pair, error: e.error, unorderable: false };
    return e.error === undefined ? PENDING : { state: 'error', pair: undefined, error: e.error, unorderable: false };
  }

  /**
   * The sets the live route table uses. Others stop being renewed; their entries are dropped
   * unless an order is running or a preparation started at or after `mark` wanted them.
   */
  retain(keys: ReadonlySet<string>, mark: number): void {
    this.#wanted = new Set(keys);
    for (const [key, e] of this.#entries) {
      if (keys.has(key)) continue;
      e.retry?.cancel();
      e.retry = undefined;
      if (!e.ordering && e.touched < mark) this.#entries.delete(key);
    }
  }

  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Start ordering: call once the challenge port listens. */
  start(): void {
    if (this.#run !== undefined) return;
    const abort = new AbortController();
    const transport = new AcmeTransport({
      caCertificates: this.#deps.options.caCertificates,
      timeoutMs: this.#deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      signal: abort.signal,
    });
    // autoRenew false (19.x): certificates are ordered, and renewed when due, at start and on
    // route updates only; there is no periodic check.
    const renewals = this.#deps.options.autoRenew
      ? this.#deps.ticker.every(renewCheckIntervalMs(this.#deps.options.renewCheckIntervalHours), () => this.kick())
      : undefined;
    this.#run = { abort, transport, renewals };
    this.kick();
  }

  /** Order certificates for every wanted set that has none or is due for renewal (and is not waiting to retry). */
  kick(): void {
    const run = this.#run;
    if (run === undefined) return;
    const now = this.#deps.clock.now();
    const threshold = this.#deps.options.renewThresholdDays;
    for (const key of this.#wanted) {
      const e = this.#entries.get(key);
      if (e === undefined || e.problem !== undefined || e.ordering || e.retry !== undefined) continue;
      if (e.pair !== undefined && !renewalDue(e.notAfter, now, threshold)) continue;
      e.ordering = true;
      this.#queue = this.#queue.then(() => this.#order(e, run));
    }
  }

  /** Abort the order in progress, cancel the timers, wait for the queue to settle. */
  async stop(): Promise<void> {
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    run.abort.abort();
    run.renewals?.cancel();
    for (const e of this.#entries.values()) {
      e.retry?.cancel();
      e.retry = undefined;
    }
    await this.#queue;
    run.transport.close();
  }

  async #load(e: Entry): Promise<void> {
    try {
      const stored = await this.#dir.loadCertificate(e.set);
      if (stored === undefined) return;
      e.pair = stored.pair;
      e.notAfter = stored.info.notAfter.getTime();
      this.#log.info({ domains: e.set.names, notAfter: stored.info.notAfter.toISOString() }, 'ACME certificate loaded from the store');
    } catch (err) {
      this.#log.warn({ domains: e.set.names, err: message(err), path: this.#dir.certPath(e.set) }, 'stored ACME certificate is unusable; a new one will be ordered');
    }
  }

  #account(): Promise<string> {
    const p = (this.#accountKey ??= this.#dir.accountKey(createEcKey));
    p.catch(() => {
      if (this.#accountKey === p) this.#accountKey = undefined;
    });
    return p;
  }

  #issue(names: readonly string[], run: Run): Promise<PemPair> {
    const custom = this.#deps.issuer;
    if (custom !== undefined) return custom(names, run.abort.signal);
    const o = this.#deps.options;
    return this.#account().then((accountKey) =>
      issueCertificate({ directoryUrl: o.directoryUrl, email: o.email, accountKey, names, challenges: this.#deps.challenges, transport: run.transport, signal: run.abort.signal }),
    );
  }

  async #order(e: Entry, run: Run): Promise<void> {
    const signal = run.abort.signal;
    if (signal.aborted) {
      e.ordering = false;
      return;
    }
    const renewing = e.pair !== undefined;
    const key = e.set.key;
    let outcome: AcmeOutcome;
    try {
      this.#log.info({ domains: e.set.names, renewing }, 'ordering ACME certificate');
      const pair = await this.#issue(e.set.names, run);
      const info = checkPair(pair, e.set);
      try {
        await this.#dir.saveCertificate(e.set, pair);
      } catch (err) {
        this.#log.error({ domains: e.set.names, err: message(err), dir: this.#dir.dir }, 'could not store the ACME certificate; it is served but will be ordered again after a restart');
      }
      e.pair = pair;
      e.notAfter = info.notAfter.getTime();
      e.error = undefined;
      e.failures = 0;
      this.#log.info({ domains: e.set.names, notAfter: info.notAfter.toISOString() }, renewing ? 'ACME certificate renewed' : 'ACME certificate issued');
      outcome = { kind: renewing ? 'renewed' : 'issued', notAfter: info.notAfter };
    } catch (err) {
      if (signal.aborted) {
        e.ordering = false;
        return; // stopping: not a failure
      }
      e.failures++;
      e.error = message(err);
      const delay = retryDelayMs(e.failures);
      this.#log.warn({ domains: e.set.names, err: e.error, failures: e.failures, retryInMs: delay }, 'ACME certificate order failed');
      if (this.#run === run) {
        const task = this.#deps.ticker.every(delay, () => {
          task.cancel();
          if (e.retry === task) e.retry = undefined;
          this.kick();
        });
        e.retry = task;
      }
      outcome = { kind: 'failed', error: e.error };
    } finally {
      e.ordering = false;
    }
    try {
      this.#deps.onUpdate(key, outcome);
    } catch (err) {
      this.#log.error({ err, domains: e.set.names }, 'applying an ACME outcome failed');
    }
  }
}
