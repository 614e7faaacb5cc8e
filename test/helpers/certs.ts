/**
 * Test certificates: one lazily created CA per process and leaf certificates
 * per domain list, memoised. PEM files are written to a per-process temp dir
 * (removed at exit) when a tool needs paths (curl --cacert, openssl -CAfile).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  createSignedCertificate,
  type IPemPair,
} from '../../ts/tls/self-signed.js';

export type { IPemPair };

/** A leaf certificate with its issuing CA's certificate. */
export interface ITestCert extends IPemPair {
  /** PEM of the CA that signed `cert` (use as `ca: [..]` in clients). */
  ca: string;
  domains: readonly string[];
}

/** Paths of PEM files on disk for a test certificate. */
export interface ITestCertFiles {
  keyPath: string;
  certPath: string;
  caPath: string;
}

let ca: IPemPair | undefined;
const leaves = new Map<string, ITestCert>();
const files = new Map<string, ITestCertFiles>();
let dir: string | undefined;
let fileCounter = 0;

function keyOf(domains: readonly string[]): string {
  return [...domains].map((d) => d.toLowerCase()).sort().join(',');
}

function tempDir(): string {
  if (dir === undefined) {
    const created = mkdtempSync(join(tmpdir(), 'spx-test-certs-'));
    dir = created;
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
  }
  return dir;
}

/** The process-wide test CA (created on first use). */
export function testCa(): IPemPair {
  ca ??= createCertificateAuthority({ commonName: 'SmartProxy Test CA' });
  return ca;
}

/** A leaf certificate signed by the test CA for these domains (order-insensitive memo). */
export function testCert(domains: string | readonly string[]): ITestCert {
  const list = typeof domains === 'string' ? [domains] : [...domains];
  const key = keyOf(list);
  let leaf = leaves.get(key);
  if (leaf === undefined) {
    const authority = testCa();
    const pair = createSignedCertificate(authority, list);
    leaf = Object.freeze({ ...pair, ca: authority.cert, domains: Object.freeze(list) });
    leaves.set(key, leaf);
  }
  return leaf;
}

/** Path of the test CA certificate as a PEM file. */
export function testCaFile(): string {
  return testCertFiles([]).caPath;
}

/**
 * PEM files for the leaf certificate of `domains` and the CA. With an empty
 * list only `caPath` is meaningful (key/cert paths point at the CA itself).
 */
export function testCertFiles(domains: string | readonly string[]): ITestCertFiles {
  const list = typeof domains === 'string' ? [domains] : [...domains];
  const key = keyOf(list);
  let entry = files.get(key);
  if (entry === undefined) {
    const base = tempDir();
    const caPath = join(base, 'ca.pem');
    if (!files.has('')) {
      const authority = testCa();
      writeFileSync(caPath, testCa().cert);
      writeFileSync(join(base, 'ca.key'), authority.key, { mode: 0o600 });
      files.set('', { keyPath: join(base, 'ca.key'), certPath: caPath, caPath });
    }
    if (key === '') return files.get('')!;
    const leaf = testCert(list);
    const n = ++fileCounter;
    entry = { keyPath: join(base, `leaf-${n}.key`), certPath: join(base, `leaf-${n}.pem`), caPath };
    writeFileSync(entry.keyPath, leaf.key, { mode: 0o600 });
    writeFileSync(entry.certPath, leaf.cert);
    files.set(key, entry);
  }
  return entry;
}
