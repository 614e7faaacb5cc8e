/**
 * Path rewriting for HTTP routes (`action.target.path`): a template filled from the route's
 * path match. Compiled once per template; rendering is string concatenation.
 */
export interface PathRewrite {
  render(path: string, remainder: string | undefined, params: Readonly<Record<string, string>> | undefined): string;
}

export function compilePathRewrite(template: string): PathRewrite {
  const parts: Array<{ lit: string } | { v: string }> = [];
  let last = 0;
  for (const m of template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    if (m.index! > last) parts.push({ lit: template.slice(last, m.index) });
    parts.push({ v: m[1]! });
    last = m.index! + m[0].length;
  }
  if (last < template.length) parts.push({ lit: template.slice(last) });
  return {
    render(path, remainder, params) {
      let out = '';
      for (const p of parts) {
        if ('lit' in p) out += p.lit;
        else if (p.v === 'remainder') out += remainder ?? '';
        else if (p.v === 'path') out += path;
        else out += encodeURIComponent(params?.[p.v] ?? '');
      }
      // Never emit a double slash at a join ('/v2' + '/users') or an empty path.
      out = out.replace(/\/{2,}/g, '/');
      return out === '' ? '/' : out;
    },
  };
}
