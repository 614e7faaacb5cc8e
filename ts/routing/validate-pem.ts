/**
 * A route's static certificate, checked when the route is compiled, so a bad one is a config
 * error naming the field (`routes[3].action.tls.certificate.key`) among the table's others,
 * not a failure at start: the key must load (unencrypted PEM), the chain's first certificate
 * must parse, and the key must be that certificate's.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { configError } from '../core/errors.js';

export function checkPemPair(key: string, cert: string, path: string): void {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw configError(`${path}.cert`, `is not a PEM certificate (${(err as Error).message})${looksLikeKey(cert) ? ': it holds a private key; are key and cert swapped?' : ''}`);
  }
  let k: KeyObject;
  try {
    k = createPrivateKey(key);
  } catch (err) {
    const why = /ENCRYPTED/.test(key) ? 'is an encrypted private key (give it unencrypted)' : 'is not a PEM private key';
    throw configError(`${path}.key`, `${why} (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(k)) throw configError(`${path}.key`, `is not the private key of cert (subject ${leaf.subject.replace(/\n/g, ', ')})`);
}

function looksLikeKey(pem: string): boolean {
  return /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem);
}
