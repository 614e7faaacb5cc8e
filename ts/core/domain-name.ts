/** Host-name canonical form, shared by the wire parsers, routing and certificates. */
import { domainToASCII } from 'node:url';

/**
 * Canonical form of a host name: lower case, no trailing dot, punycode. Returns the input string
 * itself when it is already canonical (the common case allocates nothing); undefined when empty
 * or not a valid name.
 */
export function normalizeDomain(name: string): string | undefined {
  let s = name;
  let len = s.length;
  if (len > 0 && s.charCodeAt(len - 1) === 46) {
    s = s.slice(0, len - 1);
    len--;
  }
  if (len === 0) return undefined;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) {
      const a = domainToASCII(s);
      return a === '' ? undefined : a;
    }
    if (c >= 65 && c <= 90) upper = true;
  }
  return upper ? s.toLowerCase() : s;
}
