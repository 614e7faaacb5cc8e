/**
 * tls.defaultCertificate (and 19.x's top-level key/cert/pfx/passphrase) brought to one
 * unencrypted PEM pair, the form every secure context here is built from.
 *
 * - key + cert: strings or Buffers; an encrypted key is decrypted with `passphrase`
 *   (node:crypto).
 * - pfx: a PKCS#12 bundle (DER Buffer, or base64 / binary string) holding an RSA key,
 *   unpacked with node-forge:
 *   the private key, the certificate whose public key matches it first, then the rest of the
 *   chain in the bundle's order.
 *
 * A part that does not load is a config error naming it (`tls.defaultCertificate.key`, ...).
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { configError } from '../core/errors.js';
import type { DefaultCertificate } from '../core/options.js';
import { loadForge } from './forge.js';
import type { PemPair } from './secure-context-cache.js';

const PATH = 'tls.defaultCertificate';

export function defaultCertificatePair(dc: DefaultCertificate): PemPair {
  if ('pfx' in dc) return fromPfx(dc.pfx, dc.passphrase);
  const cert = String(dc.cert);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw configError(`${PATH}.cert`, `is not a PEM certificate (${(err as Error).message})`);
  }
  let key: string;
  try {
    key = createPrivateKey({ key: String(dc.key), passphrase: dc.passphrase }).export({ type: 'pkcs8', format: 'pem' }) as string;
  } catch (err) {
    const why = dc.passphrase === undefined ? 'is not a PEM private key, or is encrypted and no passphrase is given' : 'does not load with the passphrase given';
    throw configError(`${PATH}.key`, `${why} (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(createPrivateKey(key))) throw configError(`${PATH}.key`, 'is not the private key of cert (its first certificate)');
  return { key, cert };
}

function fromPfx(pfx: string | Buffer, passphrase: string | undefined): PemPair {
  const forge = loadForge();
  let p12: ReturnType<typeof forge.pkcs12.pkcs12FromAsn1>;
  try {
    const der = Buffer.isBuffer(pfx) ? pfx.toString('binary') : looksBase64(pfx) ? Buffer.from(pfx, 'base64').toString('binary') : pfx;
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), passphrase ?? '');
  } catch (err) {
    throw configError(`${PATH}.pfx`, `does not open as PKCS#12${passphrase === undefined ? ' without a passphrase' : ' with the passphrase given'} (${(err as Error).message})`);
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  const keyBag = keyBags.find((b) => b.key !== undefined);
  if (keyBag?.key === undefined) throw configError(`${PATH}.pfx`, 'holds no private key');
  const certs = (p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? []).flatMap((b) => (b.cert ? [b.cert] : []));
  if (certs.length === 0) throw configError(`${PATH}.pfx`, 'holds no certificate');
  const keyPem = forge.pki.privateKeyToPem(keyBag.key);
  const pubPem = createPublicKey(keyPem).export({ type: 'spki', format: 'pem' });
  const pems = certs.map((c) => forge.pki.certificateToPem(c));
  const leafAt = pems.findIndex((pem) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }) === pubPem);
  if (leafAt < 0) throw configError(`${PATH}.pfx`, 'holds no certificate for its private key');
  const ordered = [pems[leafAt]!, ...pems.filter((_, i) => i !== leafAt)];
  return { key: createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem' }) as string, cert: ordered.join('') };
}

/** A pfx given as a string: base64 text (as read from a config file), else a binary string. */
function looksBase64(s: string): boolean {
  const compact = s.replace(/\s+/g, '');
  return compact.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact);
}
