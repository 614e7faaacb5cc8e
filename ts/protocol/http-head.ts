/**
 * Pure HTTP/1.x request-head sniffer: Buffer in, result out, never throws.
 *
 * - 'not-http' is decided from the first bytes: the method must be a known, upper-case token
 *   followed by a space. A prefix of such a token answers 'need-more'.
 * - 'ok' only once the whole head (up to and including CRLF CRLF) is present.
 * - 'invalid' when it starts like HTTP but is malformed or the head exceeds MAX_HTTP_HEAD_BYTES.
 * Spec: RFC 9112 (message syntax), RFC 9110 (Host).
 */

export type HttpSniffResult =
  | { kind: 'need-more' }
  | { kind: 'not-http' }
  | { kind: 'invalid'; reason: string }
  | {
      kind: 'ok';
      method: string;
      /** Lower-cased authority from the absolute-form target, else the Host header; may carry a port. */
      host: string | undefined;
      /** Request target as sent (origin-form path+query), or the path of an absolute-form target. */
      path: string;
      httpVersion: '1.0' | '1.1';
      /** Bytes up to and including the blank line that ends the head. */
      headLength: number;
      /** The request target exactly as sent. */
      target: string;
      /** Header lines as sent: [name, value, name, value, ...] (values trimmed), like Node's rawHeaders. */
      headers: string[];
    };

/** Cap on a request head, matching Node's default --max-http-header-size (beyond: 431). */
export const MAX_HTTP_HEAD_BYTES = 16384;
/** Cap on a request target (beyond: 414), nginx's default large_client_header_buffers line size. */
export const MAX_REQUEST_TARGET_BYTES = 8192;
/** A request line longer than this cannot carry a target within MAX_REQUEST_TARGET_BYTES. */
const MAX_REQUEST_LINE_BYTES = MAX_REQUEST_TARGET_BYTES + 32;
/** Cap on the number of header fields of a request (beyond: 431). */
export const MAX_HEADER_FIELDS = 200;

/** Why a head was refused, as the status a server answers (RFC 9110 15.5). */
export type HeadRefusal = 400 | 414 | 431;

/** The status for an `invalid` result of sniffHttpRequest. */
export function refusalStatus(reason: string): HeadRefusal {
  if (reason.startsWith('request target exceeds')) return 414;
  if (reason.includes('exceeds') || reason.startsWith('more than')) return 431;
  return 400;
}

const METHODS: readonly string[] = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  // WebDAV and friends that Node's HTTP parser accepts
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH',
  'MKCALENDAR', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'PURGE', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE',
  'LINK', 'UNLINK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'QUERY',
];
const METHOD_SET = new Set(METHODS);
const MAX_METHOD_LEN = METHODS.reduce((m, s) => Math.max(m, s.length), 0);

const NEED_MORE: HttpSniffResult = Object.freeze({ kind: 'need-more' });
const NOT_HTTP: HttpSniffResult = Object.freeze({ kind: 'not-http' });
const invalid = (reason: string): HttpSniffResult => ({ kind: 'invalid', reason });

/** Checks the method token; returns its length, 0 if more bytes are needed, -1 if not HTTP. */
function sniffMethod(buf: Buffer): number {
  const n = Math.min(buf.length, MAX_METHOD_LEN + 1);
  let i = 0;
  for (; i < n; i++) {
    const c = buf[i]!;
    if (c === 0x20) break;
    if (c < 0x41 || c > 0x5a) return -1;
  }
  if (i === n) {
    if (i > MAX_METHOD_LEN) return -1;
    const prefix = buf.toString('latin1', 0, i);
    return METHODS.some((m) => m.startsWith(prefix)) ? 0 : -1;
  }
  if (i === 0) return -1;
  return METHOD_SET.has(buf.toString('latin1', 0, i)) ? i : -1;
}

/** RFC 9110 5.6.2 token characters, as a table (checked for every byte of every header name). */
const TCHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))) TCHAR[c] = 1;
}

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

export function sniffHttpRequest(buf: Buffer): HttpSniffResult {
  try {
    return sniff(buf);
  } catch {
    return invalid('internal parser error'); // defensive net; the tests assert it never fires
  }
}

function sniff(buf: Buffer): HttpSniffResult {
  if (buf.length === 0) return NEED_MORE;
  const mlen = sniffMethod(buf);
  if (mlen < 0) return NOT_HTTP;
  if (mlen === 0) return NEED_MORE;

  const headEnd = findHeadEnd(buf, mlen, MAX_HTTP_HEAD_BYTES);
  if (headEnd < -1) return invalid(`${HEAD_ERRORS[headEnd]} in request head`);
  if (headEnd === -1) {
    // A request line still unfinished past the target limit is a 414 already.
    if (buf.length > MAX_REQUEST_LINE_BYTES) {
      const lineEnd = buf.indexOf(0x0d, mlen);
      if (lineEnd === -1 || lineEnd > MAX_REQUEST_LINE_BYTES) return invalid(`request target exceeds ${MAX_REQUEST_TARGET_BYTES} bytes`);
    }
    return buf.length >= MAX_HTTP_HEAD_BYTES ? invalid(`request head exceeds ${MAX_HTTP_HEAD_BYTES} bytes`) : NEED_MORE;
  }

  const head = buf.toString('latin1', 0, headEnd - 4);
  const lines = head.split('\r\n');
  const requestLine = lines[0]!;
  const sp1 = mlen;
  const sp2 = requestLine.indexOf(' ', sp1 + 1);
  if (sp2 === -1 || requestLine.indexOf(' ', sp2 + 1) !== -1) return invalid('malformed request line');
  const method = requestLine.slice(0, sp1);
  const target = requestLine.slice(sp1 + 1, sp2);
  const versionText = requestLine.slice(sp2 + 1);
  if (target.length === 0) return invalid('empty request target');
  if (target.length > MAX_REQUEST_TARGET_BYTES) return invalid(`request target exceeds ${MAX_REQUEST_TARGET_BYTES} bytes`);
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return invalid('bad byte in request target');
  }
  let httpVersion: '1.0' | '1.1';
  if (versionText === 'HTTP/1.1') httpVersion = '1.1';
  else if (versionText === 'HTTP/1.0') httpVersion = '1.0';
  else return invalid(`unsupported protocol version ${JSON.stringify(versionText.slice(0, 16))}`);

  if (lines.length - 1 > MAX_HEADER_FIELDS) return invalid(`more than ${MAX_HEADER_FIELDS} header fields`);
  const headers: string[] = [];
  const bad = parseHeaderLines(lines, headers);
  if (bad) return invalid(bad);
  let hostHeader: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (hostHeader !== undefined) return invalid('duplicate Host header');
      hostHeader = headers[i + 1]!.toLowerCase();
    }
  }
  // RFC 9112 3.2: every HTTP/1.1 request carries exactly one Host, a valid authority (no userinfo).
  if (hostHeader === undefined && httpVersion === '1.1') return invalid('no Host header');
  // An http(s) authority is never empty (RFC 9110 4.2.1, 4.2.2).
  if (hostHeader !== undefined && !isAuthority(hostHeader)) return invalid('invalid Host header');

  let host = hostHeader === '' ? undefined : hostHeader;
  let path = target;
  const abs = /^https?:\/\//i.exec(target);
  if (abs) {
    // absolute-form: the target's authority wins over Host (RFC 9112 3.2.2)
    const rest = target.slice(abs[0].length);
    // The authority ends at '/', '?' or '#' (RFC 3986 3.2), so an '@' after a '#' is not userinfo.
    const slash = rest.search(/[/?#]/);
    const authority = slash === -1 ? rest : rest.slice(0, slash);
    if (authority.includes('@')) return invalid('userinfo in the request target');
    if (authority.length === 0) return invalid('absolute-form target without a host');
    // No request-target form carries a fragment (RFC 9112 3.2); llhttp refuses one right after the authority.
    if (rest[slash] === '#') return invalid('fragment after the authority');
    if (!isAuthority(authority)) return invalid('invalid authority in the request target');
    host = authority.toLowerCase();
    path = slash === -1 ? '/' : rest.slice(slash);
    if (path.startsWith('?')) path = `/${path}`;
  } else if (method === 'CONNECT') {
    // authority-form: answered 405 by the HTTP engine; the Host header (if any) still names the route
    host = host ?? (isAuthority(target) ? target.toLowerCase() : undefined);
  } else if (target === '*') {
    // asterisk-form is for OPTIONS only (RFC 9112 3.2.4)
    if (method !== 'OPTIONS') return invalid("'*' target with a method other than OPTIONS");
  } else if (target.charCodeAt(0) !== 0x2f) {
    return invalid('request target is not origin-form');
  }
  return { kind: 'ok', method, host, path, httpVersion, headLength: headEnd, target, headers };
}

/**
 * An authority as a Host value or absolute-form target carries it (RFC 3986 3.2 without
 * userinfo): a reg-name, IPv4 or bracketed IPv6 literal, then an optional `:port` of digits.
 */
export function isAuthority(a: string): boolean {
  return /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{0,5})?$/.test(a);
}

/** Validate header lines (from index 1) and collect [name, value, ...]; returns a reason when malformed. */
function parseHeaderLines(lines: string[], out: string[]): string | undefined {
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.length === 0) return 'empty header line';
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) return 'obsolete line folding';
    const colon = line.indexOf(':');
    if (colon <= 0) return 'header line without a name';
    for (let i = 0; i < colon; i++) if (!isTchar(line.charCodeAt(i))) return 'bad byte in header name';
    out.push(line.slice(0, colon), trimOws(line.slice(colon + 1)));
  }
  return undefined;
}

/** Strips OWS (SP and HTAB only, RFC 9110 5.6.3). Not String#trim: that also strips NBSP (0xa0 in latin1). */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return s.slice(a, b);
}

/** Find the end of a head (index just past CRLF CRLF) from `start`; -1 when incomplete; HEAD_ERRORS keys on bad bytes. */
const HEAD_ERRORS: Record<number, string> = { [-2]: 'bare LF', [-3]: 'bare CR', [-4]: 'control byte' };

function findHeadEnd(buf: Buffer, start: number, limit: number): number {
  const end = Math.min(buf.length, limit);
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x0a) {
      if (buf[i - 1] !== 0x0d) return -2;
      if (i >= 3 && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) return i + 1;
    } else if (c === 0x0d) {
      if (i + 1 < buf.length && buf[i + 1] !== 0x0a) return -3;
    } else if (c === 0x00 || c === 0x7f || (c < 0x20 && c !== 0x09)) {
      return -4;
    }
  }
  return -1;
}

export type HttpResponseHeadResult =
  | { kind: 'need-more' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'ok'; status: number; reason: string; httpVersion: '1.0' | '1.1'; headers: string[]; headLength: number };

/** Parse an HTTP/1.x response head (status line and headers) at the start of `buf`. Never throws. */
export function parseResponseHead(buf: Buffer): HttpResponseHeadResult {
  try {
    if (buf.length === 0) return NEED_MORE as HttpResponseHeadResult;
    const headEnd = findHeadEnd(buf, 0, MAX_HTTP_HEAD_BYTES);
    if (headEnd < -1) return { kind: 'invalid', reason: `${HEAD_ERRORS[headEnd]} in response head` };
    if (headEnd === -1) {
      return buf.length >= MAX_HTTP_HEAD_BYTES
        ? { kind: 'invalid', reason: `response head exceeds ${MAX_HTTP_HEAD_BYTES} bytes` }
        : (NEED_MORE as HttpResponseHeadResult);
    }
    const lines = buf.toString('latin1', 0, headEnd - 4).split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
    if (!m) return { kind: 'invalid', reason: 'malformed status line' };
    const headers: string[] = [];
    const bad = parseHeaderLines(lines, headers);
    if (bad) return { kind: 'invalid', reason: bad };
    return { kind: 'ok', status: Number(m[2]), reason: m[3] ?? '', httpVersion: m[1] === '1' ? '1.1' : '1.0', headers, headLength: headEnd };
  } catch {
    return { kind: 'invalid', reason: 'internal parser error' };
  }
}

/** 'example.com:8080' -> 'example.com'; '[::1]:443' -> '::1'; '[::1]' -> '::1'; '::1' -> '::1'. */
export function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close === -1 ? host : host.slice(1, close);
  }
  const first = host.indexOf(':');
  if (first === -1) return host;
  if (host.indexOf(':', first + 1) !== -1) return host; // bare IPv6 literal, no port
  return host.slice(0, first);
}
