/**
 * Path matcher: exact (`/about`), prefix (`/api/*`: matches /api, /api/ and below, never /apix),
 * parameters (`/users/:id`, one non-empty segment each, captured) and `*` globs inside a segment
 * (`/static/*.css`; `*` never crosses `/`). A query string (`?...`) is never part of the path.
 * The result carries the captured params and the remainder after the matched part (for rewriting).
 */
import { configError } from '../../core/errors.js';
import { compileGlob, globMatch, type Glob } from './glob.js';

export interface PathMatch {
  readonly params: Readonly<Record<string, string>> | undefined;
  /** What follows the matched prefix (`/x/y` for `/api/*` on `/api/x/y`, `` on `/api`); `` for exact patterns. */
  readonly remainder: string;
}

export interface PathPattern {
  readonly pattern: string;
  /** Literal characters in the pattern: the specificity of a path match. */
  readonly literalLength: number;
  /** The first path segment when it is literal (`api` for `/api/*`, `` for `/`): an index key. */
  readonly firstSegment: string | undefined;
  match(path: string): PathMatch | undefined;
}

type Segment = { kind: 'lit'; text: string } | { kind: 'param'; name: string } | { kind: 'glob'; glob: Glob };

const EMPTY: PathMatch = Object.freeze({ params: undefined, remainder: '' });
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function decode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function queryEnd(path: string): number {
  const q = path.indexOf('?');
  return q < 0 ? path.length : q;
}

export function compilePathPattern(p: string, fieldPath = 'path'): PathPattern {
  if (typeof p !== 'string') throw configError(fieldPath, 'must be a string');
  if (p.length === 0 || p.charCodeAt(0) !== 47) throw configError(fieldPath, `'${p}' must start with '/'`);
  if (/[\s?#]/.test(p)) throw configError(fieldPath, `'${p}' must not contain whitespace, '?' or '#'`);
  const prefix = p.endsWith('/*');
  const body = prefix ? p.slice(0, -2) : p;
  const rawSegments = body === '' ? [] : body.slice(1).split('/');
  const segments: Segment[] = [];
  const names = new Set<string>();
  let literalLength = 0;
  for (const seg of rawSegments) {
    literalLength += 1; // the '/'
    if (seg.startsWith(':')) {
      const name = seg.slice(1);
      if (!PARAM_NAME.test(name)) throw configError(fieldPath, `'${p}': bad parameter name '${seg}'`);
      if (names.has(name)) throw configError(fieldPath, `'${p}': parameter '${name}' appears twice`);
      names.add(name);
      segments.push({ kind: 'param', name });
    } else if (seg.indexOf('*') >= 0) {
      const glob = compileGlob(seg);
      literalLength += glob.literalLength;
      segments.push({ kind: 'glob', glob });
    } else {
      literalLength += seg.length;
      segments.push({ kind: 'lit', text: seg });
    }
  }
  const first = segments[0];
  const firstSegment = first?.kind === 'lit' ? first.text : undefined;
  if (segments.every((s) => s.kind === 'lit')) return literalPattern(p, body, prefix, literalLength, firstSegment);
  return segmentPattern(p, segments, prefix, literalLength, firstSegment);
}

function literalPattern(pattern: string, literal: string, prefix: boolean, literalLength: number, firstSegment: string | undefined): PathPattern {
  const ll = literal.length;
  return {
    pattern,
    literalLength,
    firstSegment,
    match(path: string): PathMatch | undefined {
      const end = queryEnd(path);
      if (!prefix) return end === ll && path.startsWith(literal) ? EMPTY : undefined;
      if (end < ll || !path.startsWith(literal)) return undefined;
      if (end === ll) return ll === 0 ? undefined : EMPTY;
      if (path.charCodeAt(ll) !== 47) return undefined;
      return { params: undefined, remainder: path.slice(ll, end) };
    },
  };
}

function segmentPattern(pattern: string, segments: Segment[], prefix: boolean, literalLength: number, firstSegment: string | undefined): PathPattern {
  const n = segments.length;
  const spans = new Int32Array(n * 2); // start/end of each segment in the matched path
  return {
    pattern,
    literalLength,
    firstSegment,
    match(path: string): PathMatch | undefined {
      const len = queryEnd(path);
      if (len === 0 || path.charCodeAt(0) !== 47) return undefined;
      let pos = 1;
      let end = 0;
      for (let k = 0; k < n; k++) {
        if (pos > len) return undefined;
        end = path.indexOf('/', pos);
        if (end < 0 || end > len) end = len;
        const seg = segments[k]!;
        if (seg.kind === 'lit') {
          if (end - pos !== seg.text.length || !path.startsWith(seg.text, pos)) return undefined;
        } else if (seg.kind === 'param') {
          if (end === pos) return undefined;
        } else if (!globMatch(seg.glob, path, pos, end)) {
          return undefined;
        }
        spans[2 * k] = pos;
        spans[2 * k + 1] = end;
        pos = end + 1;
      }
      if (end !== len && !prefix) return undefined;
      let params: Record<string, string> | undefined;
      for (let k = 0; k < n; k++) {
        const seg = segments[k]!;
        if (seg.kind === 'param') (params ??= {})[seg.name] = decode(path.slice(spans[2 * k]!, spans[2 * k + 1]!));
      }
      const remainder = end === len ? '' : path.slice(end, len);
      return params === undefined && remainder === '' ? EMPTY : { params, remainder };
    },
  };
}

/**
 * Hash of a request path's first segment (up to '/', '?' or the end), computed without
 * allocating; equals hashSegment(firstSegment) of a pattern with that literal first segment.
 * -1 when the path does not start with '/'.
 */
export function firstSegmentHash(path: string): number {
  if (path.charCodeAt(0) !== 47) return -1;
  let h = 7;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 47 || c === 63) break;
    h = (Math.imul(h, 31) + c) | 0;
  }
  return h;
}

export function hashSegment(segment: string): number {
  let h = 7;
  for (let i = 0; i < segment.length; i++) h = (Math.imul(h, 31) + segment.charCodeAt(i)) | 0;
  return h;
}
