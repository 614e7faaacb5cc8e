/**
 * Header value templates (`{clientIp}`, `{domain}`, `{path}`, `{routeName}`, ...), compiled
 * once per route into literal and variable parts, rendered per request without parsing. The
 * route compiler has refused unknown variables already.
 */
import { HEADER_TEMPLATE_VARS, TEMPLATE_VARIABLE, type HeaderTemplateVar } from '../../routing/template-vars.js';

/** One value per variable the validator knows (routing/template-vars.ts). */
export type TemplateVars = Record<HeaderTemplateVar, string | number>;

type Part = string | keyof TemplateVars;
const VARS = new Set<string>(HEADER_TEMPLATE_VARS);

export interface CompiledTemplate {
  readonly constant: string | undefined;
  render(v: TemplateVars): string;
}

export function compileTemplate(text: string): CompiledTemplate {
  const parts: Array<{ lit: string } | { v: keyof TemplateVars }> = [];
  let last = 0;
  for (const m of text.matchAll(TEMPLATE_VARIABLE)) {
    if (!VARS.has(m[1]!)) continue;
    if (m.index! > last) parts.push({ lit: text.slice(last, m.index) });
    parts.push({ v: m[1] as keyof TemplateVars });
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
      for (const p of parts) out += 'lit' in p ? p.lit : String(v[p.v]);
      // A rendered value never carries a line break or a NUL into a header, whatever a variable holds.
      return out.replace(/[\r\n\0]/g, '');
    },
  };
}

export type { Part };
