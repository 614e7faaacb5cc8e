/**
 * One certificate order by HTTP-01, over acme-client: account (created or found by its key),
 * order for every name of the set, challenge answers published in the ChallengeStore while
 * the CA validates, CSR with a fresh P-256 key, finalize, download. Cancelled through the
 * signal (between steps, in requests and in the polling waits); bounded by `deadlineMs`.
 */
import { generateKeyPair } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type * as Acme from 'acme-client';
import { SmartProxyError } from '../core/errors.js';
import type { PemPair } from '../tls/secure-context-cache.js';
import type { ChallengeStore } from './challenge-store.js';
import type { AcmeTransport } from './transport.js';

export interface IssueRequest {
  directoryUrl: string;
  email: string;
  accountKey: string;
  /** Names in order; the first is the common name, all are SANs. */
  names: readonly string[];
  challenges: ChallengeStore;
  transport: AcmeTransport;
  signal: AbortSignal;
  /** Whole order, account to certificate (default 5 minutes). */
  deadlineMs?: number;
  /** First status poll delay; grows by half per poll up to 3 s (default 250 ms). */
  pollMs?: number;
}

const DEFAULT_DEADLINE_MS = 5 * 60_000;
const MAX_POLL_MS = 3000;
const generateKeyPairAsync = promisify(generateKeyPair);

/** A new P-256 private key as PKCS#8 PEM (account and certificate keys). */
export async function createEcKey(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}

let loaded: Promise<typeof Acme> | undefined;
/** acme-client (and axios behind it) is loaded on first use only. */
function loadAcme(): Promise<typeof Acme> {
  loaded ??= import('acme-client');
  return loaded;
}

type RequestFn = AcmeTransport['request'];

/** Route one client's requests through `transport` (see transport.ts for why). */
function installTransport(client: Acme.Client, transport: AcmeTransport): void {
  const inner = (client as unknown as { http?: { request?: unknown } }).http;
  if (inner === undefined || typeof inner.request !== 'function') {
    throw new SmartProxyError('SPX_ERR_ACME', 'acme-client has no HttpClient.request to route through; its internals changed (expected acme-client 5.x)');
  }
  // what acme-client's own request() adds before it calls axios: every ACME request is JOSE
  const request: RequestFn = (url, method, options = {}) =>
    transport.request(url, method, { ...options, headers: { ...options.headers, 'Content-Type': 'application/jose+json' } });
  inner.request = request;
}

function problemText(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const e = error as { detail?: unknown; type?: unknown };
    if (typeof e.detail === 'string') return e.detail;
    if (typeof e.type === 'string') return e.type;
  }
  return 'no detail';
}

class Deadline {
  readonly #end: number;
  constructor(
    ms: number,
    private readonly signal: AbortSignal,
  ) {
    this.#end = Date.now() + ms;
  }

  check(step: string): void {
    if (this.signal.aborted) throw new SmartProxyError('SPX_ERR_ACME', `${step}: aborted`);
    if (Date.now() > this.#end) throw new SmartProxyError('SPX_ERR_ACME', `${step}: order not finished before its deadline`);
  }

  /** Sleep `ms` (cut short by the deadline), cancelled by the signal. */
  async wait(ms: number, step: string): Promise<void> {
    try {
      await sleep(Math.max(0, Math.min(ms, this.#end - Date.now())), undefined, { signal: this.signal });
    } catch {
      throw new SmartProxyError('SPX_ERR_ACME', `${step}: aborted`);
    }
    this.check(step);
  }
}

/** Poll `read` until `done` says so; `failed` returns an error text to stop with. */
async function pollUntil<T>(read: () => Promise<T>, done: (v: T) => boolean, failed: (v: T) => string | undefined, deadline: Deadline, pollMs: number, step: string): Promise<T> {
  let delay = pollMs;
  for (;;) {
    deadline.check(step);
    const v = await read();
    const error = failed(v);
    if (error !== undefined) throw new SmartProxyError('SPX_ERR_ACME', `${step}: ${error}`);
    if (done(v)) return v;
    await deadline.wait(delay, step);
    delay = Math.min(Math.ceil(delay * 1.5), MAX_POLL_MS);
  }
}

export async function issueCertificate(req: IssueRequest): Promise<PemPair> {
  const acme = await loadAcme();
  const deadline = new Deadline(req.deadlineMs ?? DEFAULT_DEADLINE_MS, req.signal);
  const pollMs = req.pollMs ?? 250;
  const names = [...req.names];
  deadline.check('account');
  const client = new acme.Client({ directoryUrl: req.directoryUrl, accountKey: req.accountKey });
  installTransport(client, req.transport);
  await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${req.email}`] });

  deadline.check('order');
  let order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
  const published: string[] = [];
  try {
    const authzs = await client.getAuthorizations(order);
    for (const authz of authzs) {
      if (authz.status === 'valid') continue; // reused from an earlier order
      const challenge = authz.challenges.find((c) => c.type === 'http-01');
      if (challenge === undefined) throw new SmartProxyError('SPX_ERR_ACME', `authorization for ${authz.identifier.value}: the CA offers no http-01 challenge`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      req.challenges.set(challenge.token, keyAuthorization);
      published.push(challenge.token);
      deadline.check('challenge');
      await client.completeChallenge(challenge);
    }
    await pollUntil(
      () => client.getAuthorizations(order),
      (list) => list.every((a) => a.status === 'valid'),
      (list) => {
        const bad = list.find((a) => a.status !== 'valid' && a.status !== 'pending');
        if (bad === undefined) return undefined;
        const ch = bad.challenges.find((c) => c.type === 'http-01');
        return `authorization for ${bad.identifier.value} is ${bad.status}: ${problemText(ch?.error)}`;
      },
      deadline,
      pollMs,
      'validation',
    );
  } finally {
    for (const token of published) req.challenges.delete(token);
  }

  deadline.check('finalize');
  const key = await createEcKey();
  const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, key);
  order = await client.finalizeOrder(order, csr);
  order = await pollUntil(
    () => client.getOrder(order),
    (o) => o.status === 'valid',
    (o) => (o.status === 'invalid' ? `order is invalid: ${problemText(o.error)}` : undefined),
    deadline,
    pollMs,
    'finalize',
  );
  deadline.check('download');
  const cert = await client.getCertificate(order);
  return { key, cert };
}
