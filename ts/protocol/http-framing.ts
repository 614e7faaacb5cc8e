/**
 * HTTP/1.1 message framing (RFC 9112 section 6): how long a body is, and an incremental
 * tracker that finds where it ends while its bytes pass through unchanged. Pure.
 * Conflicting Content-Length / Transfer-Encoding is refused (request smuggling).
 */
import { trimOws } from './http-head.js';

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };
export type FramingResult = Framing | { kind: 'error'; reason: string };

const NONE: Framing = Object.freeze({ kind: 'none' });
const CHUNKED: Framing = Object.freeze({ kind: 'chunked' });
const CLOSE: Framing = Object.freeze({ kind: 'close' });

interface LengthHeaders {
  te: string | undefined;
  cl: string | undefined;
  clConflict: boolean;
}

function lengthHeaders(headers: readonly string[]): LengthHeaders {
  let te: string | undefined;
  let cl: string | undefined;
  let clConflict = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      te = te === undefined ? headers[i + 1]! : `${te}, ${headers[i + 1]!}`;
    } else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      // "Content-Length: 5, 5" and repeated identical values are one length; anything else conflicts.
      for (const part of headers[i + 1]!.split(',')) {
        const v = trimOws(part);
        if (cl === undefined) cl = v;
        else if (cl !== v) clConflict = true;
      }
    }
  }
  return { te, cl, clConflict };
}

function parseLength(v: string): number | undefined {
  if (!/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
}

function isChunkedLast(te: string): 'chunked' | 'other' | 'bad' {
  const codings = te.split(',').map((c) => trimOws(c).toLowerCase());
  if (codings.some((c) => c === '')) return 'bad';
  const last = codings[codings.length - 1];
  if (last !== 'chunked') return 'other';
  // chunked must appear exactly once, last.
  return codings.indexOf('chunked') === codings.length - 1 ? 'chunked' : 'bad';
}

/** Framing of a request body. */
export function requestFraming(headers: readonly string[]): FramingResult {
  const { te, cl, clConflict } = lengthHeaders(headers);
  if (te !== undefined) {
    if (cl !== undefined) return { kind: 'error', reason: 'both Transfer-Encoding and Content-Length' };
    const k = isChunkedLast(te);
    if (k !== 'chunked') return { kind: 'error', reason: `unsupported Transfer-Encoding ${JSON.stringify(te)}` };
    return CHUNKED;
  }
  if (cl !== undefined) return lengthFraming(cl, clConflict);
  return NONE;
}

/** A body delimited by Content-Length (RFC 9112 6.3: conflicting or invalid values are errors). */
function lengthFraming(cl: string, conflict: boolean): FramingResult {
  if (conflict) return { kind: 'error', reason: 'conflicting Content-Length values' };
  const n = parseLength(cl);
  if (n === undefined) return { kind: 'error', reason: `invalid Content-Length ${JSON.stringify(cl)}` };
  return n === 0 ? NONE : { kind: 'length', length: n };
}

/** Framing of a response body, given the request method it answers. */
export function responseFraming(status: number, requestMethod: string, headers: readonly string[]): FramingResult {
  if (requestMethod === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) return NONE;
  const { te, cl, clConflict } = lengthHeaders(headers);
  if (te !== undefined) {
    const k = isChunkedLast(te);
    if (k === 'bad') return { kind: 'error', reason: `invalid Transfer-Encoding ${JSON.stringify(te)}` };
    return k === 'chunked' ? CHUNKED : CLOSE;
  }
  if (cl !== undefined) return lengthFraming(cl, clConflict);
  return CLOSE;
}

const MAX_CHUNK_LINE = 4096;
const enum S {
  Size,
  /** After ';': a chunk-ext name (RFC 9112 7.1.1), no whitespace (llhttp's strict grammar). */
  ExtName,
  ExtValStart,
  ExtToken,
  ExtQuoted,
  ExtQuotedEsc,
  ExtQuotedEnd,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  /** At the start of a trailer line (or the blank line that ends the body). */
  TrailerStart,
  TrailerName,
  TrailerValue,
  TrailerLf,
  EndLf,
  Done,
}

/** RFC 9110 5.6.2 tchar. */
function isTchar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x21 || c === 0x23 || c === 0x24 || c === 0x25 || c === 0x26 || c === 0x27 || c === 0x2a ||
    c === 0x2b || c === 0x2d || c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e
  );
}

/** Fields a trailer may not carry: they frame or route the message (RFC 9110 6.5.1). */
const FORBIDDEN_TRAILERS = new Set(['content-length', 'transfer-encoding', 'host']);

/**
 * Finds the end of a body as its bytes stream past. `advance(buf, start)` returns the index
 * in `buf` just past the body's last byte, or `buf.length` when the body continues; `done`
 * turns true at the end. `error` is set (and done stays false) on malformed chunked framing.
 */
export class BodyTracker {
  done: boolean;
  error: string | undefined = undefined;
  private remaining = 0;
  private state: S = S.Size;
  private lineLength = 0;
  private sizeDigits = 0;
  private extLength = 0;
  private trailerName = '';

  /**
   * `payload`: for a chunked body, told of each run of chunk data as it passes (`buf[from, to)`),
   * so a caller can relay the payload without the chunk framing (an HTTP/1.0 client).
   */
  constructor(
    private readonly framing: Framing,
    private readonly payload?: (buf: Buffer, from: number, to: number) => void,
  ) {
    this.done = framing.kind === 'none';
    if (framing.kind === 'length') this.remaining = framing.length;
  }

  advance(buf: Buffer, start: number): number {
    if (this.done || this.error) return start;
    switch (this.framing.kind) {
      case 'length': {
        const take = Math.min(this.remaining, buf.length - start);
        this.remaining -= take;
        if (this.remaining === 0) this.done = true;
        return start + take;
      }
      case 'close':
        return buf.length;
      case 'chunked':
        return this.chunked(buf, start);
      default:
        return start;
    }
  }

  private fail(reason: string, at: number): number {
    this.error = reason;
    return at;
  }

  /**
   * The chunked grammar of RFC 9112 7.1, as strictly as llhttp reads it: hex size, extensions
   * `;name[=token|"quoted"]` without whitespace, CRLF after every line and chunk, trailer lines
   * that are valid fields (no obs-fold, no Content-Length / Transfer-Encoding / Host). Anything
   * else is an error: a message two parsers could frame differently is never relayed.
   */
  private chunked(buf: Buffer, start: number): number {
    let i = start;
    while (i < buf.length) {
      const c = buf[i]!;
      switch (this.state) {
        case S.Size:
          if (c === 0x0d) {
            if (this.sizeDigits === 0) return this.fail('chunk size missing', i);
            this.state = S.SizeLf;
          } else if (c === 0x3b) {
            if (this.sizeDigits === 0) return this.fail('chunk size missing', i);
            this.state = S.ExtName;
            this.extLength = 0;
          } else {
            const h = hexValue(c);
            if (h < 0) return this.fail('bad byte in chunk size', i);
            if (++this.sizeDigits > 13) return this.fail('chunk size too large', i);
            this.remaining = this.remaining * 16 + h;
          }
          break;
        case S.ExtName:
          if (isTchar(c)) this.extLength++;
          else if (this.extLength === 0) return this.fail('bad chunk extension', i);
          else if (c === 0x3d) this.state = S.ExtValStart;
          else if (c === 0x3b) this.extLength = 0;
          else if (c === 0x0d) this.state = S.SizeLf;
          else return this.fail('bad chunk extension', i);
          break;
        case S.ExtValStart:
        case S.ExtToken:
          if (c === 0x22 && this.state === S.ExtValStart) this.state = S.ExtQuoted;
          else if (isTchar(c)) this.state = S.ExtToken;
          else if (c === 0x3b) {
            this.state = S.ExtName;
            this.extLength = 0;
          } else if (c === 0x0d) this.state = S.SizeLf;
          else return this.fail('bad chunk extension value', i);
          break;
        case S.ExtQuoted:
          if (c === 0x22) this.state = S.ExtQuotedEnd;
          else if (c === 0x5c) this.state = S.ExtQuotedEsc;
          else if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e))) return this.fail('bad byte in a quoted chunk extension', i);
          break;
        case S.ExtQuotedEsc:
          if (!(c === 0x09 || (c >= 0x20 && c <= 0x7e))) return this.fail('bad quoted pair in a chunk extension', i);
          this.state = S.ExtQuoted;
          break;
        case S.ExtQuotedEnd:
          if (c === 0x3b) {
            this.state = S.ExtName;
            this.extLength = 0;
          } else if (c === 0x0d) this.state = S.SizeLf;
          else return this.fail('bad chunk extension', i);
          break;
        case S.SizeLf:
          if (c !== 0x0a) return this.fail('bare CR in chunk size line', i);
          this.lineLength = 0;
          this.sizeDigits = 0;
          this.state = this.remaining === 0 ? S.TrailerStart : S.Data;
          i++;
          continue;
        case S.Data: {
          const take = Math.min(this.remaining, buf.length - i);
          this.remaining -= take;
          if (take > 0) this.payload?.(buf, i, i + take);
          i += take;
          if (this.remaining === 0) this.state = S.DataCr;
          continue;
        }
        case S.DataCr:
          if (c !== 0x0d) return this.fail('chunk data not followed by CRLF', i);
          this.state = S.DataLf;
          i++;
          continue;
        case S.DataLf:
          if (c !== 0x0a) return this.fail('chunk data not followed by CRLF', i);
          this.state = S.Size;
          i++;
          continue;
        case S.TrailerStart:
          if (c === 0x0d) this.state = S.EndLf;
          else if (isTchar(c)) {
            this.state = S.TrailerName;
            this.trailerName = String.fromCharCode(c | 0x20);
          } else return this.fail('bad trailer line', i);
          break;
        case S.TrailerName:
          if (isTchar(c)) {
            if (this.trailerName.length < 18) this.trailerName += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
          } else if (c === 0x3a) {
            if (FORBIDDEN_TRAILERS.has(this.trailerName)) return this.fail(`${this.trailerName} in a trailer`, i);
            this.state = S.TrailerValue;
          } else return this.fail('bad trailer field name', i);
          break;
        case S.TrailerValue:
          if (c === 0x0d) this.state = S.TrailerLf;
          else if (!(c === 0x09 || (c >= 0x20 && c !== 0x7f))) return this.fail('bad byte in a trailer value', i);
          break;
        case S.TrailerLf:
          if (c !== 0x0a) return this.fail('bare CR in trailer', i);
          this.lineLength = 0;
          this.state = S.TrailerStart;
          i++;
          continue;
        case S.EndLf:
          if (c !== 0x0a) return this.fail('bare CR in trailer', i);
          this.state = S.Done;
          this.done = true;
          return i + 1;
        default:
          return i;
      }
      // a byte of a size, extension or trailer line
      if (++this.lineLength > MAX_CHUNK_LINE) return this.fail(this.state >= S.TrailerStart ? 'trailer line too long' : 'chunk size line too long', i);
      i++;
    }
    return i;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
