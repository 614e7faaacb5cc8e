/**
 * Header criteria: each named header must be present and equal a string exactly or satisfy a
 * RegExp. Names are case-insensitive (compared lower-case, as node delivers them). A header
 * that arrives several times matches when any of its values does.
 */
import { configError } from '../../core/errors.js';

export type HeaderValues = Readonly<Record<string, string | string[] | undefined>>;

export interface HeaderMatcher {
  readonly count: number;
  matches(headers: HeaderValues | undefined): boolean;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function valueMatches(rule: string | RegExp, v: string): boolean {
  if (typeof rule === 'string') return v === rule;
  rule.lastIndex = 0;
  return rule.test(v);
}

export function compileHeaderMatcher(spec: Record<string, string | RegExp>, path: string): HeaderMatcher {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw configError(path, 'must be an object of header name -> string | RegExp');
  const names: string[] = [];
  const rules: Array<string | RegExp> = [];
  for (const [name, rule] of Object.entries(spec)) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(lower)) throw configError(`${path}.${name}`, 'is not a valid header name');
    if (names.includes(lower)) throw configError(`${path}.${name}`, 'header named twice (names are case-insensitive)');
    if (typeof rule === 'string') rules.push(rule);
    // a private copy without g/y, so matching never depends on lastIndex left by someone else
    else if (rule instanceof RegExp) rules.push(new RegExp(rule.source, rule.flags.replace(/[gy]/g, '')));
    else throw configError(`${path}.${name}`, 'must be a string or a RegExp');
    names.push(lower);
  }
  if (names.length === 0) throw configError(path, 'names no header');
  return {
    count: names.length,
    matches(headers: HeaderValues | undefined): boolean {
      if (headers === undefined) return false;
      for (let i = 0; i < names.length; i++) {
        const v = headers[names[i]!];
        const rule = rules[i]!;
        if (v === undefined) return false;
        if (typeof v === 'string') {
          if (!valueMatches(rule, v)) return false;
        } else {
          let any = false;
          for (let j = 0; j < v.length && !any; j++) any = valueMatches(rule, v[j]!);
          if (!any) return false;
        }
      }
      return true;
    },
  };
}
