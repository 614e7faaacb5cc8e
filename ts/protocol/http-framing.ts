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
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  TrailerLf,
  Done,
}

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
  private sawSizeEnd = false;

  constructor(private readonly framing: Framing) {
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

  private chunked(buf: Buffer, start: number): number {
    let i = start;
    while (i < buf.length) {
      switch (this.state) {
        case S.Size: {
          const c = buf[i]!;
          if (c === 0x0d) {
            if (this.sizeDigits === 0) return this.fail('chunk size missing', i);
            this.state = S.SizeLf;
          } else if (!this.sawSizeEnd && hexValue(c) >= 0) {
            if (++this.sizeDigits > 13) return this.fail('chunk size too large', i);
            this.remaining = this.remaining * 16 + hexValue(c);
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            // chunk extensions (ignored, passed through) and BWS
            this.sawSizeEnd = true;
          } else if (this.sawSizeEnd && c !== 0x0a) {
            // extension bytes
          } else {
            return this.fail('bad byte in chunk size line', i);
          }
          if (++this.lineLength > MAX_CHUNK_LINE) return this.fail('chunk size line too long', i);
          i++;
          break;
        }
        case S.SizeLf:
          if (buf[i] !== 0x0a) return this.fail('bare CR in chunk size line', i);
          i++;
          this.lineLength = 0;
          this.sizeDigits = 0;
          this.sawSizeEnd = false;
          this.state = this.remaining === 0 ? S.Trailer : S.Data;
          break;
        case S.Data: {
          const take = Math.min(this.remaining, buf.length - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr:
          if (buf[i] !== 0x0d) return this.fail('chunk data not followed by CRLF', i);
          i++;
          this.state = S.DataLf;
          break;
        case S.DataLf:
          if (buf[i] !== 0x0a) return this.fail('chunk data not followed by CRLF', i);
          i++;
          this.state = S.Size;
          break;
        case S.Trailer: {
          const c = buf[i]!;
          if (c === 0x0d) {
            this.state = S.TrailerLf;
          } else if (c === 0x0a) {
            return this.fail('bare LF in trailer', i);
          } else if (++this.lineLength > MAX_CHUNK_LINE) {
            return this.fail('trailer line too long', i);
          }
          i++;
          break;
        }
        case S.TrailerLf:
          if (buf[i] !== 0x0a) return this.fail('bare CR in trailer', i);
          i++;
          if (this.lineLength === 0) {
            this.state = S.Done;
            this.done = true;
            return i;
          }
          this.lineLength = 0;
          this.state = S.Trailer;
          break;
        default:
          return i;
      }
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
