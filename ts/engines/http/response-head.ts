/**
 * What a backend's response head means for the exchange, decided without touching sockets:
 * an interim response to pass on, a protocol switch, the final head (rewritten, or relayed as
 * sent when nothing would change) with its framing, or a response to refuse (502).
 */
import { parseResponseHead } from '../../protocol/http-head.js';
import { responseFraming, type Framing } from '../../protocol/http-framing.js';
import { buildResponseHead, connectionTokens, hasNoHopByHop, headerValue, DROP_CONTENT_LENGTH, DROP_FRAMING } from './headers.js';
import type { Exchange } from './exchange.js';

/** Interim (1xx) responses accepted before a final one; more is a 502 (a 1xx flood). */
export const MAX_INTERIM_RESPONSES = 10;

export type ResponseHead =
  | { kind: 'need-more' }
  | { kind: 'bad'; why: string }
  /** 101 to a request that asked for an upgrade: the head to send, then the relay. */
  | { kind: 'switch'; head: string; rest: Buffer }
  /** 100 Continue and the like: pass on, the final head follows. */
  | { kind: 'interim'; head: string; rest: Buffer }
  | {
      kind: 'final';
      framing: Framing;
      /** The head for the client; with `verbatim`, exactly the backend's bytes. */
      head: string;
      verbatim: boolean;
      headLength: number;
      rest: Buffer;
      /** The backend socket may serve another request after this response. */
      reusable: boolean;
      /** The client connection must close after it (a body delimited by the backend closing). */
      closeClient: boolean;
      /** A chunked body to an HTTP/1.0 client: relay its payload only (identity, close-delimited). */
      dechunk: boolean;
    };

export function readResponseHead(buf: Buffer, ex: Exchange): ResponseHead {
  const r = parseResponseHead(buf);
  if (r.kind === 'need-more') return r;
  if (r.kind === 'invalid') return { kind: 'bad', why: r.reason };
  const rest = buf.subarray(r.headLength);
  const { rt, vars } = ex;
  if (r.status === 101 && ex.isUpgrade) {
    // Only to the protocol the client asked for (RFC 9110 7.8; Caddy checks the same).
    if (!WEBSOCKET_TOKEN.test(headerValue(r.headers, 'upgrade') ?? '')) return { kind: 'bad', why: '101 to a protocol the client did not ask for' };
    return { kind: 'switch', head: buildResponseHead(101, r.reason, r.headers, rt.responseHeaders, vars, false, true, false), rest };
  }
  if (r.status >= 100 && r.status < 200) {
    if (r.status === 101) return { kind: 'bad', why: 'unsolicited 101' };
    if (ex.interim >= MAX_INTERIM_RESPONSES) return { kind: 'bad', why: 'too many interim responses' };
    return { kind: 'interim', head: buildResponseHead(r.status, r.reason, r.headers, undefined, undefined, false, false, false), rest };
  }
  const framing = responseFraming(r.status, ex.method, r.headers);
  if (framing.kind === 'error') return { kind: 'bad', why: framing.reason };
  const tokens = connectionTokens(r.headers);
  const reusable = ex.upstreamReusable && !tokens.close && r.httpVersion === '1.1' && framing.kind !== 'close';
  // An HTTP/1.0 client cannot read chunked framing: it gets the payload, delimited by the close.
  const dechunk = framing.kind === 'chunked' && ex.clientHttp10;
  // A body delimited by the backend closing can only reach the client the same way.
  const closeClient = ex.clientClose || framing.kind === 'close' || dechunk;
  // Transfer-Encoding wins over a Content-Length beside it (RFC 9112 6.3): that length never goes on.
  const drop = dechunk ? DROP_FRAMING : framing.kind === 'chunked' && headerValue(r.headers, 'content-length') !== undefined ? DROP_CONTENT_LENGTH : undefined;
  // A head this proxy would rebuild unchanged (HTTP/1.1, no hop-by-hop field, no rules, nothing
  // to add or drop) goes on as the backend sent it.
  const verbatim =
    r.httpVersion === '1.1' && rt.responseHeaders === undefined && !closeClient && !ex.clientHttp10 && drop === undefined && hasNoHopByHop(r.headers);
  const head = verbatim
    ? buf.toString('latin1', 0, r.headLength)
    : buildResponseHead(r.status, r.reason, r.headers, rt.responseHeaders, vars, closeClient, false, ex.clientHttp10, drop);
  return { kind: 'final', framing, head, verbatim, headLength: r.headLength, rest, reusable, closeClient, dechunk };
}

const WEBSOCKET_TOKEN = /(?:^|,)[ \t]*websocket[ \t]*(?:,|$)/i;
