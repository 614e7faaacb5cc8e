/**
 * No `any` in the public types: everything the package root exports (dist_ts/index.d.ts, as built
 * by `npm run build`), checked two ways.
 *
 * 1. Declarations: each declaration the root exports (followed through `export *` / `export { }`
 *    into the .d.ts that declares it) is scanned, comments and strings aside, for the `any`
 *    keyword. Needs nothing but the files.
 * 2. Types: TypeScript 7 has no in-process compiler API (`typescript` exports no createProgram);
 *    it ships `typescript/unstable/sync`, a client of the native checker. Through it, the type of
 *    every export is walked (properties, call and construct signatures, index signatures, type
 *    arguments, unions) and any `any` it reaches is reported with its path, also one that no
 *    declaration spells: an inferred `any`, or a type that does not resolve (the error type is an
 *    `any`). Types declared outside dist_ts (Node's, the standard library's) are not entered, only
 *    their type arguments; private members are not public.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const dist = join(root, 'dist_ts');
const entry = join(dist, 'index.d.ts');
const buildHint = `${relative(root, entry)} is missing: run \`npm run build\` first (npm test does)`;

// ---------------------------------------------------------------------------------------------
// 1. Declarations
// ---------------------------------------------------------------------------------------------

interface Token {
  kind: 'ident' | 'punct' | 'string';
  text: string;
  line: number;
}

/** A small lexer for .d.ts text: identifiers, punctuation, strings; comments dropped. */
function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const isIdStart = (c: string): boolean => /[A-Za-z_$#]/.test(c);
  const isId = (c: string): boolean => /[A-Za-z0-9_$]/.test(c);
  const skipString = (quote: string): void => {
    i++;
    while (i < src.length && src[i] !== quote) {
      if (src[i] === '\\') i++;
      else if (src[i] === '\n') line++;
      i++;
    }
    i++;
  };
  /** A template literal (type): its text is a string, each `${ ... }` is lexed as code. */
  const template = (): void => {
    out.push({ kind: 'string', text: '`', line });
    i++;
    while (i < src.length && src[i] !== '`') {
      if (src[i] === '\\') i += 2;
      else if (src[i] === '$' && src[i + 1] === '{') {
        i += 2;
        code('}');
        i++;
      } else {
        if (src[i] === '\n') line++;
        i++;
      }
    }
    i++;
  };
  /** Lex until the `close` that ends this nesting level (or the end). */
  const code = (close: string | undefined): void => {
    let depth = 0;
    while (i < src.length) {
      const c = src[i]!;
      if (c === '\n') {
        line++;
        i++;
      } else if (/\s/.test(c)) i++;
      else if (c === '/' && src[i + 1] === '/') {
        while (i < src.length && src[i] !== '\n') i++;
      } else if (c === '/' && src[i + 1] === '*') {
        const end = src.indexOf('*/', i + 2);
        const stop = end < 0 ? src.length : end + 2;
        for (let j = i; j < stop; j++) if (src[j] === '\n') line++;
        i = stop;
      } else if (c === '"' || c === "'") {
        const at = line;
        const from = i;
        skipString(c);
        out.push({ kind: 'string', text: src.slice(from, i), line: at });
      } else if (c === '`') template();
      else if (isIdStart(c)) {
        const from = i;
        i++;
        while (i < src.length && isId(src[i]!)) i++;
        out.push({ kind: 'ident', text: src.slice(from, i), line });
      } else if (/[0-9]/.test(c)) {
        const from = i;
        while (i < src.length && /[0-9A-Za-z_.]/.test(src[i]!)) i++;
        out.push({ kind: 'punct', text: src.slice(from, i), line });
      } else {
        if (close !== undefined && c === close && depth === 0) return;
        if (c === '{') depth++;
        if (c === '}') depth--;
        out.push({ kind: 'punct', text: c, line });
        i++;
      }
    }
  };
  code(undefined);
  return out;
}

interface Statement {
  tokens: Token[];
  /** 'interface', 'type', 'class', 'function', 'const', ..., 'export-from', 'export-list', 'import'. */
  kind: string;
  /** The declared name (declarations). */
  name?: string;
  exported: boolean;
}

const BLOCK_KINDS = new Set(['interface', 'class', 'enum', 'namespace', 'module']);
const DECL_KINDS = new Set(['interface', 'type', 'class', 'function', 'const', 'let', 'var', 'enum', 'namespace', 'module']);
const MODIFIERS = new Set(['export', 'declare', 'default', 'abstract', 'async']);

/** Top-level statements of a .d.ts: split on `;` at depth 0, and after the body of a block declaration. */
function statements(tokens: readonly Token[]): Statement[] {
  const out: Statement[] = [];
  let cur: Token[] = [];
  let depth = 0;
  const head = (ts: Token[]): Omit<Statement, 'tokens'> => {
    let k = 0;
    let exported = false;
    while (k < ts.length && MODIFIERS.has(ts[k]!.text)) {
      if (ts[k]!.text === 'export') exported = true;
      k++;
    }
    const first = ts[k]?.text ?? '';
    if (ts[0]?.text === 'import') return { kind: 'import', exported: false };
    if (exported && (first === '*' || first === '{' || (first === 'type' && ts[k + 1]?.text === '{'))) {
      return { kind: ts.some((t) => t.text === 'from') ? 'export-from' : 'export-list', exported };
    }
    if (DECL_KINDS.has(first)) return { kind: first, name: ts[k + 1]?.text, exported };
    return { kind: 'other', exported };
  };
  const flush = (): void => {
    if (cur.length > 0) out.push({ tokens: cur, ...head(cur) });
    cur = [];
  };
  for (const t of tokens) {
    cur.push(t);
    if (t.kind !== 'punct') continue;
    if (t.text === '{' || t.text === '(' || t.text === '[') depth++;
    else if (t.text === '}' || t.text === ')' || t.text === ']') {
      depth--;
      if (depth === 0 && t.text === '}' && BLOCK_KINDS.has(head(cur).kind)) flush();
    } else if (t.text === ';' && depth === 0) flush();
  }
  flush();
  return out;
}

/** `{ a, type b, c as d }` -> [[exported name, local name]]. */
function specifiers(ts: readonly Token[]): Array<[string, string]> {
  const open = ts.findIndex((t) => t.text === '{');
  const close = ts.findIndex((t) => t.text === '}');
  if (open < 0 || close < 0) return [];
  const out: Array<[string, string]> = [];
  let part: string[] = [];
  const push = (): void => {
    const words = part.filter((w) => w !== 'type');
    if (words.length === 1) out.push([words[0]!, words[0]!]);
    else if (words.length === 3 && words[1] === 'as') out.push([words[2]!, words[0]!]);
    part = [];
  };
  for (const t of ts.slice(open + 1, close)) {
    if (t.text === ',') push();
    else part.push(t.text);
  }
  push();
  return out;
}

function fromPath(ts: readonly Token[], file: string): string | undefined {
  const i = ts.findIndex((t) => t.text === 'from');
  const spec = i >= 0 ? ts[i + 1]?.text.slice(1, -1) : undefined;
  if (!spec || !spec.startsWith('.')) return undefined;
  return resolve(dirname(file), spec.replace(/\.js$/, '.d.ts'));
}

const parsed = new Map<string, Statement[]>();
function statementsOf(file: string): Statement[] {
  let s = parsed.get(file);
  if (!s) {
    s = statements(lex(readFileSync(file, 'utf8')));
    parsed.set(file, s);
  }
  return s;
}

interface Found {
  file: string;
  statement: Statement;
}

/** The declaration(s) of `name` as module `file` exports it (overloads and merged declarations: several). */
function findExport(file: string, name: string, seen = new Set<string>()): Found[] {
  const key = `${file}#${name}`;
  if (seen.has(key) || !existsSync(file)) return [];
  seen.add(key);
  const sts = statementsOf(file);
  const own = sts.filter((s) => s.exported && s.name === name && DECL_KINDS.has(s.kind));
  if (own.length > 0) return own.map((statement) => ({ file, statement }));
  for (const s of sts) {
    if (s.kind === 'export-from') {
      const target = fromPath(s.tokens, file);
      if (!target) continue;
      const star = s.tokens.some((t) => t.text === '*') && !s.tokens.some((t) => t.text === '{');
      if (star) {
        const found = findExport(target, name, seen);
        if (found.length > 0) return found;
      }
      for (const [exported, local] of specifiers(s.tokens)) if (exported === name) return findExport(target, local, seen);
    } else if (s.kind === 'export-list') {
      for (const [exported, local] of specifiers(s.tokens)) {
        if (exported !== name) continue;
        const local_ = sts.filter((d) => d.name === local && DECL_KINDS.has(d.kind));
        if (local_.length > 0) return local_.map((statement) => ({ file, statement }));
        for (const imp of sts.filter((d) => d.kind === 'import')) {
          for (const [imported, as] of specifiers(imp.tokens)) {
            const target = fromPath(imp.tokens, file);
            if (as === local && target) return findExport(target, imported, seen);
          }
        }
      }
    }
  }
  return [];
}

/** Every name module `file` exports. */
function exportNames(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const names: string[] = [];
  for (const s of statementsOf(file)) {
    if (s.exported && s.name && DECL_KINDS.has(s.kind)) names.push(s.name);
    else if (s.kind === 'export-from' || s.kind === 'export-list') {
      const list = specifiers(s.tokens);
      if (list.length > 0) names.push(...list.map(([exported]) => exported));
      else if (s.kind === 'export-from') {
        const target = fromPath(s.tokens, file);
        if (target) names.push(...exportNames(target, seen));
      }
    }
  }
  return [...new Set(names)];
}

/** `any` as a type: not a property or method named any, nor a qualified name's part. */
function anyTokens(ts: readonly Token[]): Token[] {
  return ts.filter((t, i) => t.kind === 'ident' && t.text === 'any' && ts[i - 1]?.text !== '.' && ![':', '?', '('].includes(ts[i + 1]?.text ?? ''));
}

test('no any in public types: the exported declarations (dist_ts/*.d.ts) never say `any`', () => {
  assert.ok(existsSync(entry), buildHint);
  const names = exportNames(entry);
  assert.ok(names.includes('SmartProxy') && names.includes('IRouteConfig'), `the root exports too little: ${names.join(', ')}`);
  const missing: string[] = [];
  const hits: string[] = [];
  for (const name of names) {
    const found = findExport(entry, name);
    if (found.length === 0) missing.push(name);
    for (const { file, statement } of found) {
      for (const t of anyTokens(statement.tokens)) {
        const text = readFileSync(file, 'utf8').split('\n')[t.line - 1]?.trim();
        hits.push(`  ${name}: ${relative(root, file)}:${t.line}: ${text}`);
      }
    }
  }
  assert.deepEqual(missing, [], `declarations not found for: ${missing.join(', ')}`);
  assert.equal(hits.length, 0, `\`any\` in ${hits.length} place(s) of the public declarations:\n${hits.join('\n')}`);
});

test('the declaration scan finds `any` where it is (self-check)', () => {
  const sts = statements(
    lex(
      [
        '/** any in a comment */',
        'export interface A { x: any; any: string; y?: Map<string, any[]>; z: `a${any}`; }',
        "export declare function f(a: 'any', ...r: unknown[]): void;",
        'export type B = { any(): void; w: Foo.any };',
      ].join('\n'),
    ),
  );
  assert.deepEqual(
    sts.map((s) => [s.kind, s.name, anyTokens(s.tokens).length]),
    [
      ['interface', 'A', 3],
      ['function', 'f', 0],
      ['type', 'B', 0],
    ],
  );
});

// ---------------------------------------------------------------------------------------------
// 2. Types, through the checker (typescript/unstable/sync)
// ---------------------------------------------------------------------------------------------

/* The unstable API is typed loosely here on purpose: its shapes may move between 7.x releases. */
interface ApiSymbol {
  id: number;
  name: string;
  flags: number;
  declarations: ReadonlyArray<{ path: string; resolve(): ApiNode | undefined }>;
}
interface ApiNode {
  kind: number;
  modifiers?: { nodes?: ReadonlyArray<{ kind: number }> } | ReadonlyArray<{ kind: number }>;
}
interface ApiType {
  id: number;
  flags: number;
  objectFlags: number;
  getSymbol(): ApiSymbol | undefined;
  getTypes(): readonly ApiType[] | undefined;
  isTypeReference(): boolean;
  isTypeParameter(): boolean;
  getConstraint(): ApiType | undefined;
}
interface ApiSignature {
  getParameters(): readonly ApiSymbol[];
  getTypeParameters(): readonly ApiType[];
}

test('no any in public types: the checker finds no `any` in the type of any export', async (t) => {
  assert.ok(existsSync(entry), buildHint);
  let mod: Record<string, unknown>;
  try {
    mod = { ...((await import('typescript/unstable/sync')) as Record<string, unknown>) };
    mod.SyntaxKind = ((await import('typescript/unstable/ast')) as Record<string, unknown>).SyntaxKind;
  } catch (err) {
    // As with the suite's other tools: missing under CI is a failure, locally a skip.
    const why = `typescript/unstable/sync is not available (${String(err)}); the declaration scan above still ran`;
    if (process.env.CI === 'true') assert.fail(why);
    t.skip(why);
    return;
  }
  const { API, SymbolFlags, TypeFlags, SignatureKind, SyntaxKind } = mod as {
    API: new (o: { cwd: string }) => { updateSnapshot(p: { openProjects: string[] }): unknown; close(): void };
    SymbolFlags: Record<string, number>;
    TypeFlags: Record<string, number>;
    SignatureKind: Record<string, number>;
    SyntaxKind?: Record<string, number>;
  };
  const started = Date.now();
  const config = join(here, 'tsconfig.no-any.json');
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [config] }) as {
      getProject(f: string): unknown;
      getProjects(): readonly unknown[];
    };
    const project = (snapshot.getProject(config) ?? snapshot.getProjects()[0]) as {
      program: { getSourceFile(f: string): unknown };
      checker: Record<string, (...a: never[]) => unknown>;
    };
    assert.ok(project, 'the checker opened no project for tsconfig.no-any.json');
    const checker = project.checker as unknown as {
      getSymbolAtLocation(n: unknown): ApiSymbol | undefined;
      getExportsOfModule(s: ApiSymbol): readonly ApiSymbol[];
      getAliasedSymbol(s: ApiSymbol): ApiSymbol;
      getTypeOfSymbol(s: ApiSymbol): ApiType | undefined;
      getDeclaredTypeOfSymbol(s: ApiSymbol): ApiType;
      getPropertiesOfType(t: ApiType): readonly ApiSymbol[];
      getSignaturesOfType(t: ApiType, k: number): readonly ApiSignature[];
      getReturnTypeOfSignature(s: ApiSignature): ApiType | undefined;
      getIndexInfosOfType(t: ApiType): ReadonlyArray<{ keyType: ApiType; type: ApiType } | { getKeyType(): ApiType; getValueType(): ApiType }>;
      getTypeArguments(t: ApiType): readonly ApiType[];
      typeToString(t: ApiType): string;
    };
    const sourceFile = project.program.getSourceFile(entry);
    assert.ok(sourceFile, `the checker's program has no ${relative(root, entry)}`);
    const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
    assert.ok(moduleSymbol, 'no module symbol for dist_ts/index.d.ts');
    const exports = checker.getExportsOfModule(moduleSymbol);
    assert.ok(exports.length > 10, `the root exports only ${exports.length} names`);

    const distPrefix = `${dist}/`.toLowerCase();
    const ours = (s: ApiSymbol | undefined): boolean => s !== undefined && s.declarations.some((d) => d.path.toLowerCase().startsWith(distPrefix));
    const foreign = (s: ApiSymbol | undefined): boolean => s !== undefined && s.declarations.length > 0 && !ours(s);
    const privateKinds = new Set([SyntaxKind?.PrivateKeyword, SyntaxKind?.ProtectedKeyword].filter((k) => k !== undefined));
    const isPrivate = (s: ApiSymbol): boolean => {
      if (s.name.startsWith('#') || s.name.startsWith('__#')) return true;
      return s.declarations.some((d) => {
        const node = d.resolve();
        const mods = node?.modifiers;
        const list = Array.isArray(mods) ? mods : ((mods as { nodes?: ReadonlyArray<{ kind: number }> } | undefined)?.nodes ?? []);
        return list.some((m) => privateKinds.has(m.kind));
      });
    };
    const indexTypes = (t: ApiType): Array<[ApiType, ApiType]> =>
      checker.getIndexInfosOfType(t).map((info) => ('getKeyType' in info ? [info.getKeyType(), info.getValueType()] : [info.keyType, info.type]));

    const hits = new Map<string, string>();
    const seen = new Set<number>();
    let visited = 0;
    const walk = (type: ApiType | undefined, path: string, depth: number): void => {
      if (!type || depth > 12) return;
      if (type.flags & TypeFlags.Any!) {
        if (!hits.has(path)) hits.set(path, checker.typeToString(type));
        return;
      }
      if (seen.has(type.id)) return;
      seen.add(type.id);
      visited++;
      const union = type.getTypes();
      if (union && type.flags & (TypeFlags.Union! | TypeFlags.Intersection!)) {
        for (const member of union) walk(member, path, depth + 1);
        return;
      }
      if (type.isTypeParameter()) {
        walk(type.getConstraint(), `${path}<constraint>`, depth + 1);
        return;
      }
      if (!(type.flags & TypeFlags.Object!)) return;
      if (type.isTypeReference()) checker.getTypeArguments(type).forEach((arg, i) => walk(arg, `${path}<${i}>`, depth + 1));
      const symbol = type.getSymbol();
      // Node's and the standard library's types: their type arguments only (above).
      if (foreign(symbol) && !symbol!.name.startsWith('__')) return;
      for (const prop of checker.getPropertiesOfType(type)) {
        if (foreign(prop) || isPrivate(prop)) continue;
        walk(checker.getTypeOfSymbol(prop), `${path}.${prop.name}`, depth + 1);
      }
      for (const [kind, label] of [
        [SignatureKind.Call!, ''],
        [SignatureKind.Construct!, 'new '],
      ] as const) {
        for (const sig of checker.getSignaturesOfType(type, kind)) {
          for (const tp of sig.getTypeParameters()) walk(tp, `${label}${path}<T>`, depth + 1);
          for (const param of sig.getParameters()) walk(checker.getTypeOfSymbol(param), `${label}${path}(${param.name})`, depth + 1);
          walk(checker.getReturnTypeOfSignature(sig), `${label}${path}()`, depth + 1);
        }
      }
      for (const [key, value] of indexTypes(type)) {
        walk(key, `${path}[key]`, depth + 1);
        walk(value, `${path}[]`, depth + 1);
      }
    };

    for (const exported of exports) {
      const target = exported.flags & SymbolFlags.Alias! ? checker.getAliasedSymbol(exported) : exported;
      if (target.flags & SymbolFlags.Value!) walk(checker.getTypeOfSymbol(target), exported.name, 0);
      if (target.flags & SymbolFlags.Type!) walk(checker.getDeclaredTypeOfSymbol(target), exported.name, 0);
    }
    const list = [...hits].map(([path, shown]) => `  ${path}: ${shown}`);
    console.log(`checker walk: ${exports.length} exports, ${visited} types, ${Date.now() - started} ms`);
    assert.ok(visited > 50, `the walk reached only ${visited} types: the API may have changed shape`);
    assert.equal(list.length, 0, `\`any\` reachable from ${list.length} public path(s):\n${list.join('\n')}`);
  } finally {
    api.close();
  }
});
