/**
 * Header value templates (`{clientIp}`, `{domain}`, `{path}`, `{routeName}`, ...), compiled
 * once per route into literal and variable parts, rendered per request without parsing. The
 * route compiler has refused unknown variables already.
 */
import { HEADER_FIELD_PREFIX, HEADER_TEMPLATE_VARS, TEMPLATE_VARIABLE, type HeaderTemplateVar } from '../../routing/template-vars.js';

/** One value per variable the validator knows (routing/template-vars.ts), and the request's headers for `{headers.<name>}`. */
export type TemplateVars = Record<HeaderTemplateVar, string | number> & {
  /** Lower-cased names; repeated fields joined with ', '. */
  readonly requestHeaders: Readonly<Record<string, string>>;
};

type Part = { lit: string } | { v: HeaderTemplateVar } | { h: string };
const VARS = new Set<string>(HEADER_TEMPLATE_VARS);

export interface CompiledTemplate {
  readonly constant: string | undefined;
  render(v: TemplateVars): string;
}

export function compileTemplate(text: string): CompiledTemplate {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(TEMPLATE_VARIABLE)) {
    const name = m[1]!;
    const header = name.startsWith(HEADER_FIELD_PREFIX) ? name.slice(HEADER_FIELD_PREFIX.length).toLowerCase() : undefined;
    if (header === undefined && !VARS.has(name)) continue;
    if (m.index! > last) parts.push({ lit: text.slice(last, m.index) });
    parts.push(header !== undefined ? { h: header } : { v: name as HeaderTemplateVar });
    last = m.index! + m[0].length;
  }
  if (last < text.length) parts.push({ lit: text.slice(last) });
  if (parts.every((p) => 'lit' in p)) {
    return { constant: text, render: () => text };
  }
  return {
    constant: undefined,
    render(v: TemplateVars): string {
      let out = '';
      for (const p of parts) out += 'lit' in p ? p.lit : 'v' in p ? String(v[p.v]) : (v.requestHeaders[p.h] ?? '');
      // A rendered value never carries a line break or a NUL into a header, whatever a variable holds.
      return out.replace(/[\r\n\0]/g, '');
    },
  };
}
