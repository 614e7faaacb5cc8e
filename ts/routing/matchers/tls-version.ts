/** TLS-version criterion: the ClientHello's negotiated-version names a route accepts. */
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
