/** TLS-version criterion: the ClientHello's negotiated-version names a route accepts. */
import type { SecureVersion } from 'node:tls';
import { configError } from '../../core/errors.js';

export const TLS_VERSIONS: readonly string[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export function compileTlsVersions(list: unknown, path: string): readonly string[] {
  if (!Array.isArray(list)) throw configError(path, 'must be an array of TLS version names');
  if (list.length === 0) throw configError(path, 'names no TLS version');
  list.forEach((v: unknown, i) => {
    if (typeof v !== 'string' || !TLS_VERSIONS.includes(v)) throw configError(`${path}[${i}]`, `must be one of ${TLS_VERSIONS.join(', ')}`);
  });
  return Object.freeze([...(list as string[])]);
}

/**
 * action.tls.versions of a terminating route: the lowest and highest version named bound its
 * handshakes (a list with a gap, ['TLSv1', 'TLSv1.3'], allows the versions between too).
 */
export function tlsVersionRange(list: readonly string[]): { min: SecureVersion; max: SecureVersion } {
  const at = list.map((v) => TLS_VERSIONS.indexOf(v)).sort((a, b) => a - b);
  return { min: TLS_VERSIONS[at[0]!] as SecureVersion, max: TLS_VERSIONS[at[at.length - 1]!] as SecureVersion };
}
