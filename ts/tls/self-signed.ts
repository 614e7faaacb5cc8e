/**
 * Certificate generation with node-forge: a local certificate authority, leaf
 * certificates signed by it, and self-signed fallback certificates.
 *
 * RSA keys come from Node's native `crypto.generateKeyPairSync` (milliseconds)
 * rather than forge's pure-JS generator (seconds); forge builds and signs the
 * X.509 structures. node-forge is loaded on first use: a proxy that never generates a
 * certificate does not carry its ~1.9 MiB of heap.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type forge from 'node-forge';
import { loadForge } from './forge.js';

/** A PEM-encoded private key and certificate. */
export interface IPemPair {
  key: string;
  cert: string;
}

export interface ICertificateAuthorityOptions {
  /** Subject CN of the CA certificate. Default `SmartProxy Local CA`. */
  commonName?: string;
  /** Validity in days. Default 3650. */
  days?: number;
}

export interface ISignedCertificateOptions {
  /** Validity in days from `notBefore`. Default 825. */
  days?: number;
  /** Start of validity. Default: one hour ago (tolerates small clock skew). */
  notBefore?: Date;
}

const DAY_MS = 86_400_000;
const RSA_BITS = 2048;

interface IForgeKeyPair {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  privateKeyPem: string;
}

function generateRsaKeyPair(): IForgeKeyPair {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: RSA_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const { pki } = loadForge();
  const forgeKey = pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const publicKey = pki.rsa.setPublicKey(forgeKey.n, forgeKey.e);
  // Re-encode as PKCS#1 ("BEGIN RSA PRIVATE KEY"), accepted everywhere (node, openssl, curl).
  return { privateKey: forgeKey, publicKey, privateKeyPem: pki.privateKeyToPem(forgeKey) };
}

/** A new certificate for `keys`: random serial, validity from `notBefore` for `days`. */
function newCertificate(keys: IForgeKeyPair, notBefore: Date, days: number): forge.pki.Certificate {
  const cert = loadForge().pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  setValidity(cert, notBefore, days);
  return cert;
}

/** Signs `cert` (SHA-256) with `signer` and returns it with its own key, both PEM. */
function signed(cert: forge.pki.Certificate, signer: forge.pki.rsa.PrivateKey, keys: IForgeKeyPair): IPemPair {
  const { md, pki } = loadForge();
  cert.sign(signer, md.sha256.create());
  return { key: keys.privateKeyPem, cert: pki.certificateToPem(cert) };
}

/** A positive serial number (first byte's high bit cleared), 16 random bytes as hex. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function setValidity(cert: forge.pki.Certificate, notBefore: Date, days: number): void {
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + days * DAY_MS);
}

function defaultNotBefore(): Date {
  return new Date(Date.now() - 3_600_000);
}

/** Normalises and checks the domain list: non-empty, no empty names; lower-cased, no trailing dot. */
function normaliseDomains(domains: string[]): string[] {
  if (!Array.isArray(domains) || domains.length === 0) {
    throw new TypeError('at least one domain is required');
  }
  const out: string[] = [];
  for (const raw of domains) {
    if (typeof raw !== 'string') throw new TypeError('domains must be strings');
    let d = raw.trim().toLowerCase();
    if (d.endsWith('.')) d = d.slice(0, -1);
    if (d.startsWith('[') && d.endsWith(']')) d = d.slice(1, -1);
    if (d.length === 0) throw new TypeError('empty domain name');
    if (!out.includes(d)) out.push(d);
  }
  return out;
}

/** subjectAltName entries: type 7 (iPAddress) for IP literals, type 2 (dNSName) otherwise, wildcards included. */
function altNames(domains: string[]): Array<{ type: number; value?: string; ip?: string }> {
  return domains.map((d) => (isIP(d) !== 0 ? { type: 7, ip: d } : { type: 2, value: d }));
}

/** Subject CN limited to 64 characters (X.520 upper bound); SANs carry the real names. */
function commonNameFor(domains: string[]): string {
  const first = domains[0]!;
  return first.length <= 64 ? first : first.slice(0, 64);
}

function leafExtensions(domains: string[]): object[] {
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames(domains) },
    { name: 'subjectKeyIdentifier' },
  ];
}

/** Creates a certificate authority (self-signed, CA:TRUE) able to sign leaf certificates. */
export function createCertificateAuthority(opts: ICertificateAuthorityOptions = {}): IPemPair {
  const keys = generateRsaKeyPair();
  const cert = newCertificate(keys, defaultNotBefore(), opts.days ?? 3650);
  const subject = [
    { name: 'commonName', value: opts.commonName ?? 'SmartProxy Local CA' },
    { name: 'organizationName', value: 'SmartProxy' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return signed(cert, keys.privateKey, keys);
}

/**
 * Creates a leaf certificate for `domains` (DNS names, wildcards, IP literals),
 * signed by `ca`. Every domain appears in the subjectAltName; the first is the CN.
 */
export function createSignedCertificate(
  ca: IPemPair,
  domains: string[],
  opts: ISignedCertificateOptions = {},
): IPemPair {
  const names = normaliseDomains(domains);
  const { pki } = loadForge();
  const caCert = pki.certificateFromPem(ca.cert);
  const caKey = pki.privateKeyFromPem(ca.key) as forge.pki.rsa.PrivateKey;
  const keys = generateRsaKeyPair();
  const cert = newCertificate(keys, opts.notBefore ?? defaultNotBefore(), opts.days ?? 825);
  cert.setSubject([{ name: 'commonName', value: commonNameFor(names) }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    ...leafExtensions(names),
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  return signed(cert, caKey, keys);
}

/**
 * Creates a self-signed leaf certificate for `domains`, used as a fallback when
 * no real certificate is available. Clients will not trust it unless told to.
 */
export function createSelfSignedCertificate(
  domains: string[],
  opts: ISignedCertificateOptions = {},
): IPemPair {
  const names = normaliseDomains(domains);
  const keys = generateRsaKeyPair();
  const cert = newCertificate(keys, opts.notBefore ?? defaultNotBefore(), opts.days ?? 825);
  const subject = [{ name: 'commonName', value: commonNameFor(names) }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions(leafExtensions(names));
  return signed(cert, keys.privateKey, keys);
}
