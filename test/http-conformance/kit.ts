/**
 * The HTTP/1.1 conformance kit: one table row (a `Vector`) is run through a real SmartProxy
 * (public API, `startProxy`) to raw recording backends, and both ends are checked.
 *
 * - A recording backend is a net.Server on 127.0.0.1:0 that keeps every byte of every
 *   connection exactly as received, and answers a fixed, valid response to each request it can
 *   see (its own strict RFC 9112 reader below decides what a request is); it answers a byte
 *   stream it cannot read with 400 and a close, as a strict origin server would.
 * - Every byte stream a backend got is also re-parsed by llhttp, Node's own parser: the bytes
 *   are piped through a raw socket into an `http.createServer` on 127.0.0.1, and both readers
 *   must agree on how many requests there are and on each one's method, target, header lines
 *   and body (`assertParsersAgree`). A proxy that forwards a head two parsers read differently
 *   is exactly what request smuggling needs.
 * - The client is a raw socket (the lifecycle kit's Probe): the statuses it got, read with a
 *   strict response reader, and whether the proxy closed the connection.
 *
 * A vector's `expect` is one outcome or a list of acceptable ones (where the issue allows
 * "normalise or refuse"). An outcome names the statuses, the close, and per backend either
 * 'nothing' (not one byte), 'no-complete-request' (a head may have gone ahead of a body the
 * proxy then found broken, but never a whole request) or the exact list of requests. "Exact"
 * means every byte the backend got is accounted for: each request's line (method, target,
 * HTTP/1.1), every field line (name ignoring case, value exactly), the body, and nothing left
 * over; only the order of the framing fields and of X-Forwarded-* (checked on their own) is
 * free, and a `Connection: keep-alive|close` the proxy adds for its own socket is ignored.
 *
 * Each vector gets its own proxy (the options' defaults apply) and backends; a table runs 8
 * vectors at a time. HTTP_CONFORMANCE_ONLY=<regexp> runs only the matching vector ids,
 * HTTP_CONFORMANCE_TRACE=1 prints what the client and the backends got, per vector.
 *
 * Every wait is bounded; only 127.0.0.1 is used.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SmartProxyConfigError, SmartProxyError, type IRouteConfig, type ISmartProxyOptions } from '../../ts/index.js';
import { freePort, startProxy } from '../integration/harness.js';
import { Probe, delay } from '../lifecycle/kit.js';

export { delay };

// ---------------------------------------------------------------------------------------
// Bytes

export const CRLF = '\r\n';

/** A request head: the request line, header lines, the blank line. */
export function head(requestLine: string, ...headerLines: string[]): string {
  return `${requestLine}\r\n${headerLines.map((h) => `${h}\r\n`).join('')}\r\n`;
}

/** A request with a body and a correct `Content-Length` (added last). */
export function withBody(requestLine: string, headerLines: string[], body: string): string {
  return head(requestLine, ...headerLines, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`) + body;
}

/** One chunk of a chunked body. */
export function chunk(data: string): string {
  return `${Buffer.byteLength(data, 'latin1').toString(16)}\r\n${data}\r\n`;
}

/** A whole chunked body: its chunks and the last chunk. */
export function chunked(...parts: string[]): string {
  return parts.map(chunk).join('') + '0\r\n\r\n';
}

/** Printable form of bytes for assertion messages (latin1, JSON-escaped, truncated). */
export function show(b: Buffer | string, max = 700): string {
  const s = typeof b === 'string' ? b : b.toString('latin1');
  const j = JSON.stringify(s.length > max ? s.slice(0, max) : s);
  return s.length > max ? `${j}... (${s.length} bytes)` : j;
}

// ---------------------------------------------------------------------------------------
// A strict RFC 9112 reader (the reference parser the backends use)

export type Header = [name: string, value: string];

export interface ParsedRequest {
  method: string;
  target: string;
  version: '1.0' | '1.1';
  headers: Header[];
  trailers: Header[];
  framing: 'none' | 'length' | 'chunked';
  /** The body, decoded (chunked framing removed). */
  body: Buffer;
  /** The head as it came, latin1. */
  head: string;
}

export interface RequestStream {
  requests: ParsedRequest[];
  /** Bytes after the last complete request that do not (yet) make a request. */
  partial?: { bytes: number; headComplete: boolean };
  /** Why the bytes after the last complete request are not HTTP/1.1. */
  error?: string;
  /** The stream ends on purpose (a request asked for close): anything after it is ignored. */
  closedAfter?: number;
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type Step<T> = { kind: 'ok'; value: T; next: number } | { kind: 'more' } | { kind: 'error'; reason: string };
const MORE = { kind: 'more' } as const;
const fail = (reason: string): { kind: 'error'; reason: string } => ({ kind: 'error', reason });

/** One line ended by CRLF at `pos`; a bare CR or LF anywhere is an error. */
function readLine(buf: Buffer, pos: number): Step<string> {
  const lf = buf.indexOf(0x0a, pos);
  const end = lf === -1 ? buf.length : lf;
  for (let i = pos; i < end; i++) {
    if (buf[i] === 0x0d && !(i === lf - 1)) {
      if (lf === -1 && i === buf.length - 1) return MORE; // CR as the last byte so far
      return fail('bare CR');
    }
  }
  if (lf === -1) return MORE;
  if (lf === pos || buf[lf - 1] !== 0x0d) return fail('bare LF');
  return { kind: 'ok', value: buf.toString('latin1', pos, lf - 1), next: lf + 1 };
}

/** Field lines up to the blank line: strict (no obs-fold, no whitespace before ':', no CTLs). */
function readFields(buf: Buffer, pos: number): Step<Header[]> {
  const out: Header[] = [];
  for (;;) {
    const l = readLine(buf, pos);
    if (l.kind !== 'ok') return l;
    pos = l.next;
    if (l.value === '') return { kind: 'ok', value: out, next: pos };
    const line = l.value;
    if (line[0] === ' ' || line[0] === '\t') return fail('obs-fold or whitespace before a field line');
    const colon = line.indexOf(':');
    if (colon <= 0) return fail(`field line without a name: ${JSON.stringify(line.slice(0, 40))}`);
    const name = line.slice(0, colon);
    if (!TCHAR.test(name)) return fail(`bad field name ${JSON.stringify(name)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return fail(`control byte 0x${c.toString(16)} in field ${name}`);
    }
    out.push([name, value]);
  }
}

function fieldValues(headers: readonly Header[], lower: string): string[] {
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

function connectionTokens(headers: readonly Header[]): string[] {
  return fieldValues(headers, 'connection').flatMap((v) => v.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''));
}

/** Reads a chunked body at `pos`: the decoded bytes, the trailer fields, where it ends. */
function readChunked(buf: Buffer, pos: number): Step<{ body: Buffer; trailers: Header[] }> {
  const parts: Buffer[] = [];
  for (;;) {
    const l = readLine(buf, pos);
    if (l.kind !== 'ok') return l;
    const m = /^([0-9A-Fa-f]{1,15})(;[!#$%&'*+\-.^_`|~0-9A-Za-z=";\t ]*)?$/.exec(l.value);
    if (!m) return fail(`bad chunk size line ${JSON.stringify(l.value.slice(0, 40))}`);
    const size = parseInt(m[1]!, 16);
    pos = l.next;
    if (size === 0) {
      const t = readFields(buf, pos);
      if (t.kind !== 'ok') return t;
      return { kind: 'ok', value: { body: Buffer.concat(parts), trailers: t.value }, next: t.next };
    }
    if (buf.length < pos + size + 2) return MORE;
    parts.push(buf.subarray(pos, pos + size));
    pos += size;
    if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) return fail('chunk data not followed by CRLF');
    pos += 2;
  }
}

function readRequest(buf: Buffer, pos: number): Step<ParsedRequest> | { kind: 'more-body' } {
  const start = pos;
  const rl = readLine(buf, pos);
  if (rl.kind !== 'ok') return rl;
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/(1\.[01])$/.exec(rl.value);
  if (!m) return fail(`bad request line ${JSON.stringify(rl.value.slice(0, 60))}`);
  const f = readFields(buf, rl.next);
  if (f.kind !== 'ok') return f;
  const headers = f.value;
  pos = f.next;
  const headText = buf.toString('latin1', start, pos);
  const te = fieldValues(headers, 'transfer-encoding');
  const cl = fieldValues(headers, 'content-length');
  const base = { method: m[1]!, target: m[2]!, version: m[3] as '1.0' | '1.1', headers, head: headText };
  if (te.length > 0) {
    if (cl.length > 0) return fail('both Content-Length and Transfer-Encoding');
    // RFC 9112 6.1 / 6.3: in a request, chunked must be the final coding (and, 7.1, not applied twice).
    const codings = te.join(',').split(',').map((c) => c.trim().toLowerCase());
    if (codings[codings.length - 1] !== 'chunked' || codings.indexOf('chunked') !== codings.length - 1) {
      return fail(`Transfer-Encoding ${JSON.stringify(te.join(', '))} does not end in one "chunked"`);
    }
    const c = readChunked(buf, pos);
    if (c.kind === 'more') return { kind: 'more-body' };
    if (c.kind !== 'ok') return c;
    return { kind: 'ok', value: { ...base, trailers: c.value.trailers, framing: 'chunked', body: c.value.body }, next: c.next };
  }
  if (cl.length > 1) return fail('more than one Content-Length');
  if (cl.length === 1) {
    if (!/^\d{1,15}$/.test(cl[0]!)) return fail(`bad Content-Length ${JSON.stringify(cl[0])}`);
    const n = Number(cl[0]);
    if (buf.length < pos + n) return { kind: 'more-body' };
    return { kind: 'ok', value: { ...base, trailers: [], framing: 'length', body: buf.subarray(pos, pos + n) }, next: pos + n };
  }
  return { kind: 'ok', value: { ...base, trailers: [], framing: 'none', body: Buffer.alloc(0) }, next: pos };
}

/** Reads a request stream the way a strict HTTP/1.1 origin server would (RFC 9112). */
export function parseRequests(buf: Buffer): RequestStream {
  const requests: ParsedRequest[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = readRequest(buf, pos);
    if (r.kind === 'more') return { requests, partial: { bytes: buf.length - pos, headComplete: false } };
    if (r.kind === 'more-body') return { requests, partial: { bytes: buf.length - pos, headComplete: true } };
    if (r.kind === 'error') return { requests, error: r.reason };
    requests.push(r.value);
    pos = r.next;
    const tokens = connectionTokens(r.value.headers);
    const keepAlive = r.value.version === '1.1' ? !tokens.includes('close') : tokens.includes('keep-alive');
    // A server reads nothing after a request that ends the connection (RFC 9112 9.6), nor after an upgrade.
    if (!keepAlive || tokens.includes('upgrade')) return { requests, closedAfter: pos };
  }
  return { requests };
}

export interface ParsedResponse {
  status: number;
  version: string;
  headers: Header[];
  framing: 'none' | 'length' | 'chunked' | 'close';
  body: Buffer;
  /** Bytes of the head, latin1. */
  head: string;
}

export interface ResponseStream {
  responses: ParsedResponse[];
  error?: string;
  /** Bytes after the last complete response. */
  rest: number;
}

/**
 * Reads the responses a client got, in order, given the methods of its requests (HEAD
 * responses have no body). 1xx responses are listed too; after a 101 the rest is a tunnel.
 * A close-delimited body is complete only once the connection has ended.
 */
export function parseResponses(buf: Buffer, methods: readonly string[], ended: boolean): ResponseStream {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  let reqIndex = 0;
  while (pos < buf.length) {
    const start = pos;
    const sl = readLine(buf, pos);
    if (sl.kind === 'more') return { responses, rest: buf.length - start };
    if (sl.kind === 'error') return { responses, error: sl.reason, rest: buf.length - start };
    const m = /^HTTP\/(1\.[01]) (\d{3})(?: [\t \x21-\x7e\x80-\xff]*)?$/.exec(sl.value);
    if (!m) return { responses, error: `bad status line ${JSON.stringify(sl.value.slice(0, 60))}`, rest: buf.length - start };
    const f = readFields(buf, sl.next);
    if (f.kind === 'more') return { responses, rest: buf.length - start };
    if (f.kind === 'error') return { responses, error: f.reason, rest: buf.length - start };
    const status = Number(m[2]);
    const headers = f.value;
    pos = f.next;
    const headText = buf.toString('latin1', start, pos);
    const method = methods[reqIndex] ?? 'GET';
    const base = { status, version: m[1]!, headers, head: headText };
    if (status >= 100 && status < 200) {
      responses.push({ ...base, framing: 'none', body: Buffer.alloc(0) });
      if (status === 101) return { responses, rest: 0 };
      continue;
    }
    reqIndex++;
    const te = fieldValues(headers, 'transfer-encoding');
    const cl = fieldValues(headers, 'content-length');
    if (method === 'HEAD' || status === 204 || status === 304) {
      responses.push({ ...base, framing: 'none', body: Buffer.alloc(0) });
      continue;
    }
    if (te.length > 0) {
      const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase());
      if (codings[codings.length - 1] === 'chunked') {
        const c = readChunked(buf, pos);
        if (c.kind === 'more') return { responses, rest: buf.length - start };
        if (c.kind === 'error') return { responses, error: c.reason, rest: buf.length - start };
        responses.push({ ...base, framing: 'chunked', body: c.value.body });
        pos = c.next;
        continue;
      }
    } else if (cl.length > 0) {
      if (cl.length > 1 || !/^\d{1,15}$/.test(cl[0]!)) return { responses, error: `bad Content-Length ${JSON.stringify(cl)}`, rest: buf.length - start };
      const n = Number(cl[0]);
      if (buf.length < pos + n) return { responses, rest: buf.length - start };
      responses.push({ ...base, framing: 'length', body: buf.subarray(pos, pos + n) });
      pos += n;
      continue;
    }
    // Close-delimited.
    if (!ended) return { responses, rest: buf.length - start };
    responses.push({ ...base, framing: 'close', body: buf.subarray(pos) });
    return { responses, rest: 0 };
  }
  return { responses, rest: 0 };
}

export function header(h: readonly Header[], name: string): string[] {
  return fieldValues(h, name.toLowerCase());
}

// ---------------------------------------------------------------------------------------
// llhttp, Node's own parser, as a second reader

export interface OracleRequest {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
  body: Buffer;
  /** The whole body arrived ('end'); false for a request whose head came but not its body. */
  complete: boolean;
}

export interface OracleResult {
  requests: OracleRequest[];
  /** llhttp's error code (HPE_...) when it refused the bytes. */
  error?: string;
}

/**
 * Pipes `bytes` through a raw socket into a fresh `http.createServer` on 127.0.0.1 and
 * reports every request llhttp parsed (upgrades and CONNECT included), in order.
 */
export async function llhttpParse(bytes: Buffer, timeoutMs = 3000): Promise<OracleResult> {
  const requests: OracleRequest[] = [];
  let error: string | undefined;
  const server = http.createServer({ maxHeaderSize: 1024 * 1024, requireHostHeader: false, keepAliveTimeout: 5000 });
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const e: OracleRequest = { method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, body: Buffer.alloc(0), complete: false };
    requests.push(e);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      e.body = Buffer.concat(parts);
      e.complete = true;
      res.end();
    });
    req.on('close', () => {
      if (!e.complete) e.body = Buffer.concat(parts);
    });
    req.on('error', () => {});
    res.on('error', () => {});
  };
  const onTunnel = (req: http.IncomingMessage, socket: net.Socket | import('node:stream').Duplex): void => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, body: Buffer.alloc(0), complete: true });
    socket.destroy();
  };
  server.on('request', onRequest);
  server.on('checkContinue', onRequest);
  server.on('checkExpectation', onRequest);
  server.on('upgrade', onTunnel);
  server.on('connect', onTunnel);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    error ??= err.code ?? err.message;
    socket.destroy();
  });
  // A parser, not a policy: every field line is reported (Node's default keeps the first 2000).
  server.maxHeadersCount = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await new Promise<void>((resolve) => {
      const client = net.connect({ port, host: '127.0.0.1' });
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, timeoutMs);
      client.on('error', () => {});
      client.on('data', () => {});
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end(bytes);
    });
    await new Promise((r) => setImmediate(r));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return error === undefined ? { requests } : { requests, error };
}

function pairs(raw: readonly string[]): Header[] {
  const out: Header[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/**
 * The two readers must agree on a stream a backend got: the same number of complete
 * requests, each with the same method, target, header lines and body; both refuse it or
 * neither does; a request whose head came without its whole body is seen by both.
 */
export function assertParsersAgree(label: string, bytes: Buffer, ours: RequestStream, theirs: OracleResult): void {
  const msg = (what: string): string =>
    `${label}: the strict reader and llhttp disagree (${what})\n  bytes ${show(bytes)}\n  strict ${describeStream(ours)}\n  llhttp ${describeOracle(theirs)}`;
  const complete = theirs.requests.filter((r) => r.complete);
  assert.equal(complete.length, ours.requests.length, msg('number of complete requests'));
  ours.requests.forEach((r, i) => {
    const o = complete[i]!;
    assert.equal(o.method, r.method, msg(`method of request ${i + 1}`));
    assert.equal(o.url, r.target, msg(`target of request ${i + 1}`));
    assert.deepEqual(pairs(o.rawHeaders), r.headers, msg(`header lines of request ${i + 1}`));
    assert.equal(o.body.toString('latin1'), r.body.toString('latin1'), msg(`body of request ${i + 1}`));
  });
  // llhttp reports bytes that stop inside a message as an error at the end of the stream.
  const theirEof = theirs.error === 'HPE_INVALID_EOF_STATE';
  const theirError = theirs.error !== undefined && !theirEof;
  // A stream one reader refuses must not be a stream the other reads as more requests.
  assert.equal(theirError, ours.error !== undefined, msg('only one of them refuses the bytes'));
  if (ours.partial) assert.ok(!theirError, msg('an unfinished request'));
  if (theirEof) assert.ok(ours.partial !== undefined || ours.error !== undefined, msg('llhttp sees an unfinished request'));
  const ourPartialHead = ours.partial?.headComplete === true;
  const theirPartialHead = theirs.requests.some((r) => !r.complete);
  assert.equal(theirPartialHead, ourPartialHead, msg('a request head without its whole body'));
}

function describeStream(s: RequestStream): string {
  const reqs = s.requests.map((r) => `${r.method} ${r.target} [${r.headers.map(([n, v]) => `${n}: ${v}`).join(' | ')}] body=${show(r.body, 80)}`);
  return `${JSON.stringify(reqs)}${s.partial ? ` partial=${JSON.stringify(s.partial)}` : ''}${s.error ? ` error=${s.error}` : ''}`;
}

function describeOracle(o: OracleResult): string {
  const reqs = o.requests.map((r) => `${r.method} ${r.url} [${pairs(r.rawHeaders).map(([n, v]) => `${n}: ${v}`).join(' | ')}] body=${show(r.body, 80)}${r.complete ? '' : ' (incomplete)'}`);
  return `${JSON.stringify(reqs)}${o.error ? ` error=${o.error}` : ''}`;
}

// ---------------------------------------------------------------------------------------
// The recording backend

/** The backend's answer to one request it read; undefined = no answer; `end` closes its side after it. */
export type Responder = (req: ParsedRequest, index: number) => string | Buffer | { data: string | Buffer; end: true } | undefined;

/** The fixed answer: 200 with a 2-byte body (none to HEAD); `X-Backend` marks it as the backend's. */
export const okResponder: Responder = (req) =>
  req.method === 'HEAD'
    ? 'HTTP/1.1 200 OK\r\nX-Backend: recorder\r\nContent-Length: 2\r\n\r\n'
    : 'HTTP/1.1 200 OK\r\nX-Backend: recorder\r\nContent-Length: 2\r\n\r\nok';

export interface BackendConnection {
  /** Every byte received, in order. */
  data: Buffer;
  /** Offset where a 101 turned the connection into a tunnel (bytes after it are not HTTP). */
  tunnelAt: number | undefined;
}

export interface RecordingBackend {
  readonly name: string;
  readonly port: number;
  readonly conns: BackendConnection[];
  totalBytes(): number;
  close(): Promise<void>;
}

export async function startRecordingBackend(name: string, respond: Responder = okResponder): Promise<RecordingBackend> {
  const conns: BackendConnection[] = [];
  const live = new Set<net.Socket>();
  let answeredTotal = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    live.add(socket);
    socket.once('close', () => live.delete(socket));
    socket.on('error', () => {});
    const conn: BackendConnection = { data: Buffer.alloc(0), tunnelAt: undefined };
    conns.push(conn);
    let answered = 0;
    let refused = false;
    socket.on('data', (d: Buffer) => {
      conn.data = Buffer.concat([conn.data, d]);
      if (refused || conn.tunnelAt !== undefined) return;
      const s = parseRequests(conn.data);
      while (answered < s.requests.length) {
        const req = s.requests[answered++]!;
        const r = respond(req, answeredTotal++);
        if (r === undefined) continue;
        const data = typeof r === 'string' || Buffer.isBuffer(r) ? r : r.data;
        const out = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
        if (typeof r === 'object' && !Buffer.isBuffer(r) && r.end) {
          refused = true;
          socket.end(out);
          return;
        }
        socket.write(out);
        if (/^HTTP\/1\.1 101/.test(out.toString('latin1', 0, 12))) {
          conn.tunnelAt = s.closedAfter ?? conn.data.length;
          return;
        }
      }
      if (s.error !== undefined) {
        refused = true;
        socket.end('HTTP/1.1 400 Bad Request\r\nX-Backend: recorder\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      } else if (s.closedAfter !== undefined && answered === s.requests.length) {
        socket.end();
      }
    });
    socket.on('end', () => socket.end());
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name,
    port,
    conns,
    totalBytes: () => conns.reduce((n, c) => n + c.data.length, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------
// Vectors and outcomes

/** Marks the body-framing field of an expected forwarded request: `Transfer-Encoding: chunked` or a `Content-Length` equal to the body's length. */
export const FRAMING = 'framing' as const;

export type ExpectedHeader = [name: string, value: string | RegExp] | typeof FRAMING;

export interface ForwardedRequest {
  method: string;
  target: string;
  /**
   * The end-to-end header lines, in order: names compared ignoring case, values exactly (or by
   * RegExp). X-Forwarded-* are checked on their own (each exactly once: For = 127.0.0.1,
   * Proto = http, Port = the proxy port, Host = `xForwardedHost`, by default the expected
   * Host); a `Connection: keep-alive|close` the proxy adds for its own socket is ignored.
   * Content-Length / Transfer-Encoding lines are compared as a set (their order is free).
   */
  headers: ExpectedHeader[];
  /** The decoded body. */
  body?: string;
  xForwardedHost?: string | RegExp;
  /** Header names (lower-case) whose presence or absence is left open. */
  optional?: string[];
}

export type BackendExpect = 'nothing' | 'no-complete-request' | ForwardedRequest[];

export interface Outcome {
  /** Statuses of the responses the client got, in order (1xx included). */
  statuses: number[];
  /** The proxy closed the client connection after the last answer / kept it open / either. */
  closed: boolean | 'either';
  /** Per backend name; a backend not named must get nothing. */
  backends?: Record<string, BackendExpect>;
  /** This outcome is the proxy refusing its configuration (SmartProxyConfigError). */
  configError?: true;
}

export type Piece = string | Buffer | { waitMs: number };

export interface Vector {
  /** Unique within its table. */
  id: string;
  /** Where the vector comes from: a key of SOURCES (vectors.ts), then ':' and the entry. */
  source: string;
  /** Why the expected answer is the right one. */
  why?: string;
  send: Piece | Piece[];
  expect: Outcome | Outcome[];
  /** The backends' answers for this vector (default: the setup's, else okResponder). */
  respond?: Responder;
  /** Route table for this vector instead of the setup's. */
  routes?: (ctx: RouteContext) => IRouteConfig[];
  /** Proxy options for this vector, over the setup's. */
  options?: ProxyOptions;
  /** Methods of the client's requests, for reading the responses (default: read from `send`). */
  methods?: string[];
  /** More assertions on what was observed, once an outcome matched. */
  check?: (o: Observed) => void;
  /** ms to wait after the expected answers, for anything unexpected to show (default 150). */
  settleMs?: number;
}

export type ProxyOptions = Omit<ISmartProxyOptions, 'routes' | 'logger'>;

export interface RouteContext {
  /** The proxy's port. */
  port: number;
  /** Backend ports by name. */
  backends: Record<string, number>;
}

export interface Setup {
  /** Backend names; default ['app']. */
  backends?: string[];
  routes(ctx: RouteContext): IRouteConfig[];
  options?: ProxyOptions;
  respond?: Responder;
}

export interface ObservedBackend {
  conns: BackendConnection[];
  totalBytes: number;
  /** Per connection, the strict reading and llhttp's of the bytes before any tunnel. */
  strict: RequestStream[];
  llhttp: OracleResult[];
  /** The complete requests over all connections, in connection order. */
  requests: ParsedRequest[];
}

export interface Observed {
  vector: Vector;
  proxyPort: number;
  clientBytes: Buffer;
  /** The proxy ended or closed the connection. */
  ended: boolean;
  responses: ParsedResponse[];
  responseError: string | undefined;
  statuses: number[];
  backends: Record<string, ObservedBackend>;
  configError: Error | undefined;
}

const FORWARDED_NAMES = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port'];

function matchValue(actual: string, want: string | RegExp): boolean {
  return typeof want === 'string' ? actual === want : want.test(actual);
}

function showWant(h: ExpectedHeader): string {
  return h === FRAMING ? '<framing>' : `${h[0]}: ${String(h[1])}`;
}

/** Mismatches of one forwarded request against its expectation (empty = it matches). */
function forwardedMismatches(i: number, got: ParsedRequest, want: ForwardedRequest, proxyPort: number): string[] {
  const out: string[] = [];
  const at = `request ${i + 1}`;
  if (got.method !== want.method) out.push(`${at}: method ${got.method}, want ${want.method}`);
  // An intermediary sends its own version (RFC 9110 2.5): this proxy speaks HTTP/1.1 upstream.
  if (got.version !== '1.1') out.push(`${at}: forwarded as HTTP/${got.version}, want HTTP/1.1`);
  if (got.target !== want.target) out.push(`${at}: target ${JSON.stringify(got.target)}, want ${JSON.stringify(want.target)}`);
  const body = got.body.toString('latin1');
  if (want.body !== undefined && body !== want.body) out.push(`${at}: body ${show(body, 120)}, want ${show(want.body, 120)}`);
  const optional = new Set((want.optional ?? []).map((n) => n.toLowerCase()));
  // X-Forwarded-*: each exactly once, with the proxy's values.
  const wantHost = want.headers.find((h): h is [string, string | RegExp] => h !== FRAMING && h[0].toLowerCase() === 'host')?.[1];
  const xfh = want.xForwardedHost ?? wantHost;
  const xf: Record<string, string | RegExp | undefined> = {
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'http',
    'x-forwarded-port': String(proxyPort),
    'x-forwarded-host': xfh,
  };
  for (const name of FORWARDED_NAMES) {
    const vals = header(got.headers, name);
    const w = xf[name];
    if (w === undefined) {
      if (vals.length > 1) out.push(`${at}: ${vals.length} ${name} lines`);
      continue;
    }
    if (vals.length !== 1 || !matchValue(vals[0]!, w)) out.push(`${at}: ${name} ${JSON.stringify(vals)}, want exactly one ${String(w)}`);
  }
  const isFraming = (n: string): boolean => n === 'content-length' || n === 'transfer-encoding';
  const rest = got.headers.filter(([n, v]) => {
    const l = n.toLowerCase();
    if (FORWARDED_NAMES.includes(l) || optional.has(l)) return false;
    if (l === 'connection' && /^(keep-alive|close)$/i.test(v)) return false;
    return true;
  });
  const gotPlain = rest.filter(([n]) => !isFraming(n.toLowerCase()));
  const gotFraming = rest.filter(([n]) => isFraming(n.toLowerCase()));
  const wantPlain = want.headers.filter((h): h is [string, string | RegExp] => h !== FRAMING && !isFraming(h[0].toLowerCase()) && !optional.has(h[0].toLowerCase()));
  const wantFraming = want.headers.filter((h) => h === FRAMING || isFraming(h[0].toLowerCase()));
  const plainOk = gotPlain.length === wantPlain.length && gotPlain.every(([n, v], k) => n.toLowerCase() === wantPlain[k]![0].toLowerCase() && matchValue(v, wantPlain[k]![1]));
  if (!plainOk) {
    out.push(`${at}: header lines [${gotPlain.map(([n, v]) => `${n}: ${v}`).join(' | ')}], want [${wantPlain.map(showWant).join(' | ')}]`);
  }
  // Framing lines as a set: each expected one matches a distinct actual one, none left over.
  const left = [...gotFraming];
  for (const w of wantFraming) {
    const k = left.findIndex(([n, v]) =>
      w === FRAMING
        ? (n.toLowerCase() === 'transfer-encoding' && v.toLowerCase() === 'chunked') || (n.toLowerCase() === 'content-length' && v === String(got.body.length))
        : n.toLowerCase() === w[0].toLowerCase() && matchValue(v, w[1]),
    );
    if (k === -1) {
      out.push(`${at}: no framing line ${showWant(w)} among [${gotFraming.map(([n, v]) => `${n}: ${v}`).join(' | ')}]`);
    } else left.splice(k, 1);
  }
  if (left.length > 0) out.push(`${at}: unexpected framing lines [${left.map(([n, v]) => `${n}: ${v}`).join(' | ')}]`);
  return out;
}

function backendMismatches(name: string, got: ObservedBackend, want: BackendExpect, proxyPort: number): string[] {
  if (want === 'nothing') return got.totalBytes === 0 ? [] : [`backend ${name} got ${got.totalBytes} bytes, want nothing: ${got.conns.map((c) => show(c.data, 300)).join(' + ')}`];
  if (want === 'no-complete-request') {
    return got.requests.length === 0 ? [] : [`backend ${name} got ${got.requests.length} complete request(s), want none: ${got.conns.map((c) => show(c.data, 300)).join(' + ')}`];
  }
  const out: string[] = [];
  if (got.requests.length !== want.length) {
    out.push(`backend ${name} got ${got.requests.length} complete request(s), want ${want.length}: ${got.conns.map((c) => show(c.data, 400)).join(' + ')}`);
  }
  got.requests.forEach((r, i) => {
    const w = want[i];
    if (w) out.push(...forwardedMismatches(i, r, w, proxyPort).map((m) => `backend ${name} ${m}`));
  });
  // Nothing but those requests: no bytes left over that are not a request.
  got.strict.forEach((s, k) => {
    if (s.error !== undefined) out.push(`backend ${name} connection ${k + 1}: bytes after the requests are not HTTP (${s.error})`);
    if (s.partial) out.push(`backend ${name} connection ${k + 1}: ${s.partial.bytes} bytes of an unfinished request after the complete ones`);
  });
  return out;
}

function outcomeMismatches(o: Observed, want: Outcome, backendNames: readonly string[]): string[] {
  if (want.configError) return o.configError ? [] : ['the proxy accepted the configuration'];
  if (o.configError) return [`the configuration was refused: ${o.configError.message}`];
  const out: string[] = [];
  if (JSON.stringify(o.statuses) !== JSON.stringify(want.statuses)) out.push(`statuses ${JSON.stringify(o.statuses)}, want ${JSON.stringify(want.statuses)}`);
  if (want.closed === true && !o.ended) out.push('the connection stayed open, want closed');
  if (want.closed === false && o.ended) out.push('the connection was closed, want open');
  for (const name of backendNames) {
    out.push(...backendMismatches(name, o.backends[name]!, want.backends?.[name] ?? 'nothing', o.proxyPort));
  }
  return out;
}

function piecesOf(send: Piece | Piece[]): Piece[] {
  return Array.isArray(send) ? send : [send];
}

function sentBytes(send: Piece | Piece[]): Buffer {
  return Buffer.concat(piecesOf(send).flatMap((p) => (typeof p === 'string' ? [Buffer.from(p, 'latin1')] : Buffer.isBuffer(p) ? [p] : [])));
}

/** The client's request methods, read leniently from what it sends (GET where unreadable). */
function methodsOf(send: Piece | Piece[]): string[] {
  return [...sentBytes(send).toString('latin1').matchAll(/(?:^|\r\n\r\n)([A-Z]+) /g)].map((m) => m[1]!);
}

export interface SourceTable {
  readonly [key: string]: string;
}

/** Checks a table: ids unique, every source names a known key. */
export function checkTable(vectors: readonly Vector[], sources: SourceTable): void {
  const ids = new Set<string>();
  for (const v of vectors) {
    assert.ok(!ids.has(v.id), `duplicate vector id ${v.id}`);
    ids.add(v.id);
    const key = /^[A-Za-z0-9]+/.exec(v.source)?.[0] ?? '';
    assert.ok(key in sources, `vector ${v.id}: unknown source ${v.source}`);
  }
}

/** Runs one vector: fresh backends and proxy, the client's bytes, then every check. */
export async function runVector(t: TestContext, setup: Setup, v: Vector): Promise<Observed> {
  const names = setup.backends ?? ['app'];
  const respond = v.respond ?? setup.respond ?? okResponder;
  const backends: Record<string, RecordingBackend> = {};
  for (const n of names) {
    const b = await startRecordingBackend(n, respond);
    backends[n] = b;
    t.after(() => b.close());
  }
  const backendPorts = Object.fromEntries(names.map((n) => [n, backends[n]!.port]));
  let proxyPort = 0;
  let configError: Error | undefined;
  for (let attempt = 0; ; attempt++) {
    proxyPort = await freePort();
    const routes = (v.routes ?? setup.routes)({ port: proxyPort, backends: backendPorts });
    try {
      await startProxy(t, { ...setup.options, ...v.options, routes });
      break;
    } catch (err) {
      if (err instanceof SmartProxyConfigError) {
        configError = err;
        break;
      }
      // The free port was taken meanwhile by a concurrent vector: another one.
      if (err instanceof SmartProxyError && err.code === 'SPX_ERR_LISTEN' && attempt < 3) continue;
      throw err;
    }
  }
  const expects = Array.isArray(v.expect) ? v.expect : [v.expect];
  const methods = v.methods ?? methodsOf(v.send);
  let clientBytes: Buffer = Buffer.alloc(0);
  let ended = false;
  if (!configError) {
    const probe = await Probe.connect(proxyPort);
    t.after(() => probe.destroy());
    for (const p of piecesOf(v.send)) {
      if (typeof p === 'string') probe.send(Buffer.from(p, 'latin1'), false);
      else if (Buffer.isBuffer(p)) probe.send(p, false);
      else await delay(p.waitMs);
    }
    // Until the statuses are those of an acceptable outcome (or as many as the longest one has).
    const want = Math.max(...expects.map((e) => e.statuses.length));
    const wanted = new Set(expects.map((e) => JSON.stringify(e.statuses)));
    const answered = (): boolean => {
      const seen = parseResponses(probe.data, methods, probe.ended).responses.map((r) => r.status);
      return seen.length >= want || (seen.length > 0 && wanted.has(JSON.stringify(seen)));
    };
    if (want > 0) await probe.waitText(answered, 2500);
    await delay(v.settleMs ?? 150);
    const seen = parseResponses(probe.data, methods, probe.ended).responses.map((r) => r.status);
    const candidates = expects.filter((e) => JSON.stringify(e.statuses) === JSON.stringify(seen));
    // Wait for the close only where every outcome the statuses allow says closed (a mismatch fails anyway).
    if (!probe.ended && candidates.length > 0 && candidates.every((e) => e.closed === true)) await probe.waitEnded(1500);
    clientBytes = probe.data;
    ended = probe.ended;
  }
  const rs = parseResponses(clientBytes, methods, ended);
  const observedBackends: Record<string, ObservedBackend> = {};
  for (const n of names) {
    const b = backends[n]!;
    const conns = b.conns.map((c) => ({ data: c.data, tunnelAt: c.tunnelAt }));
    const http1 = conns.map((c) => (c.tunnelAt === undefined ? c.data : c.data.subarray(0, c.tunnelAt)));
    const strict = http1.map((bytes) => parseRequests(bytes));
    const llhttp = await Promise.all(http1.map((bytes) => (bytes.length > 0 ? llhttpParse(bytes) : Promise.resolve<OracleResult>({ requests: [] }))));
    observedBackends[n] = { conns, totalBytes: b.totalBytes(), strict, llhttp, requests: strict.flatMap((s) => s.requests) };
  }
  const o: Observed = {
    vector: v,
    proxyPort,
    clientBytes,
    ended,
    responses: rs.responses,
    responseError: rs.error,
    statuses: rs.responses.map((r) => r.status),
    backends: observedBackends,
    configError,
  };
  if (process.env.HTTP_CONFORMANCE_TRACE) {
    // HTTP_CONFORMANCE_TRACE=1: what each vector did, as test diagnostics.
    t.diagnostic(`client got ${show(clientBytes, 300)} ${ended ? '(closed)' : '(open)'}`);
    for (const n of names) t.diagnostic(`backend ${n} got ${observedBackends[n]!.conns.map((c) => show(c.data, 300)).join(' + ') || 'nothing'}`);
  }
  // Both parsers agree on every byte stream a backend got.
  const disagreements: string[] = [];
  for (const n of names) {
    const ob = observedBackends[n]!;
    ob.conns.forEach((c, k) => {
      const bytes = c.tunnelAt === undefined ? c.data : c.data.subarray(0, c.tunnelAt);
      if (bytes.length === 0) return;
      try {
        assertParsersAgree(`${v.id}: backend ${n} connection ${k + 1}`, bytes, ob.strict[k]!, ob.llhttp[k]!);
      } catch (err) {
        disagreements.push((err as Error).message);
      }
    });
  }
  const results = expects.map((e) => outcomeMismatches(o, e, names));
  if (!results.some((r) => r.length === 0)) {
    const lines = [
      `${v.id} (${v.source}): no acceptable outcome matched.`,
      `  sent ${show(sentBytes(v.send))}`,
      `  client got ${show(clientBytes)} ${ended ? '(then closed)' : '(still open)'}${rs.error ? ` [unreadable: ${rs.error}]` : ''}`,
      ...names.map((n) => `  backend ${n} got ${observedBackends[n]!.conns.map((c) => show(c.data)).join(' + ') || 'nothing'}`),
      ...results.map((r, i) => `  outcome ${i + 1}: ${r.join('; ')}`),
      ...disagreements.map((d) => `  also: ${d}`),
    ];
    assert.fail(lines.join('\n'));
  }
  if (disagreements.length > 0) assert.fail(disagreements.join('\n'));
  if (rs.error !== undefined && !configError) assert.fail(`${v.id}: the client got bytes that are not HTTP/1.1 responses (${rs.error}): ${show(clientBytes)}`);
  v.check?.(o);
  return o;
}

/**
 * Registers one test per table, with one subtest per vector (id and source in its name), run
 * a few at a time (each has its own proxy and backends).
 */
export function runTable(title: string, setup: Setup, vectors: readonly Vector[], sources: SourceTable, concurrency = 8): void {
  checkTable(vectors, sources);
  // HTTP_CONFORMANCE_ONLY=<regexp>: only the vectors whose id matches.
  const only = process.env.HTTP_CONFORMANCE_ONLY ? new RegExp(process.env.HTTP_CONFORMANCE_ONLY) : undefined;
  const run = only ? vectors.filter((v) => only.test(v.id)) : vectors;
  test(title, { concurrency, timeout: 60_000 }, async (t) => {
    await Promise.all(run.map((v) => t.test(`${v.id} [${v.source}]`, { timeout: 15_000 }, async (st) => {
      await runVector(st, setup, v);
    })));
  });
}

/** A forwarding route to a backend on 127.0.0.1. */
export function forwardRoute(name: string, port: number, domains: string | string[], backendPort: number, extra: Partial<IRouteConfig> = {}): IRouteConfig {
  return { name, match: { ports: port, domains }, action: { type: 'forward', target: { host: '127.0.0.1', port: backendPort } }, ...extra };
}

/** The responses the client got, for `check`: the i-th final (non-1xx) one. */
export function finalResponse(o: Observed, i = 0): ParsedResponse {
  const finals = o.responses.filter((r) => r.status >= 200);
  const r = finals[i];
  assert.ok(r, `${o.vector.id}: no final response ${i + 1}; client got ${show(o.clientBytes)}`);
  return r;
}
