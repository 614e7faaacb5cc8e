/**
 * One bounded call of the user's certProvisionFunction. Never throws: a pair, 'http01' (use ACME
 * for this domain), or, for a rejection, a timeout or a malformed answer, an error.
 */
import type { ISmartProxyOptions } from '../types.js';
import type { PemPair } from './secure-context-cache.js';

export type ProvisionFunction = NonNullable<ISmartProxyOptions['certProvisionFunction']>;
export type ProvisionOutcome = { kind: 'pair'; pair: PemPair } | { kind: 'http01' } | { kind: 'error'; error: string };

/** `{ key, cert }`, or 19.x's certificate object (`privateKey`, and the certificate in `publicKey`). */
function pairOf(v: unknown): PemPair | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.key === 'string' && typeof o.cert === 'string') return { key: o.key, cert: o.cert };
  if (typeof o.privateKey === 'string' && typeof o.publicKey === 'string') return { key: o.privateKey, cert: o.publicKey };
  return undefined;
}

export async function provisionCertificate(fn: ProvisionFunction, domain: string, timeoutMs: number): Promise<ProvisionOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // not unref'd: start() may be awaiting this with nothing else keeping the process alive
    timer = setTimeout(() => reject(new Error(`certProvisionFunction('${domain}') did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const answer: unknown = await Promise.race([Promise.resolve().then(() => fn(domain)), timeout]);
    if (answer === 'http01') return { kind: 'http01' };
    const pair = pairOf(answer);
    if (pair === undefined) return { kind: 'error', error: `certProvisionFunction('${domain}') returned neither { key, cert } (or { privateKey, publicKey }) nor 'http01'` };
    return { kind: 'pair', pair };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'error', error: `certProvisionFunction('${domain}') failed: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}
