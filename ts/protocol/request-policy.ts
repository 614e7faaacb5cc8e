/**
 * The request-head policy of the HTTP engine (RFC 9112 / RFC 9110), applied to a head the
 * parser (http-head.ts) accepted: what frames its body, and which requests this proxy answers
 * itself instead of forwarding. Grammar (field names, values, obs-fold, bare CR/LF, NUL, Host,
 * userinfo, target and header limits) is the parser's; framing and semantics are here. Pure.
 *
 * | rule                                                     | answer |
 * |----------------------------------------------------------|--------|
 * | CONNECT (authority-form): no tunnels here                | 405    |
 * | Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1)  | 400    |
 * | Transfer-Encoding malformed, or `chunked` not once and last | 400  |
 * | Transfer-Encoding with a coding besides `chunked`        | 501    |
 * | Transfer-Encoding with Content-Length (RFC 9112 6.3)     | 400    |
 * | Content-Length not digits, or values that differ         | 400    |
 * | a field named like Host / Content-Length / Transfer-Encoding with `_` for `-` (CGI would merge them) | 400 |
 * | Expect other than 100-continue (RFC 9110 10.1.1)         | 417    |
 *
 * Equal Content-Length values (`5, 5`, two `5` lines) are one length (RFC 9110 8.6): the
 * forwarded head carries it once (`contentLength`).
 */
import { requestFraming, type Framing } from './http-framing.js';

export interface PolicyHead {
  method: string;
  httpVersion: '1.0' | '1.1';
  /** [name, value, ...] as parsed. */
  headers: readonly string[];
}

export type RequestVerdict =
  | {
      ok: true;
      framing: Framing;
      /** The one Content-Length the forwarded head carries (undefined: the request had none). */
      contentLength: number | undefined;
    }
  | { ok: false; status: 400 | 405 | 417 | 501; why: string };

const LOOKALIKE = new Set(['host', 'content-length', 'transfer-encoding']);

export function judgeRequest(h: PolicyHead): RequestVerdict {
  if (h.method === 'CONNECT') return { ok: false, status: 405, why: 'CONNECT is not served' };
  let te: string | undefined;
  let cl: string | undefined;
  let expect: string | undefined;
  const hs = h.headers;
  for (let i = 0; i < hs.length; i += 2) {
    const name = hs[i]!;
    const n = name.length;
    if (n !== 17 && n !== 14 && n !== 6 && n !== 4) continue;
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding') te = te === undefined ? hs[i + 1] : `${te}, ${hs[i + 1]}`;
    else if (lower === 'content-length') cl = hs[i + 1];
    else if (lower.includes('_') && LOOKALIKE.has(lower.replace(/_/g, '-'))) return { ok: false, status: 400, why: `${name}: a framing or Host field spelt with '_'` };
    else if (lower === 'expect') expect = expect === undefined ? hs[i + 1] : `${expect}, ${hs[i + 1]}`;
  }
  if (te !== undefined && h.httpVersion === '1.0') return { ok: false, status: 400, why: 'Transfer-Encoding in an HTTP/1.0 request' };
  const framing = requestFraming(hs);
  if (framing.kind === 'error') return { ok: false, status: 400, why: framing.reason };
  // Only `chunked` itself: a coding before it (gzip, chunked) is not one this proxy implements (nginx: 501).
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return { ok: false, status: 501, why: `transfer coding ${JSON.stringify(te)} not implemented` };
  if (expect !== undefined && expect.trim().toLowerCase() !== '100-continue') return { ok: false, status: 417, why: `unsupported Expect ${JSON.stringify(expect)}` };
  const contentLength = cl === undefined ? undefined : framing.kind === 'length' ? framing.length : 0;
  return { ok: true, framing, contentLength };
}
