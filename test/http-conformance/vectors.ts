/**
 * The conformance vectors, one table per class, ONE ROW PER VECTOR. Each row says what the
 * client sends, where it comes from (`source`, a key of SOURCES and the entry there), and the
 * acceptable outcomes: the statuses the client gets, whether the connection is closed, and
 * exactly what each backend got (nothing, no complete request, or the requests themselves).
 * The runner is kit.ts; the route tables are in each *.test.ts.
 *
 * Expected answers (the issue): 400 for a malformed request, 405 for CONNECT, 414 / 431 for
 * the limits, 417 for an unsupported Expect, 501 accepted where a transfer coding is merely
 * unknown; where normalising is allowed (equal duplicate Content-Length) either the single
 * normalised line or a 400 is accepted, never the value passed on as it came.
 */
import { FRAMING, chunk, chunked, head, withBody, type ExpectedHeader, type ForwardedRequest, type Outcome, type Piece, type Vector, type Observed, header, finalResponse, show } from './kit.js';
import assert from 'node:assert/strict';

/**
 * Where the vectors come from. A row's `source` is `<key>:<entry>`.
 *
 * - psAcademy: PortSwigger Web Security Academy, "HTTP request smuggling"
 *   (https://portswigger.net/web-security/request-smuggling): the CL.TE and TE.CL requests and
 *   its list of TE.TE obfuscations ("Transfer-Encoding: xchunked", "Transfer-Encoding : chunked",
 *   "chunked" then "x", "[tab]chunked", "[space]Transfer-Encoding", "X: X[\n]Transfer-Encoding",
 *   "Transfer-Encoding\n: chunked"), and its CL.0 advice ("never assume that requests won't have
 *   a body"). The page points at J. Kettle, "HTTP Desync Attacks: Request Smuggling Reborn"
 *   (PortSwigger Research, 2019).
 * - psSmuggler: PortSwigger's own scanner, github.com/PortSwigger/http-request-smuggler,
 *   src/burp/DesyncBox.java: the named Transfer-Encoding / Content-Length permutations Burp
 *   tries (vanilla, space1, nameprefix1, linewrapped1, gareth1, tabwrap, 0dwrap, connection,
 *   ..., CL-plus, CL-pad, CL-commaprefix, ...); the entry is the permutation's name.
 * - garden: the HTTP Garden, github.com/narfindustries/http-garden, TROPHIES.md: the bugs its
 *   differential fuzzing of servers and proxies ("transducers") found, each with its payload;
 *   the entry is "server-N" or "transducer-N", the number in that list.
 * - rfc9112 / rfc9110 / rfc6585: RFC 9112 (HTTP/1.1), RFC 9110 (HTTP Semantics), RFC 6585
 *   (431), section given.
 * - issue: the SmartProxy HTTP/1.1 conformance issue (its own examples).
 */
export const SOURCES = {
  psAcademy: 'PortSwigger Web Security Academy, HTTP request smuggling, https://portswigger.net/web-security/request-smuggling',
  psSmuggler: 'PortSwigger/http-request-smuggler, src/burp/DesyncBox.java, https://github.com/PortSwigger/http-request-smuggler',
  garden: 'The HTTP Garden, TROPHIES.md, https://github.com/narfindustries/http-garden/blob/main/TROPHIES.md',
  rfc9112: 'RFC 9112, HTTP/1.1, https://www.rfc-editor.org/rfc/rfc9112',
  rfc9110: 'RFC 9110, HTTP Semantics, https://www.rfc-editor.org/rfc/rfc9110',
  rfc6585: 'RFC 6585, Additional HTTP Status Codes (431), https://www.rfc-editor.org/rfc/rfc6585',
  issue: 'SmartProxy issue: HTTP/1.1 conformance (smuggling and routing-bypass vectors)',
} as const;

// ---------------------------------------------------------------------------------------
// Shorthands

export const HOST = 'app.test';
const H: ExpectedHeader = ['Host', HOST];
/** A complete request that must never reach a backend as a request of its own. */
const SMUGGLED = head('GET /smuggled HTTP/1.1', `Host: ${HOST}`);

/** A local refusal: the status (any of them), the connection closed, no backend got a byte. */
function refuse(...statuses: number[]): Outcome[] {
  return statuses.map((s) => ({ statuses: [s], closed: true, backends: {} }));
}

/** A refusal after the head may already have gone upstream (a broken chunked body): never a whole request. */
function refuseAfterHead(...statuses: number[]): Outcome[] {
  return statuses.map((s) => ({ statuses: [s], closed: true, backends: { app: 'no-complete-request' } }));
}

function req(method: string, target: string, headers: ExpectedHeader[], body = '', extra: Partial<ForwardedRequest> = {}): ForwardedRequest {
  return { method, target, headers, body, ...extra };
}

/** The requests reached backend `app` (one 200 each), connection kept open unless said. */
function forwards(reqs: ForwardedRequest[], opts: { closed?: boolean | 'either'; statuses?: number[]; backend?: string } = {}): Outcome {
  return { statuses: opts.statuses ?? reqs.map(() => 200), closed: opts.closed ?? false, backends: { [opts.backend ?? 'app']: reqs } };
}

const POST = 'POST / HTTP/1.1';
const HOSTLINE = `Host: ${HOST}`;

/** A POST whose `lines` frame (or try to frame) `body`; Host first. */
function post(lines: string[], body: string): string {
  return head(POST, HOSTLINE, ...lines) + body;
}

const len = (s: string): number => Buffer.byteLength(s, 'latin1');

/** CL.TE shape (PortSwigger): a Content-Length covering "0\r\n\r\n" and a smuggled request. */
const CLTE_BODY = `0\r\n\r\n${SMUGGLED}`;
function teObfuscated(teLines: string[], opts: { clFirst?: boolean } = {}): string {
  const cl = `Content-Length: ${len(CLTE_BODY)}`;
  return post(opts.clFirst ? [cl, ...teLines] : [...teLines, cl], CLTE_BODY);
}

const CL_SMUGGLED_FRAMING = `Content-Length: ${len(SMUGGLED)}`;

/** A Transfer-Encoding the proxy must refuse (400, or 501 for a coding it does not know). */
const TE_REFUSED = refuse(400, 501);

// ---------------------------------------------------------------------------------------
// request-framing: CL.TE, TE.CL, TE.TE, Content-Length grammar, chunked grammar, head syntax

/**
 * A name that is not "Transfer-Encoding" at all (Transfer_Encoding, Transfer-%45ncoding):
 * refused, or forwarded as ONE request framed by its Content-Length, the odd field passed on
 * or dropped.
 */
function notTeField(name: string): Outcome[] {
  return [
    ...refuse(400),
    forwards([req('POST', '/', [H, ['Content-Length', String(len(CLTE_BODY))]], CLTE_BODY, { optional: [name] })], { closed: 'either' }),
  ];
}

export const REQUEST_FRAMING: Vector[] = [
  // --- controls: valid framing is forwarded as it is
  {
    id: 'control-content-length',
    source: 'rfc9112:6.2',
    send: withBody('POST /p HTTP/1.1', [HOSTLINE], 'hello'),
    expect: forwards([req('POST', '/p', [H, ['Content-Length', '5']], 'hello')]),
  },
  {
    id: 'control-chunked',
    source: 'rfc9112:7.1',
    send: head('POST /p HTTP/1.1', HOSTLINE, 'Transfer-Encoding: chunked') + chunked('hel', 'lo'),
    expect: forwards([req('POST', '/p', [H, FRAMING], 'hello')]),
  },
  {
    id: 'control-chunked-tab-ows',
    source: 'psAcademy:TE.TE "Transfer-Encoding:[tab]chunked"',
    why: 'HTAB is OWS: this IS chunked (alone, without a Content-Length, it is valid and forwarded)',
    send: head(POST, HOSTLINE, 'Transfer-Encoding:\tchunked\t') + chunked('hello'),
    expect: forwards([req('POST', '/', [H, FRAMING], 'hello')]),
  },
  {
    id: 'control-chunked-uppercase',
    source: 'psSmuggler:UPPERCASE',
    why: 'field names and the coding are case-insensitive: chunked',
    send: head(POST, HOSTLINE, 'TRANSFER-ENCODING: CHUNKED') + chunked('hello'),
    expect: forwards([req('POST', '/', [H, FRAMING], 'hello')]),
  },
  {
    id: 'cl0-then-request-is-a-second-request',
    source: 'psAcademy:CL.0',
    why: 'Content-Length: 0 ends the body; what follows is the next request, answered on its own (both readers agree)',
    send: post(['Content-Length: 0'], SMUGGLED),
    expect: forwards([req('POST', '/', [H, ['Content-Length', '0']]), req('GET', '/smuggled', [H])]),
  },
  {
    id: 'pipelined-body-that-looks-like-a-request',
    source: 'garden:server-48',
    why: 'the second POST carries the third "request" as its 34-byte body: exactly two requests',
    send:
      head(POST, 'Content-Length: 0', 'Connection:keep-alive', HOSTLINE, 'id: 0') +
      withBody(POST, [HOSTLINE, 'id: 1'], head('GET / HTTP/1.1', HOSTLINE, 'id: 2')),
    expect: forwards([
      req('POST', '/', [['Content-Length', '0'], H, ['id', '0']]),
      req('POST', '/', [H, ['id', '1'], ['Content-Length', String(len(head('GET / HTTP/1.1', HOSTLINE, 'id: 2')))]], head('GET / HTTP/1.1', HOSTLINE, 'id: 2')),
    ]),
  },
  {
    id: 'cl0-then-garbage',
    source: 'psAcademy:CL.0',
    why: 'after a Content-Length: 0 request the next bytes are a head; garbage there is a 400 of its own, never body',
    send: post(['Content-Length: 0'], 'GARBAGE\r\n\r\n'),
    expect: forwards([req('POST', '/', [H, ['Content-Length', '0']])], { statuses: [200, 400], closed: true }),
  },
  {
    id: 'get-with-request-shaped-body',
    source: 'psAcademy:CL.0',
    why: 'a GET whose Content-Length covers a request: ONE request with that body (a backend that ignores GET bodies must still get the length)',
    send: head('GET /static HTTP/1.1', HOSTLINE, CL_SMUGGLED_FRAMING) + SMUGGLED,
    expect: forwards([req('GET', '/static', [H, ['Content-Length', String(len(SMUGGLED))]], SMUGGLED)]),
  },
  {
    id: 'get-with-body-keeps-it',
    source: 'garden:transducer-21',
    why: 'a GET body is forwarded with its Content-Length, never stripped while the length stays',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Content-Length: 10') + '1234567890',
    expect: forwards([req('GET', '/', [H, ['Content-Length', '10']], '1234567890')]),
  },
  {
    id: 'content-encoding-chunked-is-not-framing',
    source: 'psSmuggler:contentEnc',
    why: 'Content-Encoding is end-to-end and says nothing about framing: one request by its Content-Length',
    send: post(['Content-Encoding: chunked', `Content-Length: ${len(CLTE_BODY)}`], CLTE_BODY),
    expect: forwards([req('POST', '/', [H, ['Content-Encoding', 'chunked'], ['Content-Length', String(len(CLTE_BODY))]], CLTE_BODY)]),
  },
  {
    id: 'invalid-after-connection-close-is-ignored',
    source: 'garden:server-45',
    why: 'after a request with Connection: close nothing more is read: one 200, then close',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Connection: close') + 'Invalid\r\n\r\n',
    expect: forwards([req('GET', '/', [H])], { closed: true }),
  },

  // --- CL.TE / TE.CL: both framings in one request (RFC 9112 6.1: reject, and close)
  {
    id: 'cl-te',
    source: 'psAcademy:CL.TE',
    send: post(['Content-Length: 13', 'Transfer-Encoding: chunked'], '0\r\n\r\nSMUGGLED'),
    expect: refuse(400),
  },
  {
    id: 'te-cl',
    source: 'psAcademy:TE.CL',
    send: post(['Content-Length: 3', 'Transfer-Encoding: chunked'], '8\r\nSMUGGLED\r\n0\r\n\r\n'),
    expect: refuse(400),
  },
  {
    id: 'te-then-cl-forwarded-as-is',
    source: 'garden:transducer-23',
    send: post(['Transfer-Encoding: chunked', 'Content-Length: 5'], '0\r\n\r\n'),
    expect: refuse(400),
  },
  {
    id: 'cl-te-valid-chunked-with-smuggled-request',
    source: 'issue:CL + TE',
    send: teObfuscated(['Transfer-Encoding: chunked']),
    expect: refuse(400),
  },

  // --- TE.TE: obfuscated Transfer-Encoding next to a Content-Length (PortSwigger's list, then Burp's permutations)
  { id: 'te-xchunked', source: 'psAcademy:TE.TE "Transfer-Encoding: xchunked"', send: teObfuscated(['Transfer-Encoding: xchunked']), expect: TE_REFUSED },
  { id: 'te-space-before-colon', source: 'psAcademy:TE.TE "Transfer-Encoding : chunked" (psSmuggler:space1)', why: 'whitespace between name and colon: 400 (RFC 9112 5.1)', send: teObfuscated(['Transfer-Encoding : chunked']), expect: refuse(400) },
  { id: 'te-chunked-then-x', source: 'psAcademy:TE.TE "chunked" then "x"', send: teObfuscated(['Transfer-Encoding: chunked', 'Transfer-Encoding: x']), expect: TE_REFUSED },
  { id: 'te-extra-space-value-with-cl', source: 'psSmuggler:valueprefix1', why: '"Transfer-Encoding:  chunked" (two spaces) is chunked: CL + TE', send: teObfuscated(['Transfer-Encoding:  chunked']), expect: refuse(400) },
  { id: 'te-tab-value-with-cl', source: 'psAcademy:TE.TE "Transfer-Encoding:[tab]chunked"', why: 'valid chunked next to a Content-Length: CL + TE', send: teObfuscated(['Transfer-Encoding:\tchunked']), expect: refuse(400) },
  {
    id: 'te-space-first-line',
    source: 'psAcademy:TE.TE "[space]Transfer-Encoding: chunked"',
    why: 'whitespace between the start-line and the first field (RFC 9112 2.2)',
    send: head(POST, ' Transfer-Encoding: chunked', HOSTLINE, `Content-Length: ${len(CLTE_BODY)}`) + CLTE_BODY,
    expect: refuse(400),
  },
  { id: 'te-after-bare-lf', source: 'psAcademy:TE.TE "X: X[\\n]Transfer-Encoding: chunked" (psSmuggler:badsetupLF)', send: teObfuscated(['X: X\nTransfer-Encoding: chunked']), expect: refuse(400) },
  { id: 'te-name-lf-colon', source: 'psAcademy:TE.TE "Transfer-Encoding\\n: chunked"', send: teObfuscated(['Transfer-Encoding\n: chunked']), expect: refuse(400) },
  { id: 'te-name-lf-space-colon', source: 'psSmuggler:gareth1', send: teObfuscated(['Transfer-Encoding\n : chunked']), expect: refuse(400) },
  { id: 'te-obs-fold-after-field', source: 'psSmuggler:nameprefix1', send: teObfuscated(['Foo: bar', ' Transfer-Encoding: chunked']), expect: refuse(400) },
  { id: 'te-obs-fold-tab-after-field', source: 'psSmuggler:nameprefix2', send: teObfuscated(['Foo: bar', '\tTransfer-Encoding: chunked']), expect: refuse(400) },
  { id: 'te-value-folded-tab', source: 'psSmuggler:tabwrap', send: teObfuscated(['Transfer-Encoding: \r\n\tchunked']), expect: refuse(400) },
  { id: 'te-value-lf-wrapped', source: 'psSmuggler:linewrapped1', send: teObfuscated(['Transfer-Encoding:\n chunked']), expect: refuse(400) },
  { id: 'te-value-double-wrapped', source: 'psSmuggler:doublewrapped', send: teObfuscated(['Transfer-Encoding:\r\n \r\n chunked']), expect: refuse(400) },
  { id: 'te-value-vt-wrapped', source: 'psSmuggler:vertwrap', send: teObfuscated(['Transfer-Encoding: \n\x0bchunked']), expect: refuse(400) },
  { id: 'te-value-vt-prefix', source: 'psSmuggler:prefix1:11', send: teObfuscated(['Transfer-Encoding: \x0bchunked']), expect: TE_REFUSED },
  { id: 'te-value-ff-prefix', source: 'psSmuggler:prefix1:12', send: teObfuscated(['Transfer-Encoding: \x0cchunked']), expect: TE_REFUSED },
  { id: 'te-value-nul-prefix', source: 'psSmuggler:prefix1:0', send: teObfuscated(['Transfer-Encoding: \x00chunked']), expect: refuse(400) },
  { id: 'te-value-cr-prefix', source: 'psSmuggler:prefix1:13', send: teObfuscated(['Transfer-Encoding: \rchunked']), expect: refuse(400) },
  { id: 'te-value-del-suffix', source: 'psSmuggler:suffix1:127', send: teObfuscated(['Transfer-Encoding: chunked\x7f']), expect: TE_REFUSED },
  { id: 'te-value-cr-suffix', source: 'psSmuggler:0dsuffix', send: teObfuscated(['Transfer-Encoding: chunked\r']), expect: refuse(400) },
  { id: 'te-value-tab-suffix-with-cl', source: 'psSmuggler:tabsuffix', why: '"chunked\\t" is chunked (OWS): CL + TE', send: teObfuscated(['Transfer-Encoding: chunked\t']), expect: refuse(400) },
  { id: 'te-name-nul-suffix', source: 'psSmuggler:namesuffix1:0', send: teObfuscated(['Transfer-Encoding\x00: chunked']), expect: refuse(400) },
  { id: 'te-name-tab-suffix', source: 'psSmuggler:namesuffix1:9', send: teObfuscated(['Transfer-Encoding\t: chunked']), expect: refuse(400) },
  { id: 'te-after-bare-cr-line', source: 'psSmuggler:0dwrap', send: teObfuscated(['Foo: bar', '\rTransfer-Encoding: chunked']), expect: refuse(400) },
  { id: 'te-name-with-cr', source: 'psSmuggler:0dspam', send: teObfuscated(['Tra\rnsfer-Encoding: chunked']), expect: refuse(400) },
  { id: 'te-after-bare-cr', source: 'psSmuggler:badsetupCR', send: teObfuscated(['Foo: bar\rTransfer-Encoding: chunked']), expect: refuse(400) },
  { id: 'te-underscore-name', source: 'psSmuggler:underjoin1', why: 'a different field (some gateways map _ to -): never a second framing', send: teObfuscated(['Transfer_Encoding: chunked']), expect: notTeField('transfer_encoding') },
  { id: 'te-space-in-name', source: 'psSmuggler:spacejoin1', send: teObfuscated(['Transfer Encoding: chunked']), expect: refuse(400) },
  { id: 'te-uppercase-with-cl', source: 'psSmuggler:UPPERCASE', send: teObfuscated(['TRANSFER-ENCODING: CHUNKED']), expect: refuse(400) },
  { id: 'te-multicase-with-cl', source: 'psSmuggler:multiCase', send: teObfuscated(['tRANSFER-ENCODING: chunked']), expect: refuse(400) },
  { id: 'te-truncated-value', source: 'psSmuggler:lazygrep', send: teObfuscated(['Transfer-Encoding: chunk']), expect: TE_REFUSED },
  { id: 'te-quoted-value', source: 'psSmuggler:quoted', send: teObfuscated(['Transfer-Encoding: "chunked"']), expect: TE_REFUSED },
  { id: 'te-apostrophe-value', source: 'psSmuggler:aposed', send: teObfuscated(["Transfer-Encoding: 'chunked'"]), expect: TE_REFUSED },
  { id: 'te-chunked-identity', source: 'psSmuggler:commaCow', send: teObfuscated(['Transfer-Encoding: chunked, identity']), expect: TE_REFUSED },
  { id: 'te-identity-chunked', source: 'psSmuggler:cowComma', send: teObfuscated(['Transfer-Encoding: identity, chunked']), expect: TE_REFUSED },
  { id: 'te-nested', source: 'psSmuggler:nested', send: teObfuscated(['Transfer-Encoding: identity, chunked, identity']), expect: TE_REFUSED },
  { id: 'te-dual-chunked-identity', source: 'psSmuggler:dualchunk', send: teObfuscated(['Transfer-Encoding: chunked', 'Transfer-encoding: identity']), expect: TE_REFUSED },
  { id: 'te-dual-identity-chunked', source: 'psSmuggler:revdualchunk', send: teObfuscated(['Transfer-Encoding: identity', 'Transfer-Encoding: chunked']), expect: TE_REFUSED },
  { id: 'te-percent-encoded-name', source: 'psSmuggler:encode', send: teObfuscated(['Transfer-%45ncoding: chunked']), expect: notTeField('transfer-%45ncoding') },
  { id: 'te-value-obs-text', source: 'psSmuggler:accentCH', send: teObfuscated(['Transfer-Encoding: ch\x96nked']), expect: TE_REFUSED },
  { id: 'te-name-obs-text', source: 'psSmuggler:accentTE', send: teObfuscated(['Transf\x82r-Encoding: chunked']), expect: refuse(400) },
  { id: 'te-name-nbsp-suffix', source: 'psSmuggler:nbsp (garden:server-20)', send: teObfuscated(['Transfer-Encoding\xa0: chunked']), expect: refuse(400) },
  { id: 'te-name-nel-suffix', source: 'psSmuggler:nel (garden:server-20)', send: teObfuscated(['Transfer-Encoding\x85: chunked']), expect: refuse(400) },
  { id: 'te-name-soft-hyphen', source: 'psSmuggler:shy', send: teObfuscated(['Transfer\xadEncoding: chunked']), expect: refuse(400) },
  { id: 'te-value-ff-byte', source: 'psSmuggler:spaceFF', send: teObfuscated(['Transfer-Encoding:\xffchunked']), expect: TE_REFUSED },
  { id: 'te-value-nbsp-around', source: 'garden:server-12 (psSmuggler:unispace)', send: teObfuscated(['Transfer-Encoding: \xa0chunked\xa0']), expect: TE_REFUSED },
  { id: 'te-value-mime-encoded', source: 'psSmuggler:qencode', send: teObfuscated(['Transfer-Encoding: =?iso-8859-1?B?Y2h1bmtlZA==?=']), expect: TE_REFUSED },
  { id: 'te-leading-comma-with-cl', source: 'garden:transducer-9 (and transducer-15, transducer-18)', send: teObfuscated(['Transfer-Encoding: ,chunked'], { clFirst: false }), expect: TE_REFUSED },
  {
    id: 'te-in-http10',
    source: 'psSmuggler:http1.0 (rfc9112:6.1)',
    why: 'an HTTP/1.0 request with Transfer-Encoding has faulty framing: 400',
    send: head('POST / HTTP/1.0', HOSTLINE, 'Transfer-Encoding: chunked') + CLTE_BODY,
    expect: refuse(400),
  },
  {
    id: 'te-and-cl-in-http10',
    source: 'psSmuggler:http1.0 (rfc9112:6.1)',
    send: head('POST / HTTP/1.0', HOSTLINE, 'Transfer-Encoding: chunked', `Content-Length: ${len(CLTE_BODY)}`) + CLTE_BODY,
    expect: refuse(400),
  },

  // --- Transfer-Encoding values without a Content-Length: only "chunked", once, last
  { id: 'te-chunked-twice-lines', source: 'garden:server-11 (transducer-25)', send: post(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '1\r\nZ\r\n0\r\n\r\n'), expect: TE_REFUSED },
  { id: 'te-chunked-chunked', source: 'issue:"chunked, chunked"', send: post(['Transfer-Encoding: chunked, chunked'], '1\r\nZ\r\n0\r\n\r\n'), expect: TE_REFUSED },
  { id: 'te-unknown-coding', source: 'garden:server-44', send: post(['Transfer-Encoding: blegh'], '1\r\nZ\r\n0\r\n\r\n'), expect: TE_REFUSED },
  { id: 'te-gzip-alone', source: 'issue:"gzip alone"', send: post(['Transfer-Encoding: gzip'], 'hello'), expect: TE_REFUSED },
  { id: 'te-gzip-chunked', source: 'issue:"only chunked"', send: post(['Transfer-Encoding: gzip, chunked'], '1\r\nZ\r\n0\r\n\r\n'), expect: TE_REFUSED },
  { id: 'te-chunked-with-parameter', source: 'issue:"chunked;q=1"', send: post(['Transfer-Encoding: chunked;q=1'], '1\r\nZ\r\n0\r\n\r\n'), expect: TE_REFUSED },
  { id: 'te-empty-value', source: 'rfc9112:6.1', send: post(['Transfer-Encoding: '], '1\r\nZ\r\n0\r\n\r\n'), expect: TE_REFUSED },
  { id: 'te-leading-comma-alone', source: 'garden:server-21', why: 'an empty list element is allowed (RFC 9110 5.6.1): chunked normalised, or refused', send: post(['Transfer-Encoding: ,chunked'], chunked('hello')), expect: [...TE_REFUSED, forwards([req('POST', '/', [H, FRAMING], 'hello')], { closed: 'either' })] },

  // --- Content-Length grammar: 1*DIGIT, one value
  { id: 'cl-plus-sign', source: 'psSmuggler:CL-plus', send: post(['Content-Length: +5'], 'hello'), expect: refuse(400) },
  { id: 'cl-negative', source: 'psSmuggler:CL-minus (garden:server-26)', send: post(['Content-Length: -48'], ''), expect: refuse(400) },
  {
    id: 'cl-leading-zero',
    source: 'garden:server-32 (psSmuggler:CL-pad)',
    why: '"010" is ten bytes (decimal digits); forwarded as one 10-byte request (ideally normalised to "10") or refused — never read as octal',
    send: post(['Content-Length: 010'], '0123456789'),
    expect: [...refuse(400), forwards([req('POST', '/', [H, ['Content-Length', /^0*10$/]], '0123456789')], { closed: 'either' })],
  },
  {
    id: 'cl-many-leading-zeros',
    source: 'psSmuggler:CL-bigpad',
    send: post(['Content-Length: 00000000005'], 'hello'),
    expect: [...refuse(400), forwards([req('POST', '/', [H, ['Content-Length', /^0*5$/]], 'hello')], { closed: 'either' })],
  },
  { id: 'cl-inner-space', source: 'psSmuggler:CL-spacepad', send: post(['Content-Length: 0 5'], 'hello'), expect: refuse(400) },
  { id: 'cl-exponent', source: 'psSmuggler:CL-e', send: post(['Content-Length: 5e0'], 'hello'), expect: refuse(400) },
  { id: 'cl-decimal', source: 'psSmuggler:CL-dec (issue:"5.0")', send: post(['Content-Length: 5.0'], 'hello'), expect: refuse(400) },
  { id: 'cl-hex', source: 'garden:transducer-1 (issue:"0x5")', send: post(['Content-Length: 0x5'], 'hello'), expect: refuse(400) },
  { id: 'cl-empty', source: 'garden:server-16 (transducer-5)', send: post(['Content-Length: '], SMUGGLED), expect: refuse(400) },
  {
    id: 'cl-empty-then-value',
    source: 'garden:transducer-11 (HAProxy CVE-2023-40225)',
    send: post(['Content-Length: ', `Content-Length: ${len(SMUGGLED)}`], SMUGGLED),
    expect: refuse(400),
  },
  { id: 'cl-trailing-letter', source: 'garden:server-29', send: post(['Content-Length: 1Z'], 'Z'), expect: refuse(400) },
  { id: 'cl-underscore', source: 'garden:server-10', send: post(['Content-Length: +1_0'], '0123456789'), expect: refuse(400) },
  { id: 'cl-list-zero-first', source: 'psSmuggler:CL-commaprefix', send: post(['Content-Length: 0, 5'], 'hello'), expect: refuse(400) },
  { id: 'cl-list-zero-last', source: 'psSmuggler:CL-commasuffix', send: post(['Content-Length: 5, 0'], 'hello'), expect: refuse(400) },
  {
    id: 'cl-list-equal',
    source: 'issue:"Content-Length: 5, 5" (rfc9110:8.6)',
    why: 'one length: forwarded as ONE "Content-Length: 5" line, or refused — never "5, 5"',
    send: post(['Content-Length: 5, 5'], 'hello'),
    expect: [...refuse(400), forwards([req('POST', '/', [H, ['Content-Length', '5']], 'hello')], { closed: 'either' })],
  },
  {
    id: 'cl-two-equal-lines',
    source: 'issue:"two equal Content-Length lines" (rfc9110:8.6)',
    send: post(['Content-Length: 5', 'Content-Length: 5'], 'hello'),
    expect: [...refuse(400), forwards([req('POST', '/', [H, ['Content-Length', '5']], 'hello')], { closed: 'either' })],
  },
  { id: 'cl-two-lines-first-larger', source: 'garden:server-23', send: post(['Content-Length: 1', 'Content-Length: 0'], 'Z'), expect: refuse(400) },
  { id: 'cl-two-lines-last-larger', source: 'garden:server-33', send: post(['Content-Length: 0', 'Content-Length: 1'], 'Z'), expect: refuse(400) },
  {
    id: 'cl-two-lines-smuggle',
    source: 'garden:transducer-22',
    send: post(['Content-Length: 0', `Content-Length: ${len(SMUGGLED)}`], SMUGGLED),
    expect: refuse(400),
  },
  { id: 'cl-overflow', source: 'rfc9112:6.3', send: post(['Content-Length: 99999999999999999999'], 'hello'), expect: refuse(400, 413) },
  { id: 'cl-space-before-colon', source: 'garden:server-3', send: post([`Content-Length : ${len(SMUGGLED)}`], SMUGGLED), expect: refuse(400) },
  { id: 'cl-name-nel-suffix', source: 'garden:server-20', send: post(['Content-Length\x85: 10'], '0123456789'), expect: refuse(400) },
  {
    id: 'cl-tab-before-first-field',
    source: 'garden:server-4',
    send: head('GET / HTTP/1.1', '\tContent-Length: 1', HOSTLINE) + 'X',
    expect: refuse(400),
  },
  { id: 'cl-without-colon', source: 'garden:server-28', send: post(['Content-Length 10'], '0123456789'), expect: refuse(400) },
  { id: 'cl-vertical-tab', source: 'issue:"odd whitespace"', send: post(['Content-Length:\x0b5'], 'hello'), expect: refuse(400) },
  { id: 'cl-nbsp', source: 'issue:"odd whitespace" (garden:server-12)', send: post(['Content-Length: \xa05'], 'hello'), expect: refuse(400) },
  {
    id: 'cl-ows-around',
    source: 'rfc9112:5.1 (issue:" 5 ")',
    why: 'SP/HTAB around a value are OWS: forwarded as "Content-Length: 5", or refused',
    send: post(['Content-Length:\t 5 \t'], 'hello'),
    expect: [...refuse(400), forwards([req('POST', '/', [H, ['Content-Length', '5']], 'hello')], { closed: 'either' })],
  },
  { id: 'cl-invalid-field-before', source: 'psSmuggler:CL-error', send: post(['X-Invalid Y: ', 'Content-Length: 5'], 'hello'), expect: refuse(400) },

  // --- chunked body grammar (the head may have gone ahead; never a whole request)
  {
    id: 'chunk-size-underscore',
    source: 'garden:server-1 (server-22)',
    send: post(['Transfer-Encoding: chunked'], '0_2e\r\n\r\n' + head('GET / HTTP/1.1', HOSTLINE, 'Content-Length: 5') + '0\r\n\r\n'),
    expect: refuseAfterHead(400),
  },
  { id: 'chunk-size-not-hex', source: 'garden:transducer-2', send: post(['Transfer-Encoding: chunked'], 'Z\r\nZZ\r\nZZZ\r\n\r\n'), expect: refuseAfterHead(400) },
  { id: 'chunk-size-trailing-junk', source: 'garden:transducer-7', send: post(['Transfer-Encoding: chunked'], '1these-bytes-never-get-validated\r\nZ\r\n0\r\n\r\n'), expect: refuseAfterHead(400) },
  {
    id: 'chunk-size-bare-cr',
    source: 'garden:server-31',
    send: post(['Transfer-Encoding: chunked'], '5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n' + head('GET / HTTP/1.1', HOSTLINE, 'Content-Length: 5') + '0\r\n\r\n'),
    expect: refuseAfterHead(400),
  },
  {
    id: 'chunk-ext-bare-cr',
    source: 'garden:transducer-3 (server-36)',
    send: post(['Transfer-Encoding: chunked'], '2\r\r;a\r\n02\r\n41\r\n0\r\n\r\n' + SMUGGLED),
    expect: refuseAfterHead(400),
  },
  { id: 'chunk-size-sign-and-0x', source: 'garden:transducer-19', send: post(['Transfer-Encoding: chunked'], '-0x0\r\n\r\n'), expect: refuseAfterHead(400) },
  { id: 'chunk-size-leading-spaces', source: 'garden:transducer-24', send: post(['Transfer-Encoding: chunked'], '           0\r\n\r\n'), expect: refuseAfterHead(400) },
  { id: 'chunk-data-bare-lf', source: 'garden:transducer-13', send: post(['Transfer-Encoding: chunked'], 'a\r\n0123456789\n0\r\n\r\n'), expect: refuseAfterHead(400) },
  { id: 'chunk-size-empty', source: 'garden:server-17', send: post(['Transfer-Encoding: chunked'], '\r\n\r\n'), expect: refuseAfterHead(400) },
  { id: 'chunk-size-line-bare-cr', source: 'garden:transducer-4', send: post(['Transfer-Encoding: chunked'], '1\r0\n'), expect: refuseAfterHead(400) },
  { id: 'chunk-invalid-then-request', source: 'garden:server-47', send: post(['Transfer-Encoding: chunked'], 'INVALID!!!\r\n' + SMUGGLED), expect: refuseAfterHead(400) },
  {
    id: 'chunk-extra-crlf-before-last',
    source: 'garden:transducer-17',
    send: post(['Transfer-Encoding: chunked'], '17\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\n\r\n0\r\n\r\n'),
    expect: refuseAfterHead(400),
  },
  { id: 'chunk-size-overflow', source: 'rfc9112:7.1', send: post(['Transfer-Encoding: chunked'], 'ffffffffffffffffffff\r\nZ\r\n0\r\n\r\n'), expect: refuseAfterHead(400, 413) },
  { id: 'chunk-data-without-crlf', source: 'rfc9112:7.1', send: post(['Transfer-Encoding: chunked'], '5\r\nhelloX0\r\n\r\n'), expect: refuseAfterHead(400) },
  {
    id: 'chunk-trailer-that-looks-like-a-request-line',
    source: 'garden:server-39',
    why: 'a valid trailer field "X: POST / HTTP/1.1": one request, nothing after it',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Transfer-Encoding: chunked') + '0\r\nX:POST / HTTP/1.1\r\n\r\n',
    expect: forwards([req('GET', '/', [H, FRAMING], '')]),
  },

  // --- head syntax: line endings, folding, control bytes, names, the request line
  { id: 'obs-fold', source: 'rfc9112:5.2', send: head('GET / HTTP/1.1', HOSTLINE, 'X-A: a', ' b'), expect: refuse(400) },
  { id: 'bare-lf-line-endings', source: 'garden:transducer-16', send: 'GET / HTTP/1.1\nHost: app.test\nConnection: close\n\n', expect: refuse(400) },
  { id: 'bare-cr-in-value', source: 'garden:server-34 (transducer-10)', send: head('GET / HTTP/1.1', HOSTLINE, 'Header: va\rlue'), expect: refuse(400) },
  { id: 'bare-cr-splits-field', source: 'garden:server-13', send: head('GET / HTTP/1.1', HOSTLINE, 'Visible: :/\rSmuggled: :)'), expect: refuse(400) },
  { id: 'nul-in-host', source: 'garden:transducer-12', send: head('GET / HTTP/1.1', 'Host: app.test\x00.evil.test'), expect: refuse(400) },
  { id: 'nul-in-value', source: 'garden:server-35', send: head('GET / HTTP/1.1', HOSTLINE, 'Test: test\x00THESE BYTES GET DROPPED', 'Connection: close'), expect: refuse(400) },
  { id: 'nul-ends-value', source: 'garden:server-43', send: head('GET / HTTP/1.1', HOSTLINE, 'Evil: evil\x00'), expect: refuse(400) },
  { id: 'nul-field-line', source: 'garden:transducer-20', send: head('GET / HTTP/1.1', HOSTLINE, 'a:b', 'c\x00'), expect: refuse(400) },
  { id: 'lf-inside-name', source: 'garden:transducer-14', send: head('GET / HTTP/1.1', HOSTLINE, 'Te\nst: test', 'Connection: close'), expect: refuse(400) },
  { id: 'cr-then-byte-after-fields', source: 'garden:server-30', send: `GET / HTTP/1.1\r\n${HOSTLINE}\r\n\rZGET /evil: HTTP/1.1\r\n${HOSTLINE}\r\n\r\n`, expect: refuse(400) },
  { id: 'empty-field-name', source: 'garden:server-18', send: head('GET / HTTP/1.1', ': ignored', HOSTLINE), expect: refuse(400) },
  { id: 'empty-field-line', source: 'garden:server-27', send: head('GET / HTTP/1.1', HOSTLINE, ':', 'I: am chopped off'), expect: refuse(400) },
  { id: 'name-continued-on-next-line', source: 'garden:server-37', send: post(['Transfer-', 'Encoding: chunked', 'Content-Length: 5'], '0\r\n\r\n'), expect: refuse(400) },
  { id: 'name-obs-text-prefix', source: 'garden:server-8', send: head('GET / HTTP/1.1', HOSTLINE, '\xefoo: bar'), expect: refuse(400) },
  { id: 'name-obs-text-suffix', source: 'garden:transducer-6', send: head('GET / HTTP/1.1', HOSTLINE, 'Header\x85: value'), expect: refuse(400) },
  { id: 'name-control-bytes', source: 'garden:server-14', send: head('GET / HTTP/1.1', HOSTLINE, '\x01\x02\x03 "(),/;<=>?@[/]{}: whatever'), expect: refuse(400) },
  { id: 'whitespace-before-colon', source: 'rfc9112:5.1', send: head('GET / HTTP/1.1', HOSTLINE, 'X-A : b'), expect: refuse(400) },
  { id: 'request-line-bare-lf', source: 'garden:server-9', send: 'GET /\nHTTP/1.1\r\n' + HOSTLINE + '\r\n\r\n', expect: refuse(400) },
  { id: 'version-with-cr', source: 'garden:server-15', send: `GET / HTTP/\r\r1.1\r\n${HOSTLINE}\r\n\r\n`, expect: refuse(400) },
  { id: 'version-1-32', source: 'garden:server-5', send: head('GET /test HTTP/1.32', HOSTLINE), expect: refuse(400, 505) },
  { id: 'version-overflow', source: 'garden:server-24', send: head('GET / HTTP/4294967295.255', HOSTLINE), expect: refuse(400, 505) },
  {
    id: 'method-not-a-token',
    source: 'garden:server-6',
    why: 'not HTTP at all: 400, or closed without an answer — never forwarded',
    send: head('G=":<>(e),[T];?" /get HTTP/1.1', HOSTLINE),
    expect: [...refuse(400), { statuses: [], closed: true, backends: {} }],
  },
  {
    id: 'method-nul',
    source: 'garden:server-40',
    send: '\x00 / HTTP/............0596.7407.\r\n\r\n',
    expect: [...refuse(400), { statuses: [], closed: true, backends: {} }],
  },
  { id: 'target-not-a-uri', source: 'garden:server-7', send: head('GET ! HTTP/1.1', HOSTLINE), expect: refuse(400) },
  { id: 'request-line-double-space', source: 'rfc9112:3', send: head('GET  / HTTP/1.1', HOSTLINE), expect: refuse(400) },
];

// ---------------------------------------------------------------------------------------
// connection-header: fields listed in Connection

/** Forwarded with its framing kept (one request, body intact), or refused; never stripped. */
function keepsFraming(r: ForwardedRequest, closed: boolean | 'either' = 'either'): Outcome[] {
  return [...refuse(400), forwards([r], { closed })];
}

const CL_SMUGGLED = `Content-Length: ${len(SMUGGLED)}`;

export const CONNECTION_HEADER: Vector[] = [
  {
    id: 'connection-lists-content-length',
    source: 'psSmuggler:connection (issue)',
    why: 'stripping the listed Content-Length would forward the body as the next request',
    send: post(['Connection: Content-Length', CL_SMUGGLED], SMUGGLED),
    expect: keepsFraming(req('POST', '/', [H, ['Content-Length', String(len(SMUGGLED))]], SMUGGLED)),
  },
  {
    id: 'connection-lists-content-length-with-keep-alive',
    source: 'psSmuggler:connection (issue)',
    send: post(['Connection: keep-alive, Content-Length', CL_SMUGGLED], SMUGGLED),
    expect: keepsFraming(req('POST', '/', [H, ['Content-Length', String(len(SMUGGLED))]], SMUGGLED)),
  },
  {
    id: 'connection-lists-content-length-lowercase',
    source: 'psSmuggler:connection (issue)',
    send: post(['connection: content-length', CL_SMUGGLED], SMUGGLED),
    expect: keepsFraming(req('POST', '/', [H, ['Content-Length', String(len(SMUGGLED))]], SMUGGLED)),
  },
  {
    id: 'connection-lists-content-length-on-second-line',
    source: 'psSmuggler:connection (rfc9110:7.6.1)',
    send: post(['Connection: x-hop', 'Connection: Content-Length', CL_SMUGGLED], SMUGGLED),
    expect: keepsFraming(req('POST', '/', [H, ['Content-Length', String(len(SMUGGLED))]], SMUGGLED)),
  },
  {
    id: 'connection-close-lists-content-length',
    source: 'psSmuggler:connection (issue)',
    send: post(['Connection: close, Content-Length', CL_SMUGGLED], SMUGGLED),
    expect: [...refuse(400), forwards([req('POST', '/', [H, ['Content-Length', String(len(SMUGGLED))]], SMUGGLED)], { closed: true })],
  },
  {
    id: 'connection-lists-content-length-http10-keep-alive',
    source: 'psSmuggler:connection (issue)',
    send: head('POST / HTTP/1.0', HOSTLINE, 'Connection: keep-alive, Content-Length', CL_SMUGGLED) + SMUGGLED,
    expect: keepsFraming(req('POST', '/', [H, ['Content-Length', String(len(SMUGGLED))]], SMUGGLED)),
  },
  {
    id: 'connection-lists-transfer-encoding',
    source: 'psSmuggler:connection (issue)',
    why: 'stripping the listed Transfer-Encoding would leave the chunks (a request inside) as the next request',
    send: post(['Connection: Transfer-Encoding', 'Transfer-Encoding: chunked'], chunked(SMUGGLED)),
    expect: keepsFraming(req('POST', '/', [H, FRAMING], SMUGGLED)),
  },
  {
    id: 'connection-lists-transfer-encoding-and-content-length',
    source: 'psSmuggler:connection (issue)',
    send: post(['Connection: Transfer-Encoding, Content-Length', 'Transfer-Encoding: chunked'], chunked(SMUGGLED)),
    expect: keepsFraming(req('POST', '/', [H, FRAMING], SMUGGLED)),
  },
  {
    id: 'connection-lists-host',
    source: 'issue:"listing Host in Connection"',
    why: 'Host is never removed from a forwarded request',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Connection: Host'),
    expect: forwards([req('GET', '/', [H])]),
  },
  {
    id: 'connection-lists-host-keep-alive',
    source: 'issue:"listing Host in Connection"',
    send: head('GET / HTTP/1.1', 'Connection: keep-alive, host', HOSTLINE),
    expect: forwards([req('GET', '/', [H])]),
  },
  {
    id: 'connection-lists-custom-field',
    source: 'rfc9110:7.6.1',
    why: 'a listed end-to-end-looking field is hop-by-hop: removed; the others stay',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Connection: X-Hop', 'X-Hop: 1', 'X-Keep: 2'),
    expect: forwards([req('GET', '/', [H, ['X-Keep', '2']])]),
  },
  {
    id: 'connection-lists-x-forwarded-for',
    source: 'rfc9110:7.6.1 (psSmuggler:connection)',
    why: 'the proxy still sets its own X-Forwarded-For, exactly once',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Connection: X-Forwarded-For', 'X-Forwarded-For: 6.6.6.6'),
    expect: forwards([req('GET', '/', [H])]),
  },
  {
    id: 'hop-by-hop-fields-removed',
    source: 'rfc9110:7.6.1',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Keep-Alive: timeout=5', 'Proxy-Connection: keep-alive', 'TE: trailers', 'Upgrade: foo/1', 'X-Keep: 2'),
    expect: forwards([req('GET', '/', [H, ['X-Keep', '2']])]),
  },
];

// ---------------------------------------------------------------------------------------
// targets-and-host: absolute-form, authority-form, Host (routing bypass)

/** Refused by the proxy itself, nothing reaches any backend (public, admin or auth). */
const nowhere = refuse;

export const TARGETS_AND_HOST: Vector[] = [
  {
    id: 'control-public',
    source: 'rfc9112:3.2.1',
    send: head('GET /x HTTP/1.1', 'Host: public.test'),
    expect: forwards([req('GET', '/x', [['Host', 'public.test']])], { backend: 'public' }),
  },
  { id: 'control-admin-blocked', source: 'issue', send: head('GET / HTTP/1.1', 'Host: admin.test'), expect: nowhere(403) },
  {
    id: 'absolute-form-public-with-admin-host',
    source: 'issue:"GET http://public.test/secret with Host: admin.test" (rfc9112:3.2.2)',
    why: 'routed by the authority AND forwarded with Host: public.test (the authority replaces Host)',
    send: head('GET http://public.test/secret HTTP/1.1', 'Host: admin.test'),
    expect: forwards([req('GET', '/secret', [['Host', 'public.test']], '', { xForwardedHost: 'public.test' })], { backend: 'public' }),
  },
  {
    id: 'absolute-form-admin-with-public-host',
    source: 'issue (rfc9112:3.2.2)',
    send: head('GET http://admin.test/ HTTP/1.1', 'Host: public.test'),
    expect: nowhere(403),
  },
  {
    id: 'absolute-form-auth-with-public-host',
    source: 'issue (rfc9112:3.2.2)',
    send: head('GET http://auth.test/ HTTP/1.1', 'Host: public.test'),
    expect: nowhere(401),
  },
  {
    id: 'absolute-form-with-port',
    source: 'rfc9112:3.2.2',
    send: head('GET http://public.test:8080/x HTTP/1.1', 'Host: admin.test'),
    expect: forwards([req('GET', '/x', [['Host', 'public.test:8080']], '', { xForwardedHost: 'public.test:8080' })], { backend: 'public' }),
  },
  {
    id: 'absolute-form-uppercase',
    source: 'rfc9110:4.2.3',
    why: 'scheme and host are case-insensitive',
    send: head('GET HTTP://PUBLIC.TEST/x HTTP/1.1', 'Host: admin.test'),
    expect: forwards([req('GET', '/x', [['Host', /^public\.test$/i]], '', { xForwardedHost: /^public\.test$/i })], { backend: 'public' }),
  },
  {
    id: 'absolute-form-query-without-path',
    source: 'rfc9112:3.2.2',
    send: head('GET http://public.test?q=1 HTTP/1.1', 'Host: admin.test'),
    expect: forwards([req('GET', '/?q=1', [['Host', 'public.test']], '', { xForwardedHost: 'public.test' })], { backend: 'public' }),
  },
  { id: 'absolute-form-admin-trailing-dot', source: 'rfc9110:4.2.3', send: head('GET http://admin.test./ HTTP/1.1', 'Host: public.test'), expect: nowhere(403) },
  {
    id: 'absolute-form-at-in-path-is-not-userinfo',
    source: 'rfc9112:3.2.2',
    send: head('GET http://public.test/@admin.test HTTP/1.1', 'Host: public.test'),
    expect: forwards([req('GET', '/@admin.test', [['Host', 'public.test']])], { backend: 'public' }),
  },
  {
    id: 'absolute-form-fragment-then-at',
    source: 'rfc9112:3.2.2',
    why: 'an absolute-URI has no fragment: refused, or routed by the authority before "#" (public)',
    send: head('GET http://public.test#@admin.test/ HTTP/1.1', 'Host: public.test'),
    expect: [...nowhere(400), forwards([req('GET', '/', [['Host', 'public.test']])], { backend: 'public', closed: 'either' })],
  },
  { id: 'absolute-form-without-host-header', source: 'rfc9112:3.2', why: 'HTTP/1.1 without Host: 400, whatever the target', send: head('GET http://public.test/ HTTP/1.1'), expect: nowhere(400) },
  { id: 'absolute-form-userinfo', source: 'issue:"http://u:p@h/"', send: head('GET http://u:p@public.test/ HTTP/1.1', 'Host: public.test'), expect: nowhere(400) },
  { id: 'absolute-form-admin-userinfo-public-host', source: 'issue:userinfo', send: head('GET http://admin.test@public.test/ HTTP/1.1', 'Host: public.test'), expect: nowhere(400) },
  { id: 'absolute-form-public-userinfo-admin-host', source: 'issue:userinfo', send: head('GET http://public.test@admin.test/ HTTP/1.1', 'Host: public.test'), expect: nowhere(400) },
  { id: 'absolute-form-backslash-userinfo', source: 'issue:userinfo', why: 'a WHATWG parser reads host public.test, an RFC 3986 one admin.test: refused', send: head('GET http://public.test\\@admin.test/ HTTP/1.1', 'Host: public.test'), expect: nowhere(400) },
  { id: 'absolute-form-empty-authority', source: 'rfc9110:4.2.1', send: head('GET http:///x HTTP/1.1', 'Host: public.test'), expect: nowhere(400) },
  { id: 'absolute-form-other-scheme', source: 'rfc9112:3.2.2', send: head('GET ftp://public.test/ HTTP/1.1', 'Host: public.test'), expect: nowhere(400) },
  { id: 'host-with-userinfo', source: 'issue:"a Host with @"', send: head('GET / HTTP/1.1', 'Host: admin.test@public.test'), expect: nowhere(400) },
  { id: 'host-with-credentials', source: 'issue:"a Host with @"', send: head('GET / HTTP/1.1', 'Host: u:p@public.test'), expect: nowhere(400) },
  { id: 'connect-public', source: 'issue:"authority-form (CONNECT) is answered 405"', send: head('CONNECT public.test:80 HTTP/1.1', 'Host: public.test:80'), expect: nowhere(405) },
  { id: 'connect-admin', source: 'issue:"authority-form (CONNECT) is answered 405"', send: head('CONNECT admin.test:443 HTTP/1.1', 'Host: admin.test:443'), expect: nowhere(405) },
  { id: 'connect-ip', source: 'issue:"authority-form (CONNECT) is answered 405"', send: head('CONNECT 127.0.0.1:22 HTTP/1.1', 'Host: 127.0.0.1:22'), expect: nowhere(405) },
  { id: 'host-missing', source: 'rfc9112:3.2 (issue)', send: head('GET / HTTP/1.1'), expect: nowhere(400) },
  { id: 'host-empty', source: 'rfc9110:4.2.1', send: head('GET / HTTP/1.1', 'Host: '), expect: nowhere(400) },
  { id: 'host-twice-different', source: 'rfc9112:3.2 (issue)', send: head('GET / HTTP/1.1', 'Host: public.test', 'Host: admin.test'), expect: nowhere(400) },
  { id: 'host-twice-same', source: 'rfc9112:3.2 (issue)', send: head('GET / HTTP/1.1', 'Host: public.test', 'Host: public.test'), expect: nowhere(400) },
  { id: 'host-list', source: 'rfc9112:3.2', why: 'an invalid Host field value: 400', send: head('GET / HTTP/1.1', 'Host: public.test, admin.test'), expect: nowhere(400) },
  { id: 'host-with-space', source: 'rfc9112:3.2', send: head('GET / HTTP/1.1', 'Host: public.test admin.test'), expect: nowhere(400) },
  { id: 'host-admin-trailing-dot', source: 'rfc9110:4.2.3', why: 'the admin route still applies', send: head('GET / HTTP/1.1', 'Host: admin.test.'), expect: nowhere(403) },
  { id: 'host-admin-uppercase-with-port', source: 'rfc9110:4.2.3', send: head('GET / HTTP/1.1', 'Host: ADMIN.TEST:80'), expect: nowhere(403) },
  { id: 'asterisk-form-with-get', source: 'rfc9112:3.2.4', why: 'only OPTIONS may use "*"', send: head('GET * HTTP/1.1', 'Host: public.test'), expect: nowhere(400) },
  {
    id: 'asterisk-form-options',
    source: 'rfc9112:3.2.4',
    send: head('OPTIONS * HTTP/1.1', 'Host: public.test'),
    expect: [forwards([req('OPTIONS', '*', [['Host', 'public.test']])], { backend: 'public' }), { statuses: [200], closed: 'either', backends: {} }, { statuses: [204], closed: 'either', backends: {} }],
  },
];

// ---------------------------------------------------------------------------------------
// early-answers: a refusal never reads a body as a request

const AUTH = 'Host: auth.test';
const BASIC_OK = 'Authorization: Basic dTpw'; // u:p

export const EARLY_ANSWERS: Vector[] = [
  {
    id: 'auth-401-body-looks-like-request',
    source: 'issue:"early answers" (garden:server-48)',
    why: 'the whole body arrived: the connection may stay open, but its bytes are never a request',
    send: withBody(POST, [AUTH], SMUGGLED),
    expect: { statuses: [401], closed: 'either', backends: {} },
  },
  {
    id: 'auth-401-body-not-read',
    source: 'issue:"early answers"',
    why: 'the body did not all arrive: the proxy must close after its 401',
    send: head(POST, AUTH, 'Content-Length: 100') + SMUGGLED.slice(0, 30),
    expect: { statuses: [401], closed: true, backends: {} },
  },
  {
    id: 'auth-401-chunked-body-looks-like-request',
    source: 'issue:"early answers"',
    send: head(POST, AUTH, 'Transfer-Encoding: chunked') + chunked(SMUGGLED),
    expect: { statuses: [401], closed: 'either', backends: {} },
  },
  {
    id: 'auth-401-chunked-body-not-read',
    source: 'issue:"early answers"',
    send: head(POST, AUTH, 'Transfer-Encoding: chunked') + chunk(SMUGGLED),
    expect: { statuses: [401], closed: true, backends: {} },
  },
  {
    id: 'auth-401-expect-100-body-never-sent',
    source: 'rfc9110:10.1.1 (issue)',
    why: 'no 100 Continue for a request refused anyway; the body never came: close',
    send: head(POST, AUTH, 'Expect: 100-continue', 'Content-Length: 1000'),
    expect: { statuses: [401], closed: true, backends: {} },
  },
  {
    id: 'auth-401-then-pipelined-request',
    source: 'issue:"early answers"',
    why: 'closed after the 401, or the next (complete, legitimate) request served on its own',
    send: head('GET / HTTP/1.1', AUTH) + head('GET / HTTP/1.1', HOSTLINE),
    expect: [{ statuses: [401], closed: true, backends: {} }, forwards([req('GET', '/', [H])], { statuses: [401, 200], closed: 'either' })],
  },
  {
    id: 'auth-valid-credentials-forwarded',
    source: 'issue:"early answers" (control)',
    send: withBody(POST, [AUTH, BASIC_OK], 'hello'),
    expect: forwards([req('POST', '/', [['Host', 'auth.test'], ['Content-Length', '5']], 'hello', { optional: ['authorization'] })]),
  },
  {
    id: 'expect-unknown-417',
    source: 'issue:"417 for an unsupported Expect" (rfc9110:10.1.1)',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Expect: foo'),
    expect: { statuses: [417], closed: 'either', backends: {} },
  },
  {
    id: 'expect-unknown-417-body-looks-like-request',
    source: 'issue:"417 for an unsupported Expect"',
    send: withBody(POST, [HOSTLINE, 'Expect: x-smuggle'], SMUGGLED),
    expect: { statuses: [417], closed: 'either', backends: {} },
  },
  {
    id: 'expect-unknown-417-body-not-read',
    source: 'issue:"417 for an unsupported Expect"',
    send: head(POST, HOSTLINE, 'Expect: foo', 'Content-Length: 100') + SMUGGLED.slice(0, 30),
    expect: { statuses: [417], closed: true, backends: {} },
  },
  {
    id: 'expect-100-continue-and-more',
    source: 'issue:"anything but 100-continue"',
    send: withBody(POST, [HOSTLINE, 'Expect: 100-continue, foo'], 'hello'),
    expect: { statuses: [417], closed: 'either', backends: {} },
  },
  {
    id: 'expect-100-continue-forwarded',
    source: 'rfc9110:10.1.1 (control)',
    why: 'the proxy may answer 100 itself or leave it to the backend; the request is forwarded',
    send: withBody(POST, [HOSTLINE, 'Expect: 100-continue'], 'hello'),
    expect: [
      forwards([req('POST', '/', [H, ['Content-Length', '5']], 'hello', { optional: ['expect'] })]),
      forwards([req('POST', '/', [H, ['Content-Length', '5']], 'hello', { optional: ['expect'] })], { statuses: [100, 200] }),
    ],
  },
  {
    id: 'expect-100-continue-uppercase-forwarded',
    source: 'rfc9110:10.1.1 (case-insensitive)',
    send: withBody(POST, [HOSTLINE, 'Expect: 100-CONTINUE'], 'hello'),
    expect: [
      forwards([req('POST', '/', [H, ['Content-Length', '5']], 'hello', { optional: ['expect'] })]),
      forwards([req('POST', '/', [H, ['Content-Length', '5']], 'hello', { optional: ['expect'] })], { statuses: [100, 200] }),
    ],
  },
  {
    id: 'blocked-403-body-looks-like-request',
    source: 'issue:"early answers"',
    send: withBody(POST, ['Host: blocked.test'], SMUGGLED),
    expect: { statuses: [403], closed: 'either', backends: {} },
  },
  {
    id: 'blocked-403-body-not-read',
    source: 'issue:"early answers"',
    send: head(POST, 'Host: blocked.test', 'Content-Length: 100') + SMUGGLED.slice(0, 30),
    expect: { statuses: [403], closed: true, backends: {} },
  },
  {
    id: 'rate-limited-429-body-looks-like-request',
    source: 'issue:"early answers"',
    why: 'the first request uses the one allowed; the second is refused and its body is never a request',
    send: head('GET / HTTP/1.1', 'Host: limited.test') + withBody(POST, ['Host: limited.test'], SMUGGLED),
    expect: forwards([req('GET', '/', [['Host', 'limited.test']])], { statuses: [200, 429], closed: 'either' }),
  },
  {
    id: 'rate-limited-429-body-not-read',
    source: 'issue:"early answers"',
    send: head('GET / HTTP/1.1', 'Host: limited.test') + head(POST, 'Host: limited.test', 'Content-Length: 100') + SMUGGLED.slice(0, 30),
    expect: forwards([req('GET', '/', [['Host', 'limited.test']])], { statuses: [200, 429], closed: true }),
  },
  {
    id: 'no-route-404-body-looks-like-request',
    source: 'issue:"early answers"',
    send: withBody(POST, ['Host: nowhere.test'], SMUGGLED),
    expect: { statuses: [404], closed: 'either', backends: {} },
  },
  {
    id: 'no-route-404-body-not-read',
    source: 'issue:"early answers"',
    send: head(POST, 'Host: nowhere.test', 'Content-Length: 100') + SMUGGLED.slice(0, 30),
    expect: { statuses: [404], closed: true, backends: {} },
  },
];

// ---------------------------------------------------------------------------------------
// responses: what the client may get from a backend's response

const GET_ROOT = head('GET / HTTP/1.1', HOSTLINE);
const GET10 = head('GET / HTTP/1.0', HOSTLINE);
const fwdGet = (target = '/'): ForwardedRequest => req('GET', target, [H]);
const reply = (s: string) => (): string => s;
const WS_REQUEST = head('GET /ws HTTP/1.1', HOSTLINE, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13');
const fwdWs = req('GET', '/ws', [H, ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']], '', { optional: ['connection', 'upgrade'] });

/** The final response's body and framing lines. */
function bodyIs(i: number, body: string, rules: { noTe?: boolean; notBoth?: boolean } = {}) {
  return (o: Observed): void => {
    const r = finalResponse(o, i);
    assert.equal(r.body.toString('latin1'), body, `${o.vector.id}: body of response ${i + 1}: ${show(o.clientBytes)}`);
    const cl = header(r.headers, 'content-length');
    const te = header(r.headers, 'transfer-encoding');
    if (rules.notBoth) assert.ok(!(cl.length > 0 && te.length > 0), `${o.vector.id}: Content-Length and Transfer-Encoding both reached the client: ${show(r.head)}`);
    if (rules.noTe) assert.equal(te.length, 0, `${o.vector.id}: Transfer-Encoding reached an HTTP/1.0 client: ${show(r.head)}`);
  };
}

/** `not` never appears in what the client got. */
function never(not: string, then?: (o: Observed) => void) {
  return (o: Observed): void => {
    assert.ok(!o.clientBytes.toString('latin1').includes(not), `${o.vector.id}: ${JSON.stringify(not)} reached the client: ${show(o.clientBytes)}`);
    then?.(o);
  };
}

/** Answers by target: `first` for the first request, the fixed 200 "ok" for the others. */
function firstThenOk(first: string) {
  return (r: { target: string; method: string }, i: number): string =>
    i === 0 ? first : 'HTTP/1.1 200 OK\r\nX-Backend: recorder\r\nContent-Length: 2\r\n\r\nok';
}

export const RESPONSES: Vector[] = [
  {
    id: 'control-chunked-response',
    source: 'rfc9112:7.1',
    send: GET_ROOT,
    respond: reply('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: forwards([fwdGet()]),
    check: bodyIs(0, 'hello'),
  },
  {
    id: 'cl-and-te-response',
    source: 'rfc9112:6.3 (issue)',
    why: 'chunked framing wins; the Content-Length must not reach the client',
    send: GET_ROOT,
    respond: reply('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: forwards([fwdGet()], { closed: 'either' }),
    check: bodyIs(0, 'hello', { notBoth: true }),
  },
  {
    id: 'te-and-cl-response',
    source: 'rfc9112:6.3 (issue)',
    send: GET_ROOT,
    respond: reply('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: forwards([fwdGet()], { closed: 'either' }),
    check: bodyIs(0, 'hello', { notBoth: true }),
  },
  {
    id: 'chunked-response-to-http10',
    source: 'rfc9112:7 (issue)',
    why: 'an HTTP/1.0 client cannot read chunked: identity body, close-delimited or with a length',
    send: GET10,
    respond: reply('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: forwards([fwdGet()], { closed: true }),
    check: bodyIs(0, 'hello', { noTe: true }),
  },
  {
    id: 'chunked-response-to-http10-keep-alive',
    source: 'rfc9112:7 (issue)',
    send: head('GET / HTTP/1.0', HOSTLINE, 'Connection: keep-alive'),
    respond: reply('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: forwards([fwdGet()], { closed: 'either' }),
    check: bodyIs(0, 'hello', { noTe: true }),
  },
  {
    id: 'cl-and-te-response-to-http10',
    source: 'rfc9112:6.3 (issue)',
    send: GET10,
    respond: reply('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: forwards([fwdGet()], { closed: true }),
    check: bodyIs(0, 'hello', { noTe: true, notBoth: true }),
  },
  {
    id: '204-with-body',
    source: 'rfc9110:15.3.5 (issue)',
    why: 'a 204 has no body: its bytes never reach the client, nor become the next response',
    send: head('GET /1 HTTP/1.1', HOSTLINE) + head('GET /2 HTTP/1.1', HOSTLINE),
    respond: firstThenOk('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello'),
    expect: forwards([fwdGet('/1'), fwdGet('/2')], { statuses: [204, 200] }),
    check: never('hello', bodyIs(1, 'ok')),
  },
  {
    id: '204-with-chunked-body',
    source: 'rfc9110:15.3.5 (issue)',
    send: head('GET /1 HTTP/1.1', HOSTLINE) + head('GET /2 HTTP/1.1', HOSTLINE),
    respond: firstThenOk('HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    expect: forwards([fwdGet('/1'), fwdGet('/2')], { statuses: [204, 200] }),
    check: never('hello', bodyIs(1, 'ok')),
  },
  {
    id: '304-with-body',
    source: 'rfc9110:15.4.5 (issue)',
    send: head('GET /1 HTTP/1.1', HOSTLINE) + head('GET /2 HTTP/1.1', HOSTLINE),
    respond: firstThenOk('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello'),
    expect: forwards([fwdGet('/1'), fwdGet('/2')], { statuses: [304, 200] }),
    check: never('hello', bodyIs(1, 'ok')),
  },
  {
    id: 'head-response-with-body',
    source: 'rfc9110:9.3.2 (issue)',
    send: head('HEAD /1 HTTP/1.1', HOSTLINE) + head('GET /2 HTTP/1.1', HOSTLINE),
    respond: firstThenOk('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'),
    expect: forwards([req('HEAD', '/1', [H]), fwdGet('/2')], { statuses: [200, 200] }),
    check: never('hello', bodyIs(1, 'ok')),
  },
  {
    id: 'head-response-chunked',
    source: 'rfc9110:9.3.2 (issue)',
    send: head('HEAD /1 HTTP/1.1', HOSTLINE) + head('GET /2 HTTP/1.1', HOSTLINE),
    respond: firstThenOk('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
    expect: forwards([req('HEAD', '/1', [H]), fwdGet('/2')], { statuses: [200, 200] }),
    check: bodyIs(1, 'ok'),
  },
  {
    id: '100-then-200',
    source: 'rfc9110:15.2',
    send: GET_ROOT,
    respond: reply('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    expect: [forwards([fwdGet()], { statuses: [100, 200] }), forwards([fwdGet()])],
    check: bodyIs(0, 'ok'),
  },
  {
    id: '103-with-content-length-has-no-body',
    source: 'rfc9110:15.2 (issue:"1xx carry no body")',
    send: GET_ROOT,
    respond: reply('HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    expect: [forwards([fwdGet()], { statuses: [103, 200] }), forwards([fwdGet()])],
    check: bodyIs(0, 'ok'),
  },
  {
    id: '1xx-never-to-http10-client',
    source: 'rfc9110:15.2',
    why: '"a server MUST NOT send a 1xx response to an HTTP/1.0 client"',
    send: GET10,
    respond: reply('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    expect: forwards([fwdGet()], { closed: true }),
    check: bodyIs(0, 'ok'),
  },
  {
    id: 'unsolicited-101',
    source: 'issue:"an unsolicited 101 becomes 502"',
    send: GET_ROOT,
    respond: reply('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
    expect: { statuses: [502], closed: true, backends: { app: [fwdGet()] } },
  },
  {
    id: '101-with-other-upgrade-token',
    source: 'issue:"a 101 whose Upgrade token does not match"',
    send: WS_REQUEST,
    respond: reply('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'),
    expect: { statuses: [502], closed: true, backends: { app: [fwdWs] } },
  },
  {
    id: '101-without-upgrade-field',
    source: 'rfc9110:15.2.2 (issue)',
    why: 'a 101 MUST carry the Upgrade it switches to; without it, it matches nothing asked for',
    send: WS_REQUEST,
    respond: reply('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n'),
    expect: { statuses: [502], closed: true, backends: { app: [fwdWs] } },
  },
  {
    id: '101-matching-websocket',
    source: 'rfc9110:15.2.2 (control)',
    send: WS_REQUEST,
    respond: reply('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'),
    expect: { statuses: [101], closed: false, backends: { app: [fwdWs] } },
    check: (o) => assert.deepEqual(header(o.responses[0]!.headers, 'upgrade').map((v) => v.toLowerCase()), ['websocket'], `${o.vector.id}: ${show(o.clientBytes)}`),
  },
  {
    id: '101-to-an-upgrade-not-passed-on',
    source: 'issue:"a 101 whose Upgrade token does not match"',
    why: 'a 101 reaches the client only for the upgrade the backend was asked for',
    send: head('GET / HTTP/1.1', HOSTLINE, 'Connection: Upgrade', 'Upgrade: h2c'),
    respond: reply('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'),
    expect: [
      { statuses: [502], closed: true, backends: { app: [req('GET', '/', [H], '', { optional: ['connection', 'upgrade'] })] } },
      { statuses: [101], closed: false, backends: { app: [req('GET', '/', [H], '', { optional: ['connection', 'upgrade'] })] } },
    ],
    check: (o) => {
      if (o.statuses[0] === 101) {
        assert.deepEqual(header(o.backends.app!.requests[0]!.headers, 'upgrade'), ['h2c'], `${o.vector.id}: a 101 reached the client for an upgrade the backend was not asked for`);
      }
    },
  },
  { id: 'response-two-lengths', source: 'rfc9112:6.3', send: GET_ROOT, respond: reply('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello'), expect: { statuses: [502], closed: true, backends: { app: [fwdGet()] } } },
  { id: 'response-length-plus', source: 'psSmuggler:CL-plus (rfc9112:6.3)', send: GET_ROOT, respond: reply('HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok'), expect: { statuses: [502], closed: true, backends: { app: [fwdGet()] } } },
  { id: 'response-bare-lf', source: 'garden:transducer-16', send: GET_ROOT, respond: reply('HTTP/1.1 200 OK\nContent-Length: 2\n\nok'), expect: { statuses: [502], closed: true, backends: { app: [fwdGet()] } } },
  { id: 'response-nul-in-value', source: 'garden:transducer-12', send: GET_ROOT, respond: reply('HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok'), expect: { statuses: [502], closed: true, backends: { app: [fwdGet()] } } },
  { id: 'response-chunked-twice', source: 'garden:transducer-25', send: GET_ROOT, respond: reply('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'), expect: { statuses: [502], closed: true, backends: { app: [fwdGet()] } } },
  {
    id: 'response-obs-fold',
    source: 'rfc9112:5.2',
    why: 'a proxy refuses obs-fold in a response or replaces it with SP (the client reader refuses a fold)',
    send: GET_ROOT,
    respond: reply('HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok'),
    expect: [{ statuses: [502], closed: true, backends: { app: [fwdGet()] } }, forwards([fwdGet()], { closed: 'either' })],
  },
  {
    id: 'response-gzip-coding-close-delimited',
    source: 'rfc9112:6.3',
    why: 'Transfer-Encoding without chunked last: the body ends when the backend closes',
    send: GET_ROOT,
    respond: () => ({ data: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabcdef', end: true }),
    expect: forwards([fwdGet()], { closed: true }),
    check: bodyIs(0, 'abcdef'),
  },
  {
    id: 'response-without-framing-close-delimited',
    source: 'rfc9112:6.3',
    send: GET_ROOT,
    respond: () => ({ data: 'HTTP/1.1 200 OK\r\n\r\nabcdef', end: true }),
    expect: forwards([fwdGet()], { closed: true }),
    check: bodyIs(0, 'abcdef'),
  },
];

// ---------------------------------------------------------------------------------------
// header-injection: rules and templates never put CR, LF or NUL into a head

/** The request header rules of the header-injection route (every template variable a client controls). */
export const REQUEST_RULES = { 'X-Path': '{path}', 'X-Query': '{query}', 'X-Url': '{url}', 'X-Host': '{host}', 'X-Domain': '{domain}', 'X-Method': '{method}' };
export const RESPONSE_RULES = { 'X-Res-Path': '{path}', 'X-Res-Url': '{url}', 'X-Res-Host': '{host}' };

function ruled(method: string, target: string, vars: { path: string; query: string; url: string; host?: string | RegExp; domain?: string | RegExp }): ForwardedRequest {
  const host = vars.host ?? HOST;
  return req(method, target, [
    ['Host', host],
    ['X-Path', vars.path],
    ['X-Query', vars.query],
    ['X-Url', vars.url],
    ['X-Host', host],
    ['X-Domain', vars.domain ?? HOST],
    ['X-Method', method],
  ]);
}

/** The client's response carries the response rules with these values, and no `X-Injected` anywhere. */
function responseRules(path: string, url: string) {
  return (o: Observed): void => {
    const r = finalResponse(o);
    assert.deepEqual(header(r.headers, 'x-res-path'), [path], `${o.vector.id}: X-Res-Path: ${show(r.head)}`);
    assert.deepEqual(header(r.headers, 'x-res-url'), [url], `${o.vector.id}: X-Res-Url: ${show(r.head)}`);
    assert.equal(header(r.headers, 'x-injected').length, 0, `${o.vector.id}: an injected response field: ${show(r.head)}`);
  };
}

/** A config-level rule: refused by validation, or the value reaches the backend without CR/LF/NUL. */
function staticRule(name: string, value: string): Pick<Vector, 'routes' | 'expect' | 'send'> {
  return {
    send: head('GET / HTTP/1.1', HOSTLINE),
    routes: ({ port, backends }) => [
      { name: 'app', match: { ports: port, domains: '*' }, action: { type: 'forward', target: { host: '127.0.0.1', port: backends.app! }, headers: { request: { [name]: value } } } },
    ],
    expect: [
      { statuses: [], closed: 'either', configError: true },
      forwards([req('GET', '/', [H], '', { optional: [name.toLowerCase(), 'x-injected'] })]),
    ],
  };
}

function noInjectedField(o: Observed): void {
  for (const r of o.backends.app?.requests ?? []) {
    assert.equal(header(r.headers, 'x-injected').length, 0, `${o.vector.id}: an injected request field reached the backend: ${show(r.head)}`);
    assert.ok(!/[\r\n\0]/.test(r.headers.map(([n, v]) => n + v).join('')), `${o.vector.id}: CR/LF/NUL in a forwarded field`);
  }
}

export const HEADER_INJECTION: Vector[] = [
  {
    id: 'path-encoded-crlf',
    source: 'issue:"%0d%0a stays percent-encoded"',
    send: head('GET /a%0d%0aX-Injected:%20yes HTTP/1.1', HOSTLINE),
    expect: forwards([ruled('GET', '/a%0d%0aX-Injected:%20yes', { path: '/a%0d%0aX-Injected:%20yes', query: '', url: '/a%0d%0aX-Injected:%20yes' })]),
    check: responseRules('/a%0d%0aX-Injected:%20yes', '/a%0d%0aX-Injected:%20yes'),
  },
  {
    id: 'path-encoded-lf',
    source: 'issue:"%0d%0a stays percent-encoded"',
    send: head('GET /a%0aX-Injected:1 HTTP/1.1', HOSTLINE),
    expect: forwards([ruled('GET', '/a%0aX-Injected:1', { path: '/a%0aX-Injected:1', query: '', url: '/a%0aX-Injected:1' })]),
    check: responseRules('/a%0aX-Injected:1', '/a%0aX-Injected:1'),
  },
  {
    id: 'path-encoded-nul',
    source: 'issue:"never NUL"',
    send: head('GET /a%00b HTTP/1.1', HOSTLINE),
    expect: forwards([ruled('GET', '/a%00b', { path: '/a%00b', query: '', url: '/a%00b' })]),
    check: responseRules('/a%00b', '/a%00b'),
  },
  {
    id: 'query-encoded-crlf',
    source: 'issue:"{query}"',
    send: head('GET /q?x=%0d%0aX-Injected:%201 HTTP/1.1', HOSTLINE),
    expect: forwards([ruled('GET', '/q?x=%0d%0aX-Injected:%201', { path: '/q', query: 'x=%0d%0aX-Injected:%201', url: '/q?x=%0d%0aX-Injected:%201' })]),
    check: responseRules('/q', '/q?x=%0d%0aX-Injected:%201'),
  },
  {
    id: 'absolute-url-encoded-crlf',
    source: 'issue:"{url}"',
    send: head('GET http://app.test/a%0d%0aX-Injected:1 HTTP/1.1', HOSTLINE),
    expect: forwards([ruled('GET', '/a%0d%0aX-Injected:1', { path: '/a%0d%0aX-Injected:1', query: '', url: 'http://app.test/a%0d%0aX-Injected:1' })]),
    check: responseRules('/a%0d%0aX-Injected:1', 'http://app.test/a%0d%0aX-Injected:1'),
  },
  {
    id: 'host-encoded-crlf',
    source: 'issue:"{host}"',
    why: 'a percent-encoded reg-name: refused, or rendered as sent (never decoded)',
    send: head('GET / HTTP/1.1', 'Host: app.test%0d%0aX-Injected:1'),
    expect: [
      ...refuse(400),
      forwards([ruled('GET', '/', { path: '/', query: '', url: '/', host: /^app\.test%0d%0ax-injected:1$/i, domain: /^app\.test%0d%0ax-injected$/i })]),
    ],
    check: noInjectedField,
  },
  { id: 'raw-cr-in-target', source: 'issue:"raw bytes never appear"', send: head('GET /a\rX-Injected: 1 HTTP/1.1', HOSTLINE), expect: refuse(400) },
  { id: 'raw-lf-in-target', source: 'issue:"raw bytes never appear"', send: head('GET /a\nX-Injected: 1 HTTP/1.1', HOSTLINE), expect: refuse(400) },
  { id: 'raw-nul-in-target', source: 'issue:"raw bytes never appear"', send: head('GET /a\x00b HTTP/1.1', HOSTLINE), expect: refuse(400) },
  { id: 'raw-obs-text-in-target', source: 'rfc9112:3.2', send: head('GET /caf\xe9 HTTP/1.1', HOSTLINE), expect: refuse(400) },
  { id: 'raw-crlf-in-host', source: 'issue:"raw bytes never appear"', send: `GET / HTTP/1.1\r\nHost: app.test\rX-Injected: 1\r\n\r\n`, expect: refuse(400) },
  { id: 'static-rule-value-crlf', source: 'issue:"header rules never produce CR, LF"', ...staticRule('X-Static', 'a\r\nX-Injected: 1'), check: noInjectedField },
  { id: 'static-rule-value-nul', source: 'issue:"header rules never produce NUL"', ...staticRule('X-Static', 'a\x00b'), check: noInjectedField },
  { id: 'static-rule-name-crlf', source: 'issue:"header rules never produce CR, LF"', ...staticRule('X-A\r\nX-Injected', '1'), check: noInjectedField },
  { id: 'template-rule-with-crlf-literal', source: 'issue:"templates never produce CR, LF"', ...staticRule('X-T', '{path}\r\nX-Injected: 1'), check: noInjectedField },
];

// ---------------------------------------------------------------------------------------
// limits: request-target 414, header section 431, chunk extensions, headersTimeout 408

const big = (n: number, c = 'a'): string => c.repeat(n);

export const LIMITS: Vector[] = [
  { id: 'target-over-limit', source: 'rfc9112:3 (issue:414)', send: head(`GET /${big(20_000)} HTTP/1.1`, HOSTLINE), expect: refuse(414) },
  { id: 'target-far-over-limit', source: 'rfc9112:3 (issue:414)', send: head(`GET /${big(70_000)} HTTP/1.1`, HOSTLINE), expect: refuse(414) },
  {
    id: 'target-4k-forwarded',
    source: 'rfc9112:3 (control)',
    send: head(`GET /${big(4000)} HTTP/1.1`, HOSTLINE),
    expect: forwards([req('GET', `/${big(4000)}`, [H])]),
  },
  { id: 'field-over-limit', source: 'rfc6585:5 (issue:431)', send: head('GET / HTTP/1.1', HOSTLINE, `X-Big: ${big(20_000)}`), expect: refuse(431) },
  { id: 'section-over-limit', source: 'rfc6585:5 (issue:431)', send: head('GET / HTTP/1.1', HOSTLINE, ...Array.from({ length: 40 }, (_, i) => `X-F${i}: ${big(1000)}`)), expect: refuse(431) },
  {
    id: 'too-many-fields',
    source: 'rfc6585:5 (issue:431)',
    why: '3000 fields in 15 KB: Node (maxHeadersCount 2000) would silently drop the ones past 2000, so the backend would see other fields than the proxy routed on',
    send: head('GET / HTTP/1.1', HOSTLINE, ...Array.from({ length: 3000 }, () => 'X:a')),
    expect: refuse(431),
  },
  {
    id: 'field-8k-forwarded',
    source: 'rfc6585:5 (control)',
    send: head('GET / HTTP/1.1', HOSTLINE, `X-Big: ${big(8000)}`),
    expect: forwards([req('GET', '/', [H, ['X-Big', big(8000)]])]),
  },
  {
    id: 'fields-100-forwarded',
    source: 'rfc6585:5 (control)',
    send: head('GET / HTTP/1.1', HOSTLINE, ...Array.from({ length: 100 }, (_, i) => `X-F${i}: v`)),
    expect: forwards([req('GET', '/', [H, ...Array.from({ length: 100 }, (_, i): ExpectedHeader => [`X-F${i}`, 'v'])])]),
  },
  {
    id: 'chunk-extension-over-limit',
    source: 'rfc9112:7.1.1',
    why: '"a server ought to limit the total length of chunk extensions ... and generate an appropriate 4xx"',
    send: post(['Transfer-Encoding: chunked'], `5;${big(20_000, 'x')}\r\nhello\r\n0\r\n\r\n`),
    expect: refuseAfterHead(400, 413, 431),
  },
  {
    id: 'trailer-over-limit',
    source: 'rfc9112:7.1.2',
    send: post(['Transfer-Encoding: chunked'], `5\r\nhello\r\n0\r\nX-T: ${big(20_000)}\r\n\r\n`),
    expect: refuseAfterHead(400, 413, 431),
  },
  {
    id: 'head-never-finished',
    source: 'issue:headersTimeout',
    options: { headersTimeout: 300 },
    send: ['GET / HTTP/1.1\r\nHost: app.test\r\n', { waitMs: 700 }],
    expect: refuse(408),
  },
  {
    id: 'head-trickled-slowloris',
    source: 'issue:headersTimeout',
    why: 'the deadline counts from the first byte, however steadily bytes keep coming',
    options: { headersTimeout: 400 },
    send: ['GET / HTTP/1.1\r\n', ...Array.from({ length: 10 }, (_, i): Piece[] => [`X-${i}: b\r\n`, { waitMs: 100 }]).flat()],
    expect: refuse(408),
  },
];
