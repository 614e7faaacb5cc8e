/**
 * Request generators for the differential test against llhttp (http-differential.fuzz.test.ts):
 * valid requests (the shared request model of http-model.ts plus framing headers and a body),
 * near-valid ones (a valid request with exactly one rule of RFC 9112 / 9110 bent), and mutated
 * ones (byte- and line-level mutations of either). Each is a complete byte stream: head, body
 * bytes, sometimes more bytes after the body.
 *
 * Volume matters more than fast-check's element-wise shrinking here: a case is a fast-check
 * choice of family and bend plus an integer seed, expanded by a PRNG (like bytesArb in fuzz.ts).
 * The differential test minimises its own counterexamples.
 */
import fc from 'fast-check';
import { applyMutations, mutationsArb, prng } from './fuzz.js';
import { applyLineOps, lineOpArb, requestHead, requestModelArb, type RequestModel } from './http-model.js';

export interface Rand {
  /** 0 <= n < max */
  int(max: number): number;
  pick<T>(a: readonly T[]): T;
  chance(p: number): boolean;
}

export function rand(seed: number): Rand {
  const next = prng(seed);
  return {
    int: (max) => (max <= 1 ? 0 : next() % max),
    pick: (a) => a[next() % a.length]!,
    chance: (p) => next() / 0x1_0000_0000 < p,
  };
}

/** A request as parts, so that a bend can reach any of them; render() makes the bytes. */
export interface Req {
  lead: string;
  method: string;
  sp1: string;
  target: string;
  sp2: string;
  version: string;
  /** Header lines without their line ends. */
  lines: string[];
  /** eols[0] ends the request line, eols[i + 1] ends lines[i]. */
  eols: string[];
  /** The line end of the empty line that closes the head. */
  end: string;
  body: Buffer;
  /** Bytes after the body (a next request, junk, nothing). */
  after: Buffer;
}

export function render(q: Req): Buffer {
  let s = `${q.lead}${q.method}${q.sp1}${q.target}${q.sp2}${q.version}${q.eols[0] ?? '\r\n'}`;
  for (let i = 0; i < q.lines.length; i++) s += `${q.lines[i]}${q.eols[i + 1] ?? '\r\n'}`;
  s += q.end;
  return Buffer.concat([Buffer.from(s, 'latin1'), q.body, q.after]);
}

function setLines(q: Req, lines: string[]): void {
  q.lines = lines;
  q.eols = ['\r\n', ...lines.map(() => '\r\n')];
}

function insertLine(q: Req, at: number, line: string): void {
  const i = at % (q.lines.length + 1);
  q.lines.splice(i, 0, line);
  q.eols.splice(i + 1, 0, '\r\n');
}

/** An authority without userinfo (RFC 3986 3.2: reg-name, IPv4 or a bracketed IP literal, optional port). */
const AUTHORITY = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{0,5})?$/;

const isFraming = (line: string): boolean => /^(content-length|transfer-encoding)\s*:/i.test(line);
const isHost = (line: string): boolean => /^host\s*:/i.test(line);

// ---------- bodies ----------

const range = (a: number, b: number): string => String.fromCharCode(...Array.from({ length: b - a + 1 }, (_, i) => a + i));
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const PCHARS = `${LOWER}ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%`;
const VALUE = `${range(0x21, 0x7e)}${range(0x21, 0x7e)}  \t\x80\xa0\xe9\xff`;

function str(r: Rand, alphabet: string, min: number, max: number): string {
  const n = min + r.int(max - min + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}

function bytes(r: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = r.chance(0.5) ? 0x61 + r.int(26) : r.int(256);
  return b;
}

/** A chunked body in RFC 9112 7.1 syntax: sizes in any hex case, leading zeros, extensions, trailers. */
export function chunkedBody(r: Rand): Buffer {
  const parts: string[] = [];
  const n = r.int(4);
  const ext = (): string => (r.chance(0.85) ? '' : r.pick([';a=b', ';name', ';q="quoted;value"', ';a=b;c=d', ';x=1']));
  for (let i = 0; i < n; i++) {
    const size = r.chance(0.9) ? 1 + r.int(40) : 41 + r.int(400);
    let hex = size.toString(16);
    if (r.chance(0.3)) hex = hex.toUpperCase();
    if (r.chance(0.1)) hex = `0${hex}`;
    parts.push(`${hex}${ext()}\r\n${'x'.repeat(size)}\r\n`);
  }
  const trailers = r.chance(0.85) ? '' : r.pick(['Expires: 0\r\n', 'X-Checksum: abc\r\n', 'a:b\r\nc: d\r\n']);
  parts.push(`${r.chance(0.9) ? '0' : '000'}${ext()}\r\n${trailers}\r\n`);
  return Buffer.from(parts.join(''), 'latin1');
}

/** What follows the body on the connection. */
function after(r: Rand): Buffer {
  switch (r.int(4)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from('GET /next HTTP/1.1\r\nHost: next.example\r\n\r\n');
    case 2:
      return bytes(r, 1 + r.int(20));
    default:
      return Buffer.from('0\r\n\r\n');
  }
}

type FramingChoice = 'none' | 'length' | 'zero' | 'chunked';

/** Replaces the framing header lines and the body: none, Content-Length (n or 0) or chunked. */
function frame(q: Req, r: Rand, kind: FramingChoice): void {
  const keep = q.lines.filter((l) => !isFraming(l));
  setLines(q, keep);
  const at = r.int(keep.length + 1);
  switch (kind) {
    case 'none':
      q.body = r.chance(0.5) ? Buffer.alloc(0) : bytes(r, r.int(10));
      return;
    case 'zero':
      insertLine(q, at, `${r.pick(['Content-Length', 'content-length', 'CONTENT-LENGTH'])}: 0`);
      q.body = Buffer.alloc(0);
      return;
    case 'length': {
      const n = r.chance(0.9) ? 1 + r.int(60) : 61 + r.int(3000);
      insertLine(q, at, `${r.pick(['Content-Length', 'content-length', 'Content-length'])}:${r.pick([' ', '', '  ', '\t'])}${n}${r.pick(['', '', ' ', '\t'])}`);
      q.body = bytes(r, n);
      return;
    }
    case 'chunked':
      insertLine(q, at, `${r.pick(['Transfer-Encoding', 'transfer-encoding', 'TRANSFER-ENCODING'])}: ${r.pick(['chunked', 'chunked', 'Chunked', 'CHUNKED', 'gzip, chunked', 'gzip,chunked', 'deflate, gzip, chunked'])}`);
      q.body = chunkedBody(r);
      return;
  }
}

// ---------- valid requests ----------

const METHODS_WITH_BODY = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'REPORT', 'SEARCH', 'QUERY', 'LOCK', 'MKCALENDAR'];
const SOME_METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH', 'PURGE', 'QUERY', 'ACL', 'BIND'];
const COMMON_HEADERS = ['User-Agent: fuzz/1.0', 'Accept: */*', 'Accept-Encoding: gzip, deflate', 'Cookie: a=b; c=d', 'X-Request-Id: 42', 'Cache-Control: no-cache', 'Authorization: Basic dTpw', 'Content-Type: text/plain', 'Referer: http://ref.example/x', 'Expect: 100-continue', 'Connection: keep-alive', 'Connection: close', 'X-Forwarded-For: 203.0.113.9', 'Keep-Alive: timeout=5', 'TE: trailers'];

function originPath(r: Rand): string {
  let p = '';
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) p += `/${str(r, PCHARS, 0, 10)}`;
  if (r.chance(0.3)) p += `?${str(r, `${PCHARS}/?`, 0, 14)}`;
  return p;
}

function hostName(r: Rand): string {
  switch (r.int(5)) {
    case 0:
      return `${r.int(256)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`;
    case 1:
      return r.pick(['[::1]', '[2001:db8::5]', '[fe80::1:2]']);
    default:
      return `${str(r, LOWER, 1, 8)}.${r.pick(['example', 'test', 'local'])}`;
  }
}

const authority = (r: Rand): string => (r.chance(0.3) ? `${hostName(r)}:${1 + r.int(65535)}` : hostName(r));

/** A valid request from the PRNG alone (cheaper than the fast-check model; the base of the bends). */
export function baseRequest(r: Rand): Req {
  const method = r.pick(SOME_METHODS);
  const lines: string[] = [];
  const n = r.int(6);
  for (let i = 0; i < n; i++) lines.push(r.chance(0.6) ? r.pick(COMMON_HEADERS) : `${str(r, TCHARS, 1, 12)}:${r.pick([' ', '', '\t'])}${str(r, VALUE, 0, 24).replace(/^[ \t]+|[ \t]+$/g, '')}`);
  const version = r.chance(0.85) ? 'HTTP/1.1' : 'HTTP/1.0';
  if (version === 'HTTP/1.1' || r.chance(0.5)) lines.splice(r.int(lines.length + 1), 0, `${r.pick(['Host', 'host', 'HOST'])}: ${authority(r)}`);
  const q: Req = { lead: '', method, sp1: ' ', target: r.chance(0.97) ? originPath(r) : '*', sp2: ' ', version, lines: [], eols: [], end: '\r\n', body: Buffer.alloc(0), after: after(r) };
  setLines(q, lines);
  const kind: FramingChoice = METHODS_WITH_BODY.includes(method) ? r.pick(['length', 'length', 'chunked', 'none', 'zero']) : r.pick(['none', 'none', 'none', 'length', 'chunked']);
  frame(q, r, kind === 'chunked' && version === 'HTTP/1.0' ? 'length' : kind);
  return q;
}

/** The shared model of http-model.ts, plus a Host for HTTP/1.1, framing headers and a body. */
export const validRequestArb: fc.Arbitrary<Buffer> = fc.tuple(requestModelArb, fc.integer()).map(([m, seed]: [RequestModel, number]) => {
  const r = rand(seed);
  const head = requestHead(m);
  const hasHost = m.headers.some((h) => h.name.toLowerCase() === 'host');
  const lines = head.slice(0, -4).split('\r\n');
  const requestLine = lines.shift()!;
  if (!hasHost && m.version === '1.1' && m.method !== 'CONNECT') lines.splice(r.int(lines.length + 1), 0, `Host: ${authority(r)}`);
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.lastIndexOf(' ');
  // RFC-valid only: a Host that is an authority, no userinfo, no fragment (RFC 9112 3.2, 3.2.2; RFC 9110 4.2.4)
  for (let i = 0; i < lines.length; i++) {
    const c = lines[i]!.indexOf(':');
    const v = lines[i]!.slice(c + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (isHost(lines[i]!) && v !== '' && !AUTHORITY.test(v)) lines[i] = `${lines[i]!.slice(0, c)}: ${authority(r)}`;
  }
  const target = requestLine.slice(sp1 + 1, sp2).replace(/^([a-z]+:\/\/)[^/?#]*@/i, '$1').replace(/#.*$/, '');
  const q: Req = { lead: '', method: requestLine.slice(0, sp1), sp1: ' ', target: target === '' ? '/' : target, sp2: ' ', version: requestLine.slice(sp2 + 1), lines: [], eols: [], end: '\r\n', body: Buffer.alloc(0), after: after(r) };
  setLines(q, lines);
  const kind: FramingChoice = m.method === 'CONNECT' ? 'none' : r.pick(['none', 'none', 'length', 'zero', 'chunked', 'chunked']);
  frame(q, r, kind === 'chunked' && m.version === '1.0' ? 'length' : kind);
  return render(q);
});

// ---------- near-valid: one rule bent ----------

const pickLine = (q: Req, r: Rand): number => r.int(q.lines.length);

function framingLineIndex(q: Req): number {
  return q.lines.findIndex(isFraming);
}

/** Content-Length values that bend the ABNF (1*DIGIT) or repeat it. n is the body length sent. */
function clValue(r: Rand, n: number): string {
  const m = n + 1;
  return r.pick([
    `${n}, ${n}`, `${n},${n}`, `${n} ,${n}`, `${n}, ${m}`, `${m}, ${n}`, `,${n}`, `${n},`, `${n},,${n}`, ` , ${n}`,
    `+${n}`, `-${n}`, `0${n}`, `00${n}`, `${n}.0`, `0x${n.toString(16)}`, `${n}e0`, '', ' ', `${n} ${n}`, `${n}abc`, `${n};`,
    `"${n}"`, `${n}\x00`, `\xa0${n}`, `${n}\xa0`, `${n}\x0b`, `${n}\x0c`, '99999999999999999999', '18446744073709551616', '18446744073709551615',
    '999999999999999', '9999999999999999', '1000000000000000', `${'0'.repeat(20)}${n}`, `${n}\t`, `\t${n}`,
  ]);
}

const TE_VALUES = [
  'chunked', 'Chunked', 'CHUNKED', 'chunked ', ' chunked', 'chunked\t', '\tchunked', 'gzip, chunked', 'chunked, gzip', 'chunked, chunked', 'gzip',
  'identity', 'identity, chunked', 'chunked, identity', 'chunked;q=1', 'chunked; q=1', '"chunked"', ',chunked', 'chunked,', 'chunked,,', ', chunked',
  'gzip,,chunked', 'x-chunked', 'chunkedx', 'chunke', 'chunked\x00', 'chunked\xa0', '\xa0chunked', 'chunk\x00ed', 'gzip ,chunked', 'gzip , chunked',
  'deflate,gzip,chunked', 'compress, chunked', 'chunked\x0b', 'chunked\x0c', '', ' ', 'chunked chunked', 'gzip chunked', 'chunked, ', 'cHuNkEd',
];

const TE_NAMES = ['Transfer-Encoding', 'transfer-encoding', 'Transfer-Encoding ', 'Transfer-Encoding\t', 'Transfer_Encoding', 'Transfer-Encodings', 'Transfer-Encoding\x00', 'Transfer\x00Encoding', 'X-Transfer-Encoding', 'Transfer-Encoding\xa0'];
const CL_NAMES = ['Content-Length', 'content-length', 'Content-Length ', 'Content-Length\t', 'Content_Length', 'Content-Lengths', 'Content-Length\x00', 'Content\xa0Length', 'Content-Length\xa0'];

/** Body bytes that a chunked-framing bend sends: valid chunked, or a valid body with one bent line. */
function chunkedBend(r: Rand): Buffer {
  const data = 'x'.repeat(5);
  const v = r.pick([
    `5\r\n${data}\r\n0\r\n\r\n`,
    `5 \r\n${data}\r\n0\r\n\r\n`,
    `5\t\r\n${data}\r\n0\r\n\r\n`,
    `5 ;a=b\r\n${data}\r\n0\r\n\r\n`,
    `5;a=b \r\n${data}\r\n0\r\n\r\n`,
    `5; a=b\r\n${data}\r\n0\r\n\r\n`,
    `5;a = b\r\n${data}\r\n0\r\n\r\n`,
    `5;a="x y"\r\n${data}\r\n0\r\n\r\n`,
    `5;a="x\\"y"\r\n${data}\r\n0\r\n\r\n`,
    `5;\r\n${data}\r\n0\r\n\r\n`,
    `5;a=\r\n${data}\r\n0\r\n\r\n`,
    `5;a\x00\r\n${data}\r\n0\r\n\r\n`,
    `5;a\x7f\r\n${data}\r\n0\r\n\r\n`,
    `5;a\xff\r\n${data}\r\n0\r\n\r\n`,
    `5\n${data}\r\n0\r\n\r\n`,
    `5\r${data}\r\n0\r\n\r\n`,
    `5\r\n${data}\n0\r\n\r\n`,
    `5\r\n${data}0\r\n\r\n`,
    `5\r\n${data}\r\n0\n\r\n`,
    `5\r\n${data}\r\n0\r\n\n`,
    `5\r\n${data}\r\n0\r\n`,
    `5\r\n${data}\r\n0\r\nX: y\n\r\n`,
    `5\r\n${data}\r\n0\r\nX: y\r\n folded\r\n\r\n`,
    `5\r\n${data}\r\n0\r\nno-colon\r\n\r\n`,
    `5\r\n${data}\r\n0\r\nX: a\x00b\r\n\r\n`,
    `5\r\n${data}\r\n0\r\nContent-Length: 5\r\n\r\n`,
    `5\r\n${data}\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n`,
    `005\r\n${data}\r\n0000\r\n\r\n`,
    `0x5\r\n${data}\r\n0\r\n\r\n`,
    `+5\r\n${data}\r\n0\r\n\r\n`,
    `-5\r\n${data}\r\n0\r\n\r\n`,
    ` 5\r\n${data}\r\n0\r\n\r\n`,
    `\r\n5\r\n${data}\r\n0\r\n\r\n`,
    `fffffffffffffffff\r\n${data}\r\n0\r\n\r\n`,
    `10000000000000000\r\n${data}\r\n0\r\n\r\n`,
    `ffffffffffffff\r\n${data}\r\n0\r\n\r\n`,
    `6\r\n${data}\r\n0\r\n\r\n`,
    `4\r\n${data}\r\n0\r\n\r\n`,
    `5\r\n${data}\r\n\r\n0\r\n\r\n`,
    `5\r\n${data}\r\n0;ext\r\n\r\n`,
    `5\r\n${data}\r\n0 \r\n\r\n`,
    `5\r\n${data}\r\n00000000000000000000\r\n\r\n`,
  ]);
  return Buffer.from(v, 'latin1');
}

type Bend = (q: Req, r: Rand) => void;

/** Every bend keeps the rest of the request valid; the name is the rule it bends. */
export const BENDS: Record<string, Bend> = {
  'request-line whitespace': (q, r) => {
    const ws = r.pick(['  ', '\t', ' \t', '\x0b', '\x0c', '\r', '\xa0', ' \x00']);
    switch (r.int(5)) {
      case 0: q.sp1 = ws; break;
      case 1: q.sp2 = ws; break;
      case 2: q.version += r.pick([' ', '\t', '  ']); break;
      case 3: q.lead = r.pick([' ', '\t', '\r\n', '\r\n\r\n', '\n', '\x00']); break;
      default: q.target = `${q.target}${r.pick([' ', '\t'])}${r.pick(['x', 'HTTP/1.1', ''])}`;
    }
  },
  'header-name whitespace': (q, r) => {
    if (q.lines.length === 0) insertLine(q, 0, 'X-A: b');
    const i = r.chance(0.5) && framingLineIndex(q) >= 0 ? framingLineIndex(q) : pickLine(q, r);
    const line = q.lines[i]!;
    const c = line.indexOf(':');
    const name = line.slice(0, c);
    const rest = line.slice(c);
    q.lines[i] = r.pick([`${name} ${rest}`, `${name}\t${rest}`, ` ${name}${rest}`, `\t${name}${rest}`, `${name}  ${rest}`, `${name.slice(0, 1)} ${name.slice(1)}${rest}`]);
  },
  'header-value bytes': (q, r) => {
    if (q.lines.length === 0) insertLine(q, 0, 'X-A: b');
    const i = r.chance(0.5) && framingLineIndex(q) >= 0 ? framingLineIndex(q) : pickLine(q, r);
    const line = q.lines[i]!;
    const c = line.indexOf(':');
    const v = line.slice(c + 1);
    const at = r.int(v.length + 1);
    const b = r.pick(['\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x7f', '\r', '\xa0', '\xff', '\x80', '\t', ' ', '"', '\\', '\x00\x00']);
    q.lines[i] = `${line.slice(0, c + 1)}${v.slice(0, at)}${b}${v.slice(at)}`;
  },
  'header-name bytes': (q, r) => {
    const name = r.pick(['X(Y)', 'X/Y', 'X@Y', 'X[Y]', 'X"Y', 'X;Y', 'X=Y', 'X{Y}', 'X,Y', 'X?Y', 'X\\Y', 'X\x80Y', 'X\xffY', 'X\x00Y', 'X\x7fY', '', ' ', 'X\x0bY', 'é']);
    insertLine(q, r.int(q.lines.length + 1), `${name}: v`);
  },
  'line without colon': (q, r) => {
    insertLine(q, r.int(q.lines.length + 1), r.pick(['no-colon', 'Content-Length 5', 'Transfer-Encoding chunked', 'X', '=', 'GET / HTTP/1.1']));
  },
  'empty header value': (q, r) => {
    insertLine(q, r.int(q.lines.length + 1), r.pick(['X-Empty:', 'X-Empty: ', 'X-Empty:\t', 'Host:', 'Content-Length:', 'Transfer-Encoding:', 'Connection:', 'Upgrade:']));
  },
  'duplicate Content-Length': (q, r) => {
    const n = 1 + r.int(9);
    frame(q, r, 'none');
    q.body = bytes(r, n + r.int(3));
    const second = r.pick([n, n, n + 1, 0]);
    insertLine(q, r.int(q.lines.length + 1), `Content-Length: ${n}`);
    insertLine(q, r.int(q.lines.length + 1), `${r.pick(['Content-Length', 'content-length'])}: ${second}`);
  },
  'Content-Length value': (q, r) => {
    const n = 1 + r.int(9);
    frame(q, r, 'none');
    q.body = bytes(r, n + r.int(3));
    insertLine(q, r.int(q.lines.length + 1), `Content-Length:${r.pick([' ', ''])}${clValue(r, n)}`);
  },
  'Content-Length name': (q, r) => {
    const n = 1 + r.int(9);
    frame(q, r, 'none');
    q.body = bytes(r, n);
    insertLine(q, r.int(q.lines.length + 1), `${r.pick(CL_NAMES)}: ${n}`);
  },
  'Transfer-Encoding value': (q, r) => {
    frame(q, r, 'none');
    q.body = r.chance(0.7) ? chunkedBody(r) : bytes(r, r.int(12));
    insertLine(q, r.int(q.lines.length + 1), `Transfer-Encoding:${r.pick([' ', '', '\t'])}${r.pick(TE_VALUES)}`);
  },
  'Transfer-Encoding name': (q, r) => {
    frame(q, r, 'none');
    q.body = chunkedBody(r);
    insertLine(q, r.int(q.lines.length + 1), `${r.pick(TE_NAMES)}: chunked`);
  },
  'Transfer-Encoding repeated': (q, r) => {
    frame(q, r, 'none');
    q.body = chunkedBody(r);
    const [a, b] = r.pick([['gzip', 'chunked'], ['chunked', 'chunked'], ['chunked', 'gzip'], ['chunked', ''], ['', 'chunked'], ['identity', 'chunked'], ['chunked', 'identity']] as const);
    insertLine(q, r.int(q.lines.length + 1), `Transfer-Encoding: ${a}`);
    insertLine(q, r.int(q.lines.length + 1), `${r.pick(['Transfer-Encoding', 'transfer-encoding'])}: ${b}`);
  },
  'Transfer-Encoding and Content-Length': (q, r) => {
    frame(q, r, 'none');
    q.body = chunkedBody(r);
    const te = `Transfer-Encoding: ${r.pick(['chunked', 'gzip, chunked', 'chunked, gzip', 'identity'])}`;
    const cl = `Content-Length: ${r.pick([q.body.length, 0, 3, 5])}`;
    insertLine(q, r.int(q.lines.length + 1), r.chance(0.5) ? te : cl);
    insertLine(q, r.int(q.lines.length + 1), r.chance(0.5) ? cl : te);
  },
  'chunked body line': (q, r) => {
    frame(q, r, 'chunked');
    q.body = chunkedBend(r);
  },
  'HTTP/1.0 with framing': (q, r) => {
    q.version = 'HTTP/1.0';
    frame(q, r, r.pick(['chunked', 'length', 'none']));
  },
  'obs-fold': (q, r) => {
    const i = framingLineIndex(q);
    const at = i >= 0 && r.chance(0.6) ? i + 1 : r.int(q.lines.length + 1);
    insertLine(q, at, r.pick([' folded', '\tfolded', ' chunked', '\tchunked', ' 5', ' ', '\t', '  x: y', ' Transfer-Encoding: chunked', ' Host: evil.example']));
    if (i >= 0 && r.chance(0.3)) q.lines[i] = q.lines[i]!.replace(/chunked$/i, 'gzip');
  },
  'bare CR / LF': (q, r) => {
    const e = r.pick(['\n', '\r', '\r\r\n', '\n\r', '\r\n\r', ' \r\n', '\r \n']);
    if (r.chance(0.2)) q.end = r.pick(['\n', '\r', '\r\r\n', '\n\r\n']);
    else q.eols[r.int(q.eols.length)] = e;
  },
  'control byte': (q, r) => {
    const c = r.pick(['\x00', '\x01', '\x07', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f', '\x00\x00']);
    switch (r.int(4)) {
      case 0: { const a = r.int(q.method.length + 1); q.method = `${q.method.slice(0, a)}${c}${q.method.slice(a)}`; break; }
      case 1: { const a = r.int(q.target.length + 1); q.target = `${q.target.slice(0, a)}${c}${q.target.slice(a)}`; break; }
      case 2: { const a = r.int(q.version.length + 1); q.version = `${q.version.slice(0, a)}${c}${q.version.slice(a)}`; break; }
      default: {
        if (q.lines.length === 0) { insertLine(q, 0, `X${c}Y: z`); break; }
        const i = pickLine(q, r);
        const l = q.lines[i]!;
        const a = r.int(l.length + 1);
        q.lines[i] = `${l.slice(0, a)}${c}${l.slice(a)}`;
      }
    }
  },
  'absolute-form': (q, r) => {
    const auth = r.pick([authority(r), authority(r), '', 'u@' + authority(r), 'u:p@' + authority(r), `${hostName(r)}:`, `${hostName(r)}:80:80`, 'a<b', 'a b', 'a"b', 'a{b}', 'a\\b', 'a%41b', '[::1', 'a@b@c', '@', ':80', 'exa_mple.com', 'EXAMPLE.com']);
    const scheme = r.pick(['http', 'https', 'HTTP', 'Http', 'ftp', 'ws', 'h\x00ttp', 'http+x']);
    const sep = r.pick(['://', '://', '://', ':/', ':', ':///', '//']);
    const rest = r.pick(['', '/', originPath(r), '?q=1', '#f', '/a#f', '#@evil.example', '/a?b#c', ';p', '\\x']);
    q.target = `${sep === '//' ? '' : scheme}${sep}${auth}${rest}`;
    const host = q.lines.findIndex(isHost);
    const choice = r.int(3);
    if (choice === 0 && host >= 0) q.lines.splice(host, 1), q.eols.splice(host + 1, 1);
    else if (choice === 1) {
      if (host >= 0) q.lines[host] = `Host: ${r.chance(0.5) ? auth : 'other.example'}`;
      else insertLine(q, 0, `Host: ${r.chance(0.5) ? auth : 'other.example'}`);
    }
  },
  'authority-form (CONNECT)': (q, r) => {
    q.method = 'CONNECT';
    q.target = r.pick([`${hostName(r)}:443`, `${hostName(r)}:443`, hostName(r), '[::1]:443', '/path', 'http://h.example/', 'h.example:', ':443', 'h.example:443/x', 'h.example:443?x', 'u@h.example:443', 'h.example:0x1bb', '*']);
    const host = q.lines.findIndex(isHost);
    const choice = r.int(3);
    if (choice === 0 && host >= 0) q.lines.splice(host, 1), q.eols.splice(host + 1, 1);
    else if (choice === 1 && host >= 0) q.lines[host] = `Host: ${r.chance(0.5) ? q.target : 'other.example'}`;
    frame(q, r, r.pick(['none', 'none', 'length', 'zero', 'chunked']));
  },
  'Host header': (q, r) => {
    setLines(q, q.lines.filter((l) => !isHost(l)));
    const v = (): string => r.pick([authority(r), authority(r), '', ' ', 'a b', 'a@b', 'a/b', 'a\\b', 'a,b', `${authority(r)}, ${authority(r)}`, 'a:b:c', '[::1', '%00', 'é.example', 'UPPER.example', 'a\tb']);
    const k = r.int(5);
    if (k === 0) {
      // no Host at all (HTTP/1.1 requires one, RFC 9112 3.2)
    } else if (k === 1) {
      const h = v();
      insertLine(q, r.int(q.lines.length + 1), `Host: ${h}`);
      insertLine(q, r.int(q.lines.length + 1), `${r.pick(['Host', 'host'])}: ${r.chance(0.5) ? h : v()}`);
    } else {
      insertLine(q, r.int(q.lines.length + 1), `${r.pick(['Host', 'host', 'HOST', 'Host ', 'Host\t', ' Host'])}:${r.pick([' ', '', '\t'])}${v()}`);
    }
    if (r.chance(0.3)) q.version = 'HTTP/1.0';
  },
  'huge head': (q, r) => {
    switch (r.int(4)) {
      case 0: insertLine(q, r.int(q.lines.length + 1), `X-Big: ${'v'.repeat(1000 + r.int(16000))}`); break;
      case 1: { const n = 30 + r.int(80); for (let i = 0; i < n; i++) insertLine(q, r.int(q.lines.length + 1), `X-H${i}: ${str(r, LOWER, 0, 10)}`); break; }
      case 2: q.target = `/${'p'.repeat(1000 + r.int(16000))}`; break;
      default: {
        // within a few bytes of the 16 KiB head limit
        const base = render({ ...q, body: Buffer.alloc(0), after: Buffer.alloc(0) }).length;
        const want = 16384 - 12 + r.int(24) - base - 'X-Pad: \r\n'.length;
        if (want > 0) insertLine(q, q.lines.length, `X-Pad: ${'z'.repeat(want)}`);
      }
    }
  },
  'protocol version': (q, r) => {
    q.version = r.pick(['HTTP/1.2', 'HTTP/1.9', 'HTTP/2.0', 'HTTP/2', 'HTTP/3.0', 'HTTP/0.9', 'HTTP/1.1', 'HTTP/1.0', 'http/1.1', 'Http/1.1', 'HTTP/01.1', 'HTTP/1.01', 'HTTP/1.10', 'HTTP/1', 'HTTP/11', 'HTTP /1.1', 'HTTP/ 1.1', 'HTTP/1.', 'HTTP/.1', 'HTTP/9.9', 'HTTPS/1.1', 'HTTP\\1.1', '', 'ICE/1.0', 'RTSP/1.0']);
    if (q.version === '' && r.chance(0.5)) q.sp2 = '';
  },
  'Connection tokens': (q, r) => {
    const v = r.pick(['content-length', 'Content-Length', 'transfer-encoding', 'close, content-length', 'keep-alive, Transfer-Encoding', 'host', 'Host', 'upgrade', 'Upgrade', 'upgrade, close', 'te', 'x-forwarded-for', 'keep-alive', 'close', 'upgrade,keep-alive', 'content-length, transfer-encoding', ', ,']);
    insertLine(q, r.int(q.lines.length + 1), `Connection: ${v}`);
    if (/upgrade/i.test(v) || r.chance(0.3)) insertLine(q, r.int(q.lines.length + 1), `Upgrade: ${r.pick(['websocket', 'WebSocket', 'h2c', 'websocket, h2c', ''])}`);
    if (r.chance(0.5)) frame(q, r, r.pick(['length', 'chunked', 'none']));
  },
  'upgrade request with a body': (q, r) => {
    insertLine(q, r.int(q.lines.length + 1), `Connection: ${r.pick(['Upgrade', 'upgrade', 'keep-alive, Upgrade'])}`);
    insertLine(q, r.int(q.lines.length + 1), `Upgrade: ${r.pick(['websocket', 'h2c', 'foo/2'])}`);
    frame(q, r, r.pick(['length', 'chunked', 'none', 'zero']));
  },
  method: (q, r) => {
    q.method = r.pick(['get', 'Get', 'FOO', 'M-SEARCH', 'PRI', 'SOURCE', 'QUERY', 'GETT', 'GE', 'G', 'GET\x00', 'GE T', 'PATCHX', 'DESCRIBE', 'SETUP', 'PLAY', 'RECORD', 'ANNOUNCE', 'TEARDOWN', 'GET_PARAMETER', 'X', 'POSTPOSTPOSTPOST', 'BREW', 'LINK', 'UNLINK', 'MKCALENDAR', 'ACL']);
  },
  'request-target bytes': (q, r) => {
    if (!q.target.startsWith('/')) q.target = originPath(r);
    const c = r.pick(['"', '<', '>', '{', '}', '|', '\\', '^', '`', '#', '#frag', '%', '%zz', '%00', '\x80', '\xff', '\xa0', '[', ']', '//', '/../', '?', '??', '#?#', '\x7f', "'", '@', ';']);
    const at = 1 + r.int(q.target.length);
    q.target = `${q.target.slice(0, at)}${c}${q.target.slice(at)}`;
  },
  'request-target form': (q, r) => {
    q.target = r.pick(['*', '*/x', 'x', 'a/b', '?x', '#x', '', '.', '//h/p', '/*', 'h.example:80', '**', 'http', '*?x']);
  },
  'leading empty lines': (q, r) => {
    q.lead = r.pick(['\r\n', '\r\n\r\n', '\n', ' \r\n']);
  },
};

export const BEND_NAMES = Object.keys(BENDS);

export interface NearValid {
  bend: string;
  bytes: Buffer;
}

export const nearValidArb: fc.Arbitrary<NearValid> = fc.tuple(fc.integer({ min: 0, max: BEND_NAMES.length - 1 }), fc.integer()).map(([i, seed]) => {
  const r = rand(seed);
  const q = baseRequest(r);
  const bend = BEND_NAMES[i]!;
  BENDS[bend]!(q, r);
  return { bend, bytes: render(q) };
});

/** Bytes that matter to HTTP heads, for byte-level mutations. */
const HTTP_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x2c, 0x2f, 0x30, 0x35, 0x3a, 0x3b, 0x3f, 0x40, 0x7f, 0x80, 0xa0, 0xff, 0x48, 0x31, 0x2e, 0x22, 0x23];

export const mutatedRequestArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fc.integer(), fc.integer({ min: -1, max: BEND_NAMES.length - 1 }), mutationsArb(3, HTTP_BYTES)).map(([seed, bendIndex, muts]) => {
    const r = rand(seed);
    const q = baseRequest(r);
    if (bendIndex >= 0) BENDS[BEND_NAMES[bendIndex]!]!(q, r);
    return applyMutations(render(q), muts);
  }),
  fc.tuple(fc.integer(), fc.array(lineOpArb, { minLength: 1, maxLength: 3 })).map(([seed, ops]) => {
    const r = rand(seed);
    const q = baseRequest(r);
    const whole = render({ ...q, body: Buffer.alloc(0), after: Buffer.alloc(0) });
    const head = applyLineOps(whole.toString('latin1'), ops);
    return Buffer.concat([Buffer.from(head, 'latin1'), q.body, q.after]);
  }),
);
