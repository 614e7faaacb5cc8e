/**
 * Property/fuzz tests for sniffHttpRequest and hostWithoutPort (ts/protocol/http-head.ts).
 *
 * Inputs: request heads built from a random model (expected method/target/host/path/headers
 * known), the same after byte- and line-level mutations, and random bytes behind a method.
 * Properties: never throws, documented kinds only, headLength at the first CRLFCRLF and inside
 * the buffer, bounded outputs, prefix consistency, independence from the body bytes, and (on a
 * smaller sample) agreement with Node's own parser, llhttp, through a loopback http.Server.
 *
 * Where the sniffer is deliberately stricter than llhttp (it refuses, llhttp accepts) — see
 * STRICTER below: more than one Host header, a target that is neither origin-, absolute-,
 * authority- (CONNECT) nor asterisk-form, absolute-form without a host, bytes >= 0x7f in the
 * target, versions other than HTTP/1.0 and HTTP/1.1 (llhttp also takes a version-less line ended
 * by a bare LF as HTTP/0.9), a DEL byte anywhere in the head.
 * Where it is more lenient: target bytes outside RFC 3986 (llhttp refuses some of them in some
 * URL parts; the sniffer leaves URL syntax to the backend), CONNECT targets that are not
 * authority-form (any target is taken, the host then comes from Host), a fragment right after an
 * absolute-form authority ("http://h#f": llhttp refuses it; the host is h), and repeated identical
 * Content-Length values, which requestFraming() takes as one length (RFC 9110 8.6).
 * Content-Length / Transfer-Encoding are not the sniffer's business: where llhttp refuses a head
 * for its framing headers, requestFraming() over the sniffed headers must refuse it too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { MAX_HTTP_HEAD_BYTES, hostWithoutPort, sniffHttpRequest, type HttpSniffResult } from '../../ts/protocol/http-head.js';
import { requestFraming } from '../../ts/protocol/http-framing.js';
import { bytesArb, check, checkAsync, ensure, hex, prefixLengths } from './helpers/fuzz.js';
import { METHODS, hostArb, mutatedHeadArb, requestHead, requestModelArb } from './helpers/http-model.js';

const KINDS = new Set(['need-more', 'not-http', 'invalid', 'ok']);
const METHOD_SET = new Set<string>(METHODS);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');

function checkResult(buf: Buffer, r: HttpSniffResult): void {
  ensure(KINDS.has(r.kind), () => `unknown kind ${JSON.stringify(r)}`);
  if (r.kind === 'invalid') ensure(r.reason !== 'internal parser error', 'the defensive catch fired (the parser threw)');
  if (r.kind === 'need-more') ensure(buf.length < MAX_HTTP_HEAD_BYTES, 'need-more at or beyond MAX_HTTP_HEAD_BYTES');
  if (r.kind !== 'ok') return;
  ensure(r.headLength <= buf.length && r.headLength <= MAX_HTTP_HEAD_BYTES, () => `headLength ${r.headLength} of ${buf.length}`);
  ensure(buf.indexOf(CRLFCRLF) + 4 === r.headLength, 'headLength is just past the first CRLFCRLF');
  ensure(METHOD_SET.has(r.method) && buf.toString('latin1', 0, r.method.length + 1) === `${r.method} `, 'method as sent');
  ensure(r.target.length > 0 && buf.toString('latin1', r.method.length + 1, r.method.length + 1 + r.target.length) === r.target, 'target as sent');
  ensure(/^[\x21-\x7e]+$/.test(r.target), 'target bytes');
  ensure(r.httpVersion === '1.0' || r.httpVersion === '1.1', 'version');
  ensure(r.headers.length % 2 === 0 && r.headers.length / 2 <= r.headLength / 3, 'header list shape');
  for (let i = 0; i < r.headers.length; i += 2) {
    ensure(TOKEN.test(r.headers[i]!), () => `header name ${JSON.stringify(r.headers[i])}`);
    ensure(!/^[ \t]|[ \t]$/.test(r.headers[i + 1]!), 'header value not OWS-trimmed');
  }
  const hostCount = r.headers.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length;
  ensure(hostCount <= 1, 'more than one Host accepted');
  if (r.host !== undefined) ensure(r.host.length > 0 && r.host === r.host.toLowerCase(), 'host lower-case, non-empty');
  ensure(r.path.length > 0 && r.path.length <= r.target.length + 1, 'path');
  checkAbsoluteHost(r);
}

/**
 * The host of an absolute-form target must be the one a URL parser (WHATWG, node:url) sees, so
 * routing and the backend agree. Compared where WHATWG does not rewrite: RFC 3986 characters
 * only (WHATWG reads '\\' as '/'), plain DNS-style host names (no IP, IDNA or %-encoding).
 */
function checkAbsoluteHost(r: Extract<HttpSniffResult, { kind: 'ok' }>): void {
  if (!/^https?:\/\//i.test(r.target) || !/^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/.test(r.target) || r.host?.includes('%')) return;
  let u: URL;
  try {
    u = new URL(r.target);
  } catch {
    return;
  }
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(u.hostname) || /^[0-9.]+$|^0x/i.test(u.hostname) || /\.[0-9]+$/.test(u.hostname)) return;
  ensure(r.host !== undefined && hostWithoutPort(r.host) === u.hostname, () => `absolute-form host ${JSON.stringify(r.host)} but a URL parser reads ${JSON.stringify(u.hostname)} from ${JSON.stringify(r.target)}`);
}

function parse(buf: Buffer): HttpSniffResult {
  let r: HttpSniffResult;
  try {
    r = sniffHttpRequest(buf);
  } catch (err) {
    throw new Error(`sniffHttpRequest threw on ${hex(buf)}: ${String(err)}`);
  }
  checkResult(buf, r);
  return r;
}

function checkPrefixes(buf: Buffer, whole: HttpSniffResult, picks: readonly number[]): void {
  for (const n of prefixLengths(buf.length, picks)) {
    const p = parse(buf.subarray(0, n));
    if (p.kind === 'need-more') continue;
    ensure(JSON.stringify(p) === JSON.stringify(whole), () => `prefix ${n}/${buf.length} answered ${JSON.stringify(p)}, whole ${JSON.stringify(whole)}; input ${JSON.stringify(buf.toString('latin1'))}`);
  }
  if (whole.kind === 'ok') {
    ensure(parse(buf.subarray(0, whole.headLength - 1)).kind === 'need-more', 'verdict before the head is complete');
    assert.deepEqual(parse(buf.subarray(0, whole.headLength)), whole, 'answer depends only on the head');
  }
}

const picksArb = fc.array(fc.nat(), { minLength: 2, maxLength: 3 });
const bodyArb = fc.oneof(fc.constant(Buffer.alloc(0)), bytesArb(30), fc.constant(Buffer.from('GET / HTTP/1.1\r\n\r\n')));

test('HTTP request head fuzz: modelled heads parse to the model', { timeout: 120_000 }, () => {
  const n = check(
    'http request model',
    fc.property(requestModelArb, bodyArb, picksArb, (m, body, picks) => {
      const head = Buffer.from(requestHead(m), 'latin1');
      const buf = Buffer.concat([head, body]);
      const r = parse(buf);
      if (m.refused !== undefined) {
        // The head breaks a policy rule (no Host on HTTP/1.1, a Host that is no authority, userinfo).
        ensure(r.kind === 'invalid' && r.reason === m.refused, () => `want refusal '${m.refused}', got ${JSON.stringify(r)} for ${JSON.stringify(head.toString('latin1'))}`);
        return;
      }
      ensure(r.kind === 'ok', () => `modelled head refused: ${JSON.stringify(r)} ${JSON.stringify(head.toString('latin1'))}`);
      assert.deepEqual(r, {
        kind: 'ok',
        method: m.method,
        host: m.host,
        path: m.path,
        httpVersion: m.version,
        headLength: head.length,
        target: m.target,
        headers: m.headers.flatMap((h) => [h.name, h.trimmed]),
      });
      checkPrefixes(buf, r, picks);
    }),
    30_000,
  );
  assert.ok(n >= 30_000);
});

const HTTP_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x2f, 0x3a, 0x3f, 0x40, 0x7f, 0x80, 0xa0, 0xff, 0x48, 0x31, 0x2e];
const mutatedRequest = mutatedHeadArb(requestModelArb, requestHead, bodyArb, HTTP_BYTES);

test('HTTP request head fuzz: mutated heads keep every invariant', { timeout: 120_000 }, () => {
  const kinds: Record<string, number> = {};
  const n = check(
    'http request mutated',
    fc.property(mutatedRequest, picksArb, (buf, picks) => {
      const r = parse(buf);
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
      checkPrefixes(buf, r, picks);
    }),
    50_000,
  );
  console.log(`http request mutated kinds: ${JSON.stringify(kinds)}`);
  // Both outcomes well covered (the stricter Host and target rules refuse more of the model's heads).
  assert.ok(n >= 50_000 && (kinds['ok'] ?? 0) > n / 20 && (kinds['invalid'] ?? 0) > n / 10, JSON.stringify(kinds));
});

const randomRequest = fc.oneof(
  { weight: 8, arbitrary: bytesArb(200) },
  { weight: 4, arbitrary: fc.record({ m: fc.constantFrom(...METHODS), rest: bytesArb(200) }).map(({ m, rest }) => Buffer.concat([Buffer.from(`${m} `), rest])) },
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...'GET /HTP1.0\r\n:aH '.split('')), { maxLength: 80, size: 'max' }).map((rest) => Buffer.from(`GET ${rest.join('')}\r\n\r\n`, 'latin1')) },
  // a head close to the size cap (rare: each costs a 16 KiB scan per probe)
  { weight: 1, arbitrary: fc.record({ n: fc.integer({ min: MAX_HTTP_HEAD_BYTES - 40, max: MAX_HTTP_HEAD_BYTES + 8 }), end: fc.boolean() }).map(({ n, end }) => {
    const start = 'GET / HTTP/1.1\r\nX: ';
    return Buffer.from(`${start}${'a'.repeat(Math.max(0, n - start.length - 4))}${end ? '\r\n\r\n' : ''}`, 'latin1');
  }) },
);

test('HTTP request head fuzz: random bytes keep every invariant', { timeout: 120_000 }, () => {
  const n = check(
    'http request random',
    fc.property(randomRequest, picksArb, (buf, picks) => {
      const r = parse(buf);
      checkPrefixes(buf, r, picks);
    }),
    22_000,
  );
  assert.ok(n >= 22_000);
});

test('hostWithoutPort fuzz: strips exactly the port', { timeout: 60_000 }, () => {
  check(
    'hostWithoutPort',
    fc.property(fc.oneof(hostArb, fc.string({ maxLength: 30 }), fc.ipV6()), fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }), (host, port) => {
      const s = port === undefined ? host : `${host}:${port}`;
      const out = hostWithoutPort(s);
      ensure(typeof out === 'string' && out.length <= s.length && s.includes(out), 'a substring of the input');
      if (/^[a-z0-9.-]+$/i.test(host)) ensure(out === host, () => `${s} -> ${out}`);
      if (/^\[[0-9a-f:.]+\]$/i.test(host)) ensure(out === host.slice(1, -1), () => `${s} -> ${out}`);
      if (port === undefined && net.isIPv6(host)) ensure(out === host, 'a bare IPv6 literal is kept whole');
    }),
    5_000,
  );
});

// ---------- llhttp as an oracle ----------

type NodeVerdict =
  | { kind: 'ok'; method: string; url: string; httpVersion: string; rawHeaders: string[] }
  | { kind: 'error'; code: string }
  | { kind: 'none' };

/** One loopback http.Server (127.0.0.1, ephemeral port); `send` writes raw bytes and reports what Node parsed. */
async function nodeParser(): Promise<{ send: (b: Buffer) => Promise<NodeVerdict>; close: () => Promise<void> }> {
  const pending = new WeakMap<net.Socket, (v: NodeVerdict) => void>();
  let nextResolve: ((v: NodeVerdict) => void) | undefined;
  const server = http.createServer({ requireHostHeader: false });
  const accept = (req: http.IncomingMessage, socket: net.Socket | import('node:stream').Duplex): void => {
    pending.get(req.socket)?.({ kind: 'ok', method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion, rawHeaders: req.rawHeaders });
    socket.destroy();
  };
  server.on('connection', (socket: net.Socket) => {
    const resolve = nextResolve;
    nextResolve = undefined;
    let done = false;
    const once = (v: NodeVerdict): void => {
      if (done) return;
      done = true;
      resolve?.(v);
    };
    pending.set(socket, once);
    socket.on('close', () => once({ kind: 'none' }));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => accept(req, res.socket ?? req.socket));
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => accept(req, res.socket ?? req.socket));
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => accept(req, res.socket ?? req.socket));
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => accept(req, socket));
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => accept(req, socket));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    pending.get(socket)?.({ kind: 'error', code: err.code ?? String(err) });
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const send = (b: Buffer): Promise<NodeVerdict> =>
    new Promise<NodeVerdict>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no verdict from the loopback http.Server within 5 s')), 5000);
      nextResolve = (v) => {
        clearTimeout(timer);
        client.destroy();
        resolve(v);
      };
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      client.end(b);
    });
  const close = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
  return { send, close };
}

/** Reasons for which the sniffer refuses what llhttp accepts: deliberate strictness. */
const STRICTER: Array<[RegExp, string, ((v: Extract<NodeVerdict, { kind: 'ok' }>) => boolean)?]> = [
  [/duplicate Host header/, 'duplicate Host (ambiguous routing)'],
  [/no Host header/, 'HTTP/1.1 without Host (RFC 9112 3.2: 400)'],
  [/invalid Host header/, 'a Host that is not an authority (RFC 9112 3.2, RFC 3986 3.2)'],
  [/userinfo in the request target/, 'userinfo in an absolute-form authority (RFC 9110 4.2.4)'],
  [/invalid authority in the request target/, 'an absolute-form authority that is not one'],
  [/request target exceeds/, 'request target over the 414 limit'],
  [/more than \d+ header fields/, 'too many header fields (431)'],
  [/'\*' target with a method other than OPTIONS/, 'asterisk-form only for OPTIONS (RFC 9112 3.2.4)'],
  [/fragment after the authority/, "'#' right after an absolute-form authority (llhttp refuses it too)"],
  [/request target is not origin-form/, 'relative or garbage target'],
  [/absolute-form target without a host/, 'http:// with an empty authority'],
  [/bad byte in request target/, 'bytes >= 0x7f in the target'],
  [/unsupported protocol version/, 'only HTTP/1.0 and HTTP/1.1'],
  [/control byte in request head/, 'DEL (0x7f) in the head'],
  [/malformed request line/, 'request line not "METHOD SP target SP version"'],
  [/bare LF in request head/, 'HTTP/0.9 line without a version, ended by a bare LF', (v) => v.httpVersion === '0.9'],
];
/**
 * Where the sniffer is more lenient: it takes any visible ASCII in the target and leaves URL
 * syntax to the backend (llhttp refuses e.g. '"', '<', '\\' or '{' in some URL parts). A target made
 * only of RFC 3986 characters must not be refused by llhttp for its URL.
 */
const RFC3986_TARGET = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
/** Nor does it check that a CONNECT target is authority-form (host:port), which llhttp requires. */
const AUTHORITY_FORM = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+):[0-9]*$/;
/**
 * Also more lenient, by design of requestFraming: repeated identical Content-Length values
 * ("5, 5" or two "5" lines) are one length, as RFC 9110 8.6 allows; llhttp refuses them.
 */
function repeatedIdenticalLength(headers: readonly string[]): boolean {
  const values = headers.flatMap((h, i) => (i % 2 === 0 && h.toLowerCase() === 'content-length' ? headers[i + 1]!.split(',').map((v) => v.replace(/^[ \t]+|[ \t]+$/g, '')) : []));
  return values.length > 1 && values.every((v) => v === values[0] && /^\d+$/.test(v)) && !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'transfer-encoding');
}
/** Methods llhttp knows and the sniffer does not. */
const NODE_ONLY_METHODS = new Set(http.METHODS.filter((m) => !METHOD_SET.has(m)).concat(['PRI']));
/** llhttp codes for framing headers; requestFraming() must refuse those heads too. */
const FRAMING_CODES = new Set(['HPE_INVALID_CONTENT_LENGTH', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_TRANSFER_ENCODING']);

test('HTTP request head fuzz: agrees with llhttp (Node http.Server on 127.0.0.1)', { timeout: 120_000 }, async () => {
  const node = await nodeParser();
  const stats: Record<string, number> = {};
  const bump = (k: string): void => {
    stats[k] = (stats[k] ?? 0) + 1;
  };
  try {
    await checkAsync(
      'http request vs llhttp',
      fc.asyncProperty(fc.oneof({ weight: 1, arbitrary: requestModelArb.map((m) => Buffer.from(requestHead(m), 'latin1')) }, { weight: 2, arbitrary: mutatedRequest }), async (buf) => {
        const ours = parse(buf);
        if (ours.kind === 'need-more') return;
        const wire = ours.kind === 'ok' ? buf.subarray(0, ours.headLength) : buf;
        let theirs = await node.send(wire);
        // a transport hiccup (ECONNRESET under load), not a parser verdict: ask once more
        if (theirs.kind !== 'ok' && !(theirs.kind === 'error' && theirs.code.startsWith('HPE_'))) theirs = await node.send(wire);
        const show = (): string => `input ${JSON.stringify(buf.toString('latin1'))}\nours ${JSON.stringify(ours)}\nllhttp ${JSON.stringify(theirs)}`;
        if (ours.kind === 'not-http') {
          const method = buf.toString('latin1', 0, Math.max(0, buf.indexOf(0x20)));
          ensure(theirs.kind !== 'ok' || NODE_ONLY_METHODS.has(method), () => `llhttp accepts what we call not-http\n${show()}`);
          bump(theirs.kind === 'ok' ? 'not-http/node-only-method' : 'not-http/both-refuse');
          return;
        }
        if (ours.kind === 'ok' && theirs.kind === 'ok') {
          ensure(
            theirs.method === ours.method && theirs.url === ours.target && theirs.httpVersion === ours.httpVersion && JSON.stringify(theirs.rawHeaders) === JSON.stringify(ours.headers),
            () => `both accept, different readings\n${show()}`,
          );
          bump('both-accept');
          return;
        }
        if (ours.kind === 'ok') {
          ensure(theirs.kind === 'error', () => `llhttp gave no verdict on a complete head\n${show()}`);
          if (FRAMING_CODES.has(theirs.code)) {
            if (theirs.code !== 'HPE_INVALID_TRANSFER_ENCODING' && repeatedIdenticalLength(ours.headers)) {
              bump('lenient/repeated identical Content-Length');
              return;
            }
            ensure(requestFraming(ours.headers).kind === 'error', () => `llhttp refuses the framing headers (${theirs.code}), requestFraming accepts them\n${show()}`);
            bump(`framing/${theirs.code}`);
            return;
          }
          if (theirs.code === 'HPE_INVALID_URL' && !RFC3986_TARGET.test(ours.target)) {
            bump('lenient/target bytes outside RFC 3986');
            return;
          }
          if (theirs.code === 'HPE_INVALID_URL' && /^https?:\/\/[^/?]*#/i.test(ours.target)) {
            bump('lenient/fragment right after an absolute-form authority');
            return;
          }
          if (theirs.code === 'HPE_INVALID_URL' && ours.method === 'CONNECT' && !AUTHORITY_FORM.test(ours.target)) {
            bump('lenient/CONNECT target not authority-form');
            return;
          }
          throw new Error(`we accept a head llhttp refuses (${theirs.code})\n${show()}`);
        }
        // ours invalid
        if (theirs.kind !== 'ok') {
          bump('both-refuse');
          return;
        }
        const why = STRICTER.find(([re, , when]) => re.test(ours.reason) && (when === undefined || when(theirs)));
        ensure(why !== undefined, () => `we refuse (${ours.reason}) a head llhttp accepts, and that is not a documented strictness\n${show()}`);
        bump(`stricter/${why[1]}`);
      }),
      2_500,
    );
  } finally {
    await node.close();
  }
  console.log(`http request vs llhttp: ${JSON.stringify(stats)}`);
  assert.ok((stats['both-accept'] ?? 0) > 300, JSON.stringify(stats));
});
