/**
 * `*` globs without regular expressions: a pattern is split once into its literal parts, and a
 * string range is tested with startsWith/indexOf only (no allocation). `*` matches any run of
 * characters, including an empty one.
 */
export interface Glob {
  readonly parts: readonly string[];
  /** Number of literal (non-`*`) characters: the specificity of the glob. */
  readonly literalLength: number;
}

export function compileGlob(pattern: string): Glob {
  const parts = pattern.split('*');
  let literalLength = 0;
  for (const p of parts) literalLength += p.length;
  return { parts, literalLength };
}

/** Tests s[start, end) against the glob. Greedy leftmost placement is exact for `*`-only globs. */
export function globMatch(g: Glob, s: string, start: number, end: number): boolean {
  const parts = g.parts;
  const n = parts.length;
  const first = parts[0]!;
  if (n === 1) return end - start === first.length && s.startsWith(first, start);
  const last = parts[n - 1]!;
  if (end - start < first.length + last.length) return false;
  if (!s.startsWith(first, start) || !s.startsWith(last, end - last.length)) return false;
  let pos = start + first.length;
  const limit = end - last.length;
  for (let k = 1; k < n - 1; k++) {
    const p = parts[k]!;
    if (p.length === 0) continue;
    const idx = s.indexOf(p, pos);
    if (idx < 0 || idx + p.length > limit) return false;
    pos = idx + p.length;
  }
  return true;
}
