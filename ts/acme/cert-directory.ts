/**
 * The ACME certificate store on disk (`acme.certificateStore`): the account key and, per
 * domain set, `<stem>.key` and `<stem>.crt` (the full chain). The directory is created 0700
 * on first write; files are written 0600 to a temporary name and renamed into place, so a
 * reader sees the old pair or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { inspectCertificate, type CertInfo } from '../tls/cert-info.js';
import { buildContext, type PemPair } from '../tls/secure-context-cache.js';
import { storeFileStem, type DomainSet } from './domain-set.js';

export const ACCOUNT_KEY_FILE = 'account.key';

export interface StoredCertificate {
  readonly pair: PemPair;
  readonly info: CertInfo;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * Checks that a pair loads (key matches certificate) and covers every name of the set.
 * Returns the certificate's facts, or throws naming the problem.
 */
export function checkPair(pair: PemPair, set: DomainSet): CertInfo {
  buildContext(pair); // throws when the PEM or the key does not load, or they do not match
  const info = inspectCertificate(pair.cert);
  const missing = set.names.filter((n) => !info.names.includes(n));
  if (missing.length > 0) throw new Error(`certificate does not cover ${missing.join(', ')}`);
  return info;
}

export class CertDirectory {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  keyPath(set: DomainSet): string {
    return join(this.dir, `${storeFileStem(set)}.key`);
  }

  certPath(set: DomainSet): string {
    return join(this.dir, `${storeFileStem(set)}.crt`);
  }

  /** The stored pair for a set, or undefined when none is stored. Throws when one is stored but unusable. */
  async loadCertificate(set: DomainSet): Promise<StoredCertificate | undefined> {
    const [key, cert] = await Promise.all([readIfPresent(this.keyPath(set)), readIfPresent(this.certPath(set))]);
    if (key === undefined || cert === undefined) return undefined;
    const pair = { key, cert };
    return { pair, info: checkPair(pair, set) };
  }

  async saveCertificate(set: DomainSet, pair: PemPair): Promise<void> {
    // key first: a crash in between leaves a new key beside the old certificate, which does not load and is re-issued
    await this.#write(this.keyPath(set), pair.key);
    await this.#write(this.certPath(set), pair.cert);
  }

  /** The account key, created (by `create`) and stored on first use. */
  async accountKey(create: () => Promise<string>): Promise<string> {
    const path = join(this.dir, ACCOUNT_KEY_FILE);
    const existing = await readIfPresent(path);
    if (existing !== undefined) return existing;
    const key = await create();
    await this.#write(path, key);
    return key;
  }

  async #write(path: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
