/**
 * Seeded garbage for the garbage-input harness (garbage.test.ts): what one client connection
 * sends, to which kind of port, from which address, in how many pieces, and how it ends.
 * Everything is drawn from one PRNG, so a seed replays the same list of cases (the timing of
 * real sockets aside). Built from the hello builder and bad-inputs.ts, independent of the
 * parsers under test.
 *
 * Addresses: the proxy under test trusts PROXY headers from 127.0.0.1 only
 * (acceptProxyProtocol is process-wide), so a connection either comes from 127.0.0.1 and
 * starts with a PROXY header (or garbage where one should be), or comes from an address of
 * its own in 127.1.0.0/16.. (untrusted; every loopback address is local on Linux). A valid
 * header names a source address of its own in 198.18.0.0/15 (benchmarking range: only data,
 * nothing is ever sent there). Either way the address the proxy attributes the connection to
 * names the case, so `getStats().connections.byIP()` and the events' `clientIp` lead back to it.
 */
import type { Rng } from '../protocol/helpers/rng.js';
import { hello, helloBody, handshake, sniExt, alpnExt, versionsExt, ext, record, type HelloSpec } from '../protocol/helpers/hello-builder.js';
import { rerecordRandom } from '../protocol/helpers/tls-records.js';
import { v2, malformedHellos, malformedProxyHeaders, garbageHellos, fragmentFlood } from './bad-inputs.js';

export type PortKind = 'tls' | 'http' | 'l4' | 'pp';
export const PORT_KINDS: readonly PortKind[] = ['tls', 'http', 'l4', 'pp'];

/**
 * How the client ends: `destroy`/`reset` at once; `hold-*` keep the socket open `holdMs` (or
 * until the proxy closes it) first; `end-*` send FIN, wait `holdMs`, then destroy/RST;
 * `end-await` sends FIN and waits up to `holdMs` for the proxy to close, then destroys.
 */
export type Ending = 'destroy' | 'reset' | 'hold-destroy' | 'hold-reset' | 'end-destroy' | 'end-reset' | 'end-await';
export const ENDINGS: readonly Ending[] = ['destroy', 'reset', 'hold-destroy', 'hold-reset', 'end-destroy', 'end-reset', 'end-await'];

/**
 * When the ending is applied: `before-connect` (right after connect() is issued, before the
 * client saw 'connect'; destroy/reset only), `before-data` (connected, nothing written), `mid`
 * (after `endAfter` of the pieces), `after-all` (everything written), `after-response` (valid
 * cases: everything written and the whole answer received).
 */
export type Timing = 'before-connect' | 'before-data' | 'mid' | 'after-all' | 'after-response';

/** What a valid case must get back before an `after-response` ending. */
export type Expectation =
  | { kind: 'echo'; bytes: Buffer }
  | { kind: 'http' }
  | { kind: 'tls'; payload: Buffer };

export interface IGarbageCase {
  index: number;
  port: PortKind;
  /** The input class, `<port>/<class>` in reports; a `pp1+`/`pp2+` prefix: sent after a valid PROXY v1/v2 header from 127.0.0.1. */
  cls: string;
  /** What exactly was sent (the cut, the mutation, the template). */
  detail: string;
  /** The client's local address (127.0.0.1 for trusted connections). */
  localAddress: string;
  /** The address the proxy should attribute the connection to once admitted (undefined: not knowable, e.g. a junk header). */
  clientIp: string | undefined;
  /** All bytes, in the pieces they are written in (PROXY header included). */
  pieces: Buffer[];
  /** Pause before piece k (index k, k >= 1): -1 = setImmediate, 0 = same turn, else ms. */
  gaps: number[];
  ending: Ending;
  timing: Timing;
  /** Pieces written before the ending (all of them unless the timing is before-connect, before-data or mid). */
  endAfter: number;
  holdMs: number;
  /** The client socket's allowHalfOpen (true: our side stays writable after the proxy's FIN). */
  clientHalfOpen: boolean;
  /** Set for valid cases: the answer awaited under `after-response`. */
  expect?: Expectation;
}

export interface IGarbageTargets {
  /** SNI routed by the TLS passthrough port. */
  tlsDomain: string;
  /** Host routed by the HTTP port. */
  httpDomain: string;
  /** Ports, for the destination fields of PROXY headers. */
  ports: Record<PortKind, number>;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A distinct untrusted loopback address per case index: 127.b.c.d with c, d in 1..254. */
export function untrustedAddress(i: number): string {
  return `127.${1 + Math.floor(i / 64516)}.${(Math.floor(i / 254) % 254) + 1}.${(i % 254) + 1}`;
}

/** The source address a valid PROXY header of case `i` names: 198.(18|19).c.d. */
export function headerSourceAddress(i: number): string {
  return `198.${18 + Math.floor(i / 64516)}.${(Math.floor(i / 254) % 254) + 1}.${(i % 254) + 1}`;
}

/** A PROXY v1 TCP4 header. */
export function v1Header(src: string, srcPort: number, dst: string, dstPort: number): Buffer {
  return latin1(`PROXY TCP4 ${src} ${dst} ${srcPort} ${dstPort}\r\n`);
}

/** A PROXY v2 PROXY/TCP4 header, with optional TLVs after the addresses. */
export function v2Header(src: string, srcPort: number, dst: string, dstPort: number, tlvs: Buffer = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(12);
  src.split('.').forEach((o, k) => (body[k] = Number(o)));
  dst.split('.').forEach((o, k) => (body[4 + k] = Number(o)));
  body.writeUInt16BE(srcPort, 8);
  body.writeUInt16BE(dstPort, 10);
  return v2(0x21, 0x11, 12 + tlvs.length, Buffer.concat([body, tlvs]));
}

function tlv(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(3);
  h[0] = type;
  h.writeUInt16BE(value.length, 1);
  return Buffer.concat([h, value]);
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function weighted<T extends string>(rng: Rng, table: ReadonlyArray<readonly [T, number]>): T {
  let total = 0;
  for (const [, w] of table) total += w;
  let x = rng.next() * total;
  for (const [v, w] of table) {
    x -= w;
    if (x < 0) return v;
  }
  return table[table.length - 1]![0];
}

/** Random bytes, mostly short, sometimes up to 64 KiB. */
function randomBytes(rng: Rng): Buffer {
  const r = rng.next();
  const n = r < 0.5 ? rng.range(1, 64) : r < 0.9 ? rng.range(65, 4096) : rng.range(4097, 65536);
  return rng.bytes(n);
}

// ---------------------------------------------------------------- TLS ClientHellos

function randomCase(rng: Rng, s: string): string {
  let out = '';
  for (const ch of s) out += rng.next() < 0.3 ? ch.toUpperCase() : ch;
  return out;
}

/** A well-formed ClientHello spec with a random mix of extensions (SNI `sni` when given). */
function helloSpec(rng: Rng, sni: string | undefined): HelloSpec {
  const exts: Buffer[] = [];
  if (sni !== undefined) exts.push(sniExt(rng.next() < 0.2 ? randomCase(rng, sni) + (rng.next() < 0.3 ? '.' : '') : sni));
  if (rng.next() < 0.6) exts.push(alpnExt(...(rng.next() < 0.5 ? ['h2', 'http/1.1'] : ['http/1.1'])));
  if (rng.next() < 0.6) exts.push(versionsExt(0x0304, 0x0303));
  if (rng.next() < 0.4) exts.push(ext(rng.pick([10, 11, 13, 35, 51, 45, 0xfe0d]), rng.bytes(rng.range(0, 80))));
  if (rng.next() < 0.15) exts.push(ext(21, Buffer.alloc(rng.range(200, 6000)))); // padding: a hello over several segments
  const suites = rng.range(1, 20) * 2;
  return {
    sessionId: rng.next() < 0.5 ? rng.bytes(32) : Buffer.alloc(0),
    cipherSuites: rng.bytes(suites),
    extensions: shuffle(rng, exts),
  };
}

const EXT_NAMES: Record<number, string> = { 0: 'sni', 10: 'groups', 11: 'ec_point_formats', 13: 'sig_algs', 16: 'alpn', 21: 'padding', 35: 'ticket', 43: 'versions', 45: 'psk_modes', 51: 'key_share' };

interface ILengthField {
  name: string;
  offset: number;
  width: 1 | 2 | 3;
}

/**
 * The length fields of a single-record ClientHello flight, and named places to cut it (the
 * cut is the number of bytes kept). Offsets come from walking the flight as built.
 */
function helloLayout(rng: Rng, f: Buffer): { lengths: ILengthField[]; cuts: Array<[string, number]> } {
  const lengths: ILengthField[] = [
    { name: 'record.length', offset: 3, width: 2 },
    { name: 'handshake.length', offset: 6, width: 3 },
  ];
  const cuts: Array<[string, number]> = [
    ['in record header', rng.range(1, 4)],
    ['after record header', 5],
    ['in handshake header', rng.range(6, 8)],
    ['after handshake header', 9],
    ['in client_version', 10],
    ['in random', rng.range(11, 42)],
  ];
  let p = 43;
  lengths.push({ name: 'session_id.length', offset: p, width: 1 });
  cuts.push(['before session_id', p]);
  const sid = f[p]!;
  if (sid > 0) cuts.push(['in session_id', p + 1 + rng.int(sid)]);
  p += 1 + sid;
  lengths.push({ name: 'cipher_suites.length', offset: p, width: 2 });
  cuts.push(['before cipher_suites', p], ['in cipher_suites length', p + 1]);
  const cs = f.readUInt16BE(p);
  if (cs > 0) cuts.push(['in cipher_suites', p + 2 + rng.int(cs)]);
  p += 2 + cs;
  lengths.push({ name: 'compression.length', offset: p, width: 1 });
  cuts.push(['before compression', p]);
  p += 1 + f[p]!;
  if (p + 2 <= f.length) {
    lengths.push({ name: 'extensions.length', offset: p, width: 2 });
    cuts.push(['before extensions', p], ['in extensions length', p + 1]);
    p += 2;
    while (p + 4 <= f.length) {
      const type = f.readUInt16BE(p);
      const len = f.readUInt16BE(p + 2);
      const n = EXT_NAMES[type] ?? `ext_${type}`;
      cuts.push([`before ${n}`, p], [`in ${n} header`, p + rng.range(1, 3)]);
      if (len > 0) cuts.push([`in ${n} data`, p + 4 + rng.int(len)]);
      lengths.push({ name: `${n}.length`, offset: p + 2, width: 2 });
      if (type === 0 && len >= 5) {
        lengths.push({ name: 'sni.list_length', offset: p + 4, width: 2 }, { name: 'sni.name_length', offset: p + 7, width: 2 });
        cuts.push(['in sni name', p + 9 + rng.int(Math.max(1, len - 5))]);
      }
      if (type === 16 && len >= 3) lengths.push({ name: 'alpn.list_length', offset: p + 4, width: 2 }, { name: 'alpn.proto_length', offset: p + 6, width: 1 });
      if (type === 43 && len >= 1) lengths.push({ name: 'versions.length', offset: p + 4, width: 1 });
      p += 4 + len;
    }
  }
  cuts.push(['last byte missing', f.length - 1]);
  return {
    lengths: lengths.filter((l) => l.offset + l.width <= f.length),
    cuts: cuts.filter(([, n]) => n > 0 && n < f.length),
  };
}

function readLen(b: Buffer, l: ILengthField): number {
  return l.width === 1 ? b[l.offset]! : l.width === 2 ? b.readUInt16BE(l.offset) : b.readUIntBE(l.offset, 3);
}

function writeLen(b: Buffer, l: ILengthField, v: number): void {
  const max = 2 ** (8 * l.width) - 1;
  const x = ((v % (max + 1)) + max + 1) % (max + 1);
  if (l.width === 1) b[l.offset] = x;
  else if (l.width === 2) b.writeUInt16BE(x, l.offset);
  else b.writeUIntBE(x, l.offset, 3);
}

function flipBits(rng: Rng, b: Buffer, headBias: number): string {
  const k = rng.range(1, 8);
  const at: number[] = [];
  for (let i = 0; i < k; i++) {
    const pos = rng.next() < 0.5 ? rng.int(Math.min(b.length, headBias)) : rng.int(b.length);
    b[pos]! ^= 1 << rng.int(8);
    at.push(pos);
  }
  return `${k} bit flips at ${at.sort((x, y) => x - y).join(',')}`;
}

interface IPayload {
  cls: string;
  detail: string;
  data: Buffer;
  expect?: Expectation;
}

function tlsPayload(rng: Rng, t: IGarbageTargets): IPayload {
  const cls = weighted(rng, [
    ['random', 8],
    ['silent', 3],
    ['tls-valid', 5],
    ['hello-complete', 6],
    ['hello-truncated', 16],
    ['hello-multirecord-truncated', 6],
    ['hello-bitflip', 12],
    ['hello-length', 12],
    ['hello-malformed', 5],
    ['tls-like', 6],
    ['hello-trailing-junk', 4],
    ['hello-no-sni', 3],
    ['hello-other-sni', 3],
    ['other-record-type', 3],
    ['http-on-tls-port', 3],
    ['fragment-flood', 0.5],
  ] as const);
  const good = (): Buffer => hello(helloSpec(rng, t.tlsDomain));
  switch (cls) {
    case 'random': {
      const data = randomBytes(rng);
      return { cls, detail: `${data.length} random bytes (first 0x${data[0]!.toString(16)})`, data };
    }
    case 'silent':
      return { cls, detail: 'no bytes', data: Buffer.alloc(0) };
    case 'tls-valid': {
      const payload = rng.bytes(rng.range(1, 2000));
      return { cls, detail: `real TLS handshake, ${payload.length} bytes echoed`, data: Buffer.alloc(0), expect: { kind: 'tls', payload } };
    }
    case 'hello-complete': {
      const multi = rng.next() < 0.5;
      const data = multi ? rerecordRandom(handshake(helloBody(helloSpec(rng, t.tlsDomain))), rng) : good();
      return { cls, detail: `${data.length} bytes${multi ? ', re-recorded into random records' : ''}`, data };
    }
    case 'hello-truncated': {
      const f = good();
      const { cuts } = helloLayout(rng, f);
      const [where, n] = rng.pick(cuts);
      return { cls, detail: `cut ${where} (${n} of ${f.length} bytes)`, data: f.subarray(0, n) };
    }
    case 'hello-multirecord-truncated': {
      const f = rerecordRandom(handshake(helloBody(helloSpec(rng, t.tlsDomain))), rng);
      // At a record boundary or anywhere.
      const bounds: number[] = [];
      for (let p = 0; p + 5 <= f.length; p += 5 + f.readUInt16BE(p + 3)) bounds.push(p);
      const atBoundary = rng.next() < 0.5 && bounds.length > 1;
      const n = atBoundary ? bounds[rng.range(1, bounds.length - 1)]! : rng.range(1, f.length - 1);
      return { cls, detail: `${bounds.length} records, cut ${atBoundary ? 'at a record boundary' : 'anywhere'} (${n} of ${f.length} bytes)`, data: f.subarray(0, n) };
    }
    case 'hello-bitflip': {
      const f = Buffer.from(good());
      return { cls, detail: flipBits(rng, f, 60), data: f };
    }
    case 'hello-length': {
      const f = Buffer.from(good());
      const { lengths } = helloLayout(rng, f);
      const l = rng.pick(lengths);
      const old = readLen(f, l);
      const max = 2 ** (8 * l.width) - 1;
      const [how, v] = rng.pick<[string, number]>([
        ['0', 0],
        ['-1', old - 1],
        ['+1', old + 1],
        ['x2', old * 2],
        ['max', max],
        ['random', rng.int(max + 1)],
      ]);
      writeLen(f, l, v);
      return { cls, detail: `${l.name} ${old} -> ${readLen(f, l)} (${how})`, data: f };
    }
    case 'hello-malformed': {
      const templates = malformedHellos(t.tlsDomain).filter((c) => c.chunks.length > 0);
      const c = rng.pick(templates);
      return { cls, detail: c.name, data: Buffer.concat(c.chunks) };
    }
    case 'tls-like': {
      const c = garbageHellos(rng, 1)[0]!;
      return { cls, detail: c.name, data: Buffer.concat(c.chunks) };
    }
    case 'hello-trailing-junk': {
      const junk = rng.bytes(rng.range(1, 3000));
      return { cls, detail: `complete hello + ${junk.length} random bytes`, data: Buffer.concat([good(), junk]) };
    }
    case 'hello-no-sni':
      return { cls, detail: 'complete hello without SNI (no route)', data: hello(helloSpec(rng, undefined)) };
    case 'hello-other-sni':
      return { cls, detail: 'complete hello for other.test (no route)', data: hello(helloSpec(rng, 'other.test')) };
    case 'other-record-type': {
      const type = rng.pick([0x14, 0x15, 0x17, 0x18, 0x80]);
      const data = type === 0x80 ? Buffer.concat([Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), rng.bytes(rng.range(0, 60))]) : record(type, rng.bytes(rng.range(0, 300)));
      return { cls, detail: `first record type 0x${type.toString(16)}${type === 0x80 ? ' (SSLv2-style hello)' : ''}`, data };
    }
    case 'http-on-tls-port': {
      const host = rng.pick([t.tlsDomain, 'other.test']);
      return { cls, detail: `GET with Host ${host}`, data: latin1(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`) };
    }
    case 'fragment-flood': {
      const c = fragmentFlood();
      return { cls, detail: c.name, data: Buffer.concat(c.chunks) };
    }
  }
}

// ---------------------------------------------------------------- HTTP request heads

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

/** A valid HTTP/1.1 request (head and body) for `host`. */
function validRequest(rng: Rng, host: string): { text: string; method: string } {
  const method = rng.pick(METHODS);
  const path = rng.pick(['/', '/a', '/api/v1/items?id=7&x=%20y', `/${'p'.repeat(rng.range(1, 2000))}`, '/garbage/../x']);
  const headers: string[] = [`Host: ${rng.next() < 0.2 ? randomCase(rng, host) : host}${rng.next() < 0.2 ? ':80' : ''}`];
  if (rng.next() < 0.5) headers.push('User-Agent: garbage-harness/1');
  if (rng.next() < 0.4) headers.push('Accept: */*');
  const conn = rng.pick(['', 'keep-alive', 'close']);
  if (conn) headers.push(`Connection: ${conn}`);
  for (let i = rng.int(6); i > 0; i--) headers.push(`X-Junk-${i}: ${rng.bytes(rng.range(0, 40)).toString('hex')}`);
  let body = '';
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
    const content = 'b'.repeat(rng.range(0, 3000));
    if (rng.next() < 0.3) {
      headers.push('Transfer-Encoding: chunked');
      body = (content.length > 0 ? `${content.length.toString(16)}\r\n${content}\r\n` : '') + '0\r\n\r\n';
    } else {
      headers.push(`Content-Length: ${content.length}`);
      body = content;
    }
  }
  return { text: `${method} ${path} HTTP/1.1\r\n${shuffle(rng, headers).join('\r\n')}\r\n\r\n${body}`, method };
}

/** Named places to cut a request (bytes kept). */
function requestCuts(rng: Rng, text: string): Array<[string, number]> {
  const cuts: Array<[string, number]> = [];
  const sp1 = text.indexOf(' ');
  const sp2 = text.indexOf(' ', sp1 + 1);
  const eol = text.indexOf('\r\n');
  const headEnd = text.indexOf('\r\n\r\n');
  cuts.push(['in method', rng.range(1, Math.max(1, sp1 - 1))], ['after method', sp1 + 1], ['in target', rng.range(sp1 + 1, sp2)]);
  cuts.push(['in version', rng.range(sp2 + 1, eol - 1)], ['before request-line LF', eol + 1], ['after request line', eol + 2]);
  let p = eol + 2;
  while (p < headEnd) {
    const e = text.indexOf('\r\n', p);
    const colon = text.indexOf(':', p);
    cuts.push(['in header name', rng.range(p + 1, Math.max(p + 1, colon - 1))], ['after colon', colon + 1], ['in header value', rng.range(colon + 1, e)], ['before header LF', e + 1]);
    p = e + 2;
  }
  cuts.push(['before final CRLF', headEnd + 2], ['between final CR and LF', headEnd + 3]);
  if (text.length > headEnd + 4) cuts.push(['in body', rng.range(headEnd + 4, text.length - 1)]);
  return cuts.filter(([, n]) => n > 0 && n < text.length);
}

/** Hand-written broken request heads (some valid but refused: unknown Host, no Host). */
function junkRequest(rng: Rng, host: string): [string, string] {
  const templates: Array<[string, () => string]> = [
    ['bare LF line ends', () => `GET / HTTP/1.1\nHost: ${host}\n\n`],
    ['NUL in method', () => `G\0T / HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['NUL in target', () => `GET /a\0b HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['version HTTP/9.9', () => `GET / HTTP/9.9\r\nHost: ${host}\r\n\r\n`],
    ['header without colon', () => `GET / HTTP/1.1\r\nHost ${host}\r\n\r\n`],
    ['space before colon', () => `GET / HTTP/1.1\r\nHost : ${host}\r\n\r\n`],
    ['obs-fold', () => `GET / HTTP/1.1\r\nHost: ${host}\r\nX-A: a\r\n  folded\r\n\r\n`],
    ['64 KiB header, no end', () => `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(65536)}`],
    ['300 headers', () => `GET / HTTP/1.1\r\nHost: ${host}\r\n${Array.from({ length: 300 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`],
    ['no Host', () => 'GET / HTTP/1.1\r\n\r\n'],
    ['HTTP/1.0 without Host', () => 'GET / HTTP/1.0\r\n\r\n'],
    ['unknown Host', () => 'GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n'],
    ['absolute-form target', () => `GET http://${host}/x HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['CONNECT', () => `CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`],
    ['Content-Length abc', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: abc\r\n\r\n`],
    ['two Content-Lengths', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello`],
    ['Content-Length and chunked', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['bad chunk size', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
    ['chunk cut short', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel`],
    ['body shorter than Content-Length', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\n\r\nshort`],
    ['Content-Length 2^64', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 99999999999999999999\r\n\r\n`],
    ['Content-Length -1', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -1\r\n\r\n`],
    ['Expect 100-continue, no body', () => `POST / HTTP/1.1\r\nHost: ${host}\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n`],
    ['upgrade without key', () => `GET / HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`],
    [
      'websocket upgrade + random frames',
      () => `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n${rng.bytes(rng.range(0, 200)).toString('latin1')}`,
    ],
    ['100 KiB target, no end', () => `GET /${'a'.repeat(100_000)}`],
    ['h2 preface', () => `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${rng.bytes(rng.range(0, 100)).toString('latin1')}`],
    ['valid + truncated pipelined', () => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\nGET /2 HTTP/1.1\r\nHo`],
    ['valid + random bytes', () => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n${rng.bytes(rng.range(1, 2000)).toString('latin1')}`],
    ['20 pipelined requests', () => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`.repeat(20)],
    ['leading CRLFs', () => `\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['lower-case method', () => `get / HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['control bytes in Host', () => 'GET / HTTP/1.1\r\nHost: \x01\x02\x7f\r\n\r\n'],
    ['a response instead of a request', () => 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['request line only, no CRLF', () => 'GET / HTTP/1.1'],
    ['a lone CR', () => '\r'],
  ];
  const [name, make] = rng.pick(templates);
  return [name, make()];
}

/** Byte-level damage to a valid request: flips, control bytes, deletions, insertions. */
function mutate(rng: Rng, b: Buffer): { data: Buffer; what: string } {
  let data = Buffer.from(b);
  const ops: string[] = [];
  for (let k = rng.range(1, 5); k > 0; k--) {
    if (data.length === 0) break;
    const pos = rng.int(data.length);
    const op = rng.pick(['flip', 'set', 'delete', 'insert']);
    if (op === 'flip') data[pos]! ^= 1 << rng.int(8);
    else if (op === 'set') data[pos] = rng.pick([0, 9, 10, 13, 32, 58, 0x7f, 0xff, rng.int(256)]);
    else if (op === 'delete') data = Buffer.concat([data.subarray(0, pos), data.subarray(pos + 1)]);
    else data = Buffer.concat([data.subarray(0, pos), Buffer.from([rng.int(256)]), data.subarray(pos)]);
    ops.push(`${op}@${pos}`);
  }
  return { data, what: ops.join(' ') };
}

function httpPayload(rng: Rng, t: IGarbageTargets): IPayload {
  const cls = weighted(rng, [
    ['random', 8],
    ['silent', 3],
    ['http-valid', 7],
    ['http-truncated', 22],
    ['http-junk', 22],
    ['http-mutated', 14],
    ['tls-on-http-port', 3],
    ['hello-truncated-on-http-port', 2],
  ] as const);
  switch (cls) {
    case 'random': {
      const data = randomBytes(rng);
      return { cls, detail: `${data.length} random bytes`, data };
    }
    case 'silent':
      return { cls, detail: 'no bytes', data: Buffer.alloc(0) };
    case 'http-valid': {
      const r = validRequest(rng, t.httpDomain);
      return { cls, detail: `${r.method}, ${r.text.length} bytes`, data: latin1(r.text), expect: { kind: 'http' } };
    }
    case 'http-truncated': {
      const r = validRequest(rng, t.httpDomain);
      const [where, n] = rng.pick(requestCuts(rng, r.text));
      return { cls, detail: `${r.method} cut ${where} (${n} of ${r.text.length} bytes)`, data: latin1(r.text.slice(0, n)) };
    }
    case 'http-junk': {
      const [name, text] = junkRequest(rng, t.httpDomain);
      const cut = rng.next() < 0.3 && text.length > 1 ? rng.range(1, text.length - 1) : text.length;
      return { cls, detail: cut < text.length ? `${name}, cut at ${cut} of ${text.length}` : name, data: latin1(text.slice(0, cut)) };
    }
    case 'http-mutated': {
      const r = validRequest(rng, t.httpDomain);
      const m = mutate(rng, latin1(r.text));
      return { cls, detail: `${r.method} ${m.what}`, data: m.data };
    }
    case 'tls-on-http-port':
      return { cls, detail: 'complete ClientHello', data: hello(helloSpec(rng, rng.pick([t.httpDomain, t.tlsDomain]))) };
    case 'hello-truncated-on-http-port': {
      const f = hello(helloSpec(rng, t.httpDomain));
      const [where, n] = rng.pick(helloLayout(rng, f).cuts);
      return { cls, detail: `cut ${where}`, data: f.subarray(0, n) };
    }
  }
}

// ---------------------------------------------------------------- plain L4

function l4Payload(rng: Rng, t: IGarbageTargets): IPayload {
  const cls = weighted(rng, [
    ['random', 30],
    ['silent', 5],
    ['echo-valid', 10],
    ['large', 5],
    ['tls-garbage', 15],
    ['http-garbage', 15],
  ] as const);
  switch (cls) {
    case 'random': {
      const data = randomBytes(rng);
      return { cls, detail: `${data.length} random bytes`, data };
    }
    case 'silent':
      return { cls, detail: 'no bytes', data: Buffer.alloc(0) };
    case 'echo-valid': {
      const data = Buffer.concat([latin1('echo:'), rng.bytes(rng.range(1, 8000))]);
      return { cls, detail: `${data.length} bytes echoed`, data, expect: { kind: 'echo', bytes: data } };
    }
    case 'large': {
      const data = rng.bytes(rng.range(65_536, 400_000));
      return { cls, detail: `${data.length} random bytes`, data };
    }
    case 'tls-garbage': {
      const p = tlsPayload(rng, t);
      return { cls: `tls-garbage:${p.cls}`, detail: p.detail, data: p.data };
    }
    case 'http-garbage': {
      const p = httpPayload(rng, t);
      return { cls: `http-garbage:${p.cls}`, detail: p.detail, data: p.data };
    }
  }
}

// ---------------------------------------------------------------- PROXY protocol

interface IPpPayload extends IPayload {
  /** Sent from 127.0.0.1 (trusted) or from the case's own address. */
  trusted: boolean;
  /** The source address the header gives (only for a header the proxy must accept). */
  source?: string;
}

function ppPayload(rng: Rng, i: number, t: IGarbageTargets): IPpPayload {
  const src = headerSourceAddress(i);
  const sport = 1024 + (i % 60000);
  const dport = t.ports.pp;
  const cls = weighted(rng, [
    ['pp-v1-valid', 6],
    ['pp-v2-valid', 6],
    ['pp-v2-local', 2],
    ['pp-v1-unknown', 2],
    ['pp-v1-truncated', 12],
    ['pp-v2-truncated', 12],
    ['pp-v1-malformed', 12],
    ['pp-v2-malformed', 12],
    ['pp-v2-length', 6],
    ['no-header-random', 6],
    ['no-header-tls', 3],
    ['no-header-http', 3],
    ['no-header-silent', 3],
    ['untrusted-header', 5],
    ['untrusted-raw', 4],
  ] as const);
  const after = (): Buffer => (rng.next() < 0.7 ? rng.bytes(rng.range(1, 2000)) : Buffer.alloc(0));
  switch (cls) {
    case 'pp-v1-valid':
    case 'pp-v2-valid': {
      const tlvs = cls === 'pp-v2-valid' && rng.next() < 0.4 ? tlv(rng.pick([0x01, 0x02, 0x04, 0x05, 0x20, 0xe0]), rng.bytes(rng.range(0, 60))) : Buffer.alloc(0);
      const h = cls === 'pp-v1-valid' ? v1Header(src, sport, '127.0.0.1', dport) : v2Header(src, sport, '127.0.0.1', dport, tlvs);
      const data = after();
      const expect: Expectation | undefined = data.length > 0 ? { kind: 'echo', bytes: data } : undefined;
      return { cls, detail: `${src}:${sport}${tlvs.length ? `, TLV ${tlvs.length} bytes` : ''}, ${data.length} bytes after`, data: Buffer.concat([h, data]), expect, trusted: true, source: src };
    }
    case 'pp-v2-local': {
      const data = after();
      return { cls, detail: `LOCAL, ${data.length} bytes after`, data: Buffer.concat([v2(0x20, 0x00, 0, Buffer.alloc(0)), data]), trusted: true };
    }
    case 'pp-v1-unknown': {
      const data = after();
      return { cls, detail: `PROXY UNKNOWN, ${data.length} bytes after`, data: Buffer.concat([latin1('PROXY UNKNOWN\r\n'), data]), trusted: true };
    }
    case 'pp-v1-truncated': {
      const h = v1Header(src, sport, '127.0.0.1', dport).toString('latin1');
      const sp = [...h.matchAll(/ /g)].map((m) => m.index!);
      const cuts: Array<[string, number]> = [
        ['in signature', rng.range(1, 5)],
        ['after "PROXY "', 6],
        ['in protocol', rng.range(7, 9)],
        ['in source address', rng.range(sp[1]! + 1, sp[2]! - 1)],
        ['in destination address', rng.range(sp[2]! + 1, sp[3]! - 1)],
        ['in ports', rng.range(sp[3]! + 1, h.length - 3)],
        ['before CR', h.length - 2],
        ['before LF', h.length - 1],
      ];
      const [where, n] = rng.pick(cuts);
      return { cls, detail: `cut ${where} (${n} of ${h.length})`, data: latin1(h.slice(0, n)), trusted: true };
    }
    case 'pp-v2-truncated': {
      const h = v2Header(src, sport, '127.0.0.1', dport, rng.next() < 0.5 ? tlv(0x04, rng.bytes(rng.range(1, 40))) : Buffer.alloc(0));
      const cuts: Array<[string, number]> = [
        ['in signature', rng.range(1, 11)],
        ['after signature', 12],
        ['after version/command', 13],
        ['after family', 14],
        ['in length', 15],
        ['after length', 16],
        ['in addresses', rng.range(17, 27)],
        ['before last byte', h.length - 1],
      ];
      const [where, n] = rng.pick(cuts.filter(([, c]) => c < h.length));
      return { cls, detail: `cut ${where} (${n} of ${h.length})`, data: h.subarray(0, n), trusted: true };
    }
    case 'pp-v1-malformed': {
      if (rng.next() < 0.4) {
        const c = rng.pick(malformedProxyHeaders().filter((m) => m.name.startsWith('v1') && !m.fin));
        return { cls, detail: c.name, data: Buffer.concat([...c.chunks, after()]), trusted: true };
      }
      const h = v1Header(src, sport, '127.0.0.1', dport).toString('latin1');
      const edits: Array<[string, () => string]> = [
        ['lower-case proxy', () => h.replace('PROXY', 'proxy')],
        ['TCP6 with IPv4 addresses', () => h.replace('TCP4', 'TCP6')],
        ['double space', () => h.replace(' ', '  ')],
        ['no space after PROXY', () => h.replace('PROXY ', 'PROXY')],
        ['port 0', () => h.replace(` ${sport} `, ' 0 ')],
        ['octet 256', () => h.replace(src, '256.1.1.1')],
        ['leading zero', () => h.replace(src, src.replace(/^198/, '0198'))],
        ['200 bytes long', () => `${h.slice(0, -2)}${' 9'.repeat(100)}\r\n`],
        ['random byte replaced', () => { const b = latin1(h); b[rng.range(6, b.length - 1)] = rng.int(256); return b.toString('latin1'); }],
        ['CR without LF, then data', () => `${h.slice(0, -1)}${rng.bytes(50).toString('latin1')}`],
        ['header twice', () => h + h],
      ];
      const [name, make] = rng.pick(edits);
      return { cls, detail: name, data: Buffer.concat([latin1(make()), after()]), trusted: true };
    }
    case 'pp-v2-malformed': {
      if (rng.next() < 0.4) {
        const c = rng.pick(malformedProxyHeaders().filter((m) => m.name.startsWith('v2') && !m.fin));
        return { cls, detail: c.name, data: Buffer.concat([...c.chunks, after()]), trusted: true };
      }
      const h = Buffer.from(v2Header(src, sport, '127.0.0.1', dport));
      return { cls, detail: flipBits(rng, h, 16), data: Buffer.concat([h, after()]), trusted: true };
    }
    case 'pp-v2-length': {
      const tlvs = rng.next() < 0.5 ? tlv(0x04, rng.bytes(rng.range(1, 40))) : Buffer.alloc(0);
      const h = Buffer.from(v2Header(src, sport, '127.0.0.1', dport, tlvs));
      const old = h.readUInt16BE(14);
      const v = rng.pick([0, 1, 11, old - 1, old + 1, old + 200, 0xffff, rng.int(0x10000)]) & 0xffff;
      h.writeUInt16BE(v, 14);
      return { cls, detail: `length ${old} -> ${v}`, data: Buffer.concat([h, after()]), trusted: true };
    }
    case 'no-header-random': {
      const data = randomBytes(rng);
      return { cls, detail: `${data.length} random bytes`, data, trusted: true };
    }
    case 'no-header-tls':
      return { cls, detail: 'a ClientHello, no header', data: hello(helloSpec(rng, t.tlsDomain)), trusted: true };
    case 'no-header-http':
      return { cls, detail: 'an HTTP request, no header', data: latin1(validRequest(rng, t.httpDomain).text), trusted: true };
    case 'no-header-silent':
      return { cls, detail: 'no bytes', data: Buffer.alloc(0), trusted: true };
    case 'untrusted-header': {
      const v = rng.next() < 0.5;
      const h = v ? v1Header(src, sport, '127.0.0.1', dport) : v2Header(src, sport, '127.0.0.1', dport);
      return { cls, detail: `${v ? 'v1' : 'v2'} from an untrusted address`, data: Buffer.concat([h, after()]), trusted: false };
    }
    case 'untrusted-raw': {
      const data = Buffer.concat([latin1('raw:'), rng.bytes(rng.range(1, 2000))]);
      return { cls, detail: `${data.length} bytes from an untrusted address, echoed`, data, expect: { kind: 'echo', bytes: data }, trusted: false };
    }
  }
}

// ---------------------------------------------------------------- delivery and endings

function splitPieces(rng: Rng, data: Buffer): Buffer[] {
  if (data.length === 0) return [];
  const r = rng.next();
  if (r < 0.45 || data.length === 1) return [data];
  if (r < 0.55 && data.length <= 48) return Array.from(data, (b) => Buffer.from([b]));
  const n = rng.range(2, Math.min(8, data.length));
  const cuts = new Set<number>();
  while (cuts.size < n - 1) cuts.add(rng.range(1, data.length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...sorted, data.length]) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  return out;
}

function gapFor(rng: Rng): number {
  const r = rng.next();
  return r < 0.3 ? 0 : r < 0.6 ? -1 : rng.range(1, 15);
}

const PORT_WEIGHTS = [
  ['tls', 35],
  ['http', 30],
  ['l4', 15],
  ['pp', 20],
] as const;

/** `count` cases from `rng`; the same seed gives the same list. */
export function makeGarbageCases(rng: Rng, count: number, t: IGarbageTargets): IGarbageCase[] {
  const out: IGarbageCase[] = [];
  for (let i = 0; i < count; i++) {
    const port = weighted(rng, PORT_WEIGHTS);
    let payload: IPayload;
    let trusted = false;
    let clientIp: string | undefined;
    let header: Buffer | undefined;
    if (port === 'pp') {
      const p = ppPayload(rng, i, t);
      payload = p;
      trusted = p.trusted;
      clientIp = trusted ? p.source : untrustedAddress(i);
    } else {
      payload = port === 'tls' ? tlsPayload(rng, t) : port === 'http' ? httpPayload(rng, t) : l4Payload(rng, t);
      // Some come through a trusted upstream proxy: a valid header first, from 127.0.0.1.
      if (payload.expect?.kind !== 'tls' && rng.next() < 0.1) {
        trusted = true;
        const v1 = rng.next() < 0.5;
        const src = headerSourceAddress(i);
        header = v1 ? v1Header(src, 1024 + (i % 60000), '127.0.0.1', t.ports[port]) : v2Header(src, 1024 + (i % 60000), '127.0.0.1', t.ports[port]);
        payload = { ...payload, cls: `${v1 ? 'pp1' : 'pp2'}+${payload.cls}` };
        clientIp = src;
      } else {
        clientIp = untrustedAddress(i);
      }
    }
    const data = header ? Buffer.concat([header, payload.data]) : payload.data;
    const pieces = splitPieces(rng, data);
    const gaps = pieces.map((_, k) => (k === 0 ? 0 : gapFor(rng)));
    let ending = rng.pick(ENDINGS);
    let timing: Timing;
    if (payload.expect && rng.next() < 0.75) timing = 'after-response';
    else {
      const r = rng.next();
      timing = r < 0.05 ? 'before-connect' : r < 0.15 ? 'before-data' : r < 0.4 ? 'mid' : 'after-all';
    }
    if (timing === 'before-connect' && ending !== 'destroy' && ending !== 'reset') ending = rng.next() < 0.5 ? 'destroy' : 'reset';
    if (payload.expect?.kind === 'tls') {
      // A real TLS client writes its own bytes: 'mid' = during the handshake, 'after-all' = right after it.
    } else if (timing === 'mid' && pieces.length < 2) timing = pieces.length === 0 ? 'before-data' : 'after-all';
    const endAfter = timing === 'before-connect' || timing === 'before-data' || pieces.length === 0 ? 0 : timing === 'mid' ? rng.range(1, pieces.length - 1) : pieces.length;
    const holdMs = ending === 'end-await' ? 1000 : ending.startsWith('hold') ? rng.range(5, 300) : ending.startsWith('end') ? rng.range(0, 150) : 0;
    out.push({
      index: i,
      port,
      cls: payload.cls,
      detail: payload.detail,
      localAddress: trusted ? '127.0.0.1' : untrustedAddress(i),
      clientIp,
      pieces,
      gaps,
      ending,
      timing,
      endAfter,
      holdMs,
      clientHalfOpen: rng.next() < 0.2,
      ...(payload.expect ? { expect: payload.expect } : {}),
    });
  }
  return out;
}

/** One line for a report. */
export function describeCase(c: IGarbageCase): string {
  const bytes = c.pieces.reduce((n, p) => n + p.length, 0);
  const pieces = c.pieces.length <= 1 ? `${bytes} bytes at once` : `${bytes} bytes in ${c.pieces.length} pieces`;
  const hold = c.holdMs > 0 ? ` ${c.holdMs} ms` : '';
  return `#${c.index} ${c.port}/${c.cls} [${c.detail}] ${pieces}, ${c.ending}${hold}@${c.timing}${c.timing === 'mid' ? ` after ${c.endAfter}` : ''} from ${c.localAddress}${c.clientHalfOpen ? ' (client allowHalfOpen)' : ''}`;
}
