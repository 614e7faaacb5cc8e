/**
 * One bounded call of the user's certProvisionFunction. Never throws: a pair, 'http01' (use ACME
 * for this domain), or, for a rejection, a timeout or a malformed answer, an error.
 */
import type { ISmartProxyOptions } from '../types.js';
import type { PemPair } from './secure-context-cache.js';

export type ProvisionFunction = NonNullable<ISmartProxyOptions['certProvisionFunction']>;
export type ProvisionOutcome = { kind: 'pair'; pair: PemPair } | { kind: 'http01' } | { kind: 'error'; error: string };

function isPair(v: unknown): v is PemPair {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.key === 'string' && typeof o.cert === 'string';
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
    if (!isPair(answer)) return { kind: 'error', error: `certProvisionFunction('${domain}') returned neither { key, cert } nor 'http01'` };
    return { kind: 'pair', pair: { key: answer.key, cert: answer.cert } };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'error', error: `certProvisionFunction('${domain}') failed: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}
