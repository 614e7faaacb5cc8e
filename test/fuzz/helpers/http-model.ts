/** Random models of HTTP/1.x heads for the fuzz tests (independent of the parser under test). */
import fc from 'fast-check';
import { applyMutations, fastString, mutationsArb } from './fuzz.js';

/** Request methods the sniffer knows (its documented list). */
export const METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH',
  'MKCALENDAR', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'PURGE', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE',
  'LINK', 'UNLINK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'QUERY',
] as const;

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PCHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%";

export const tokenArb = fastString(TCHARS, 1, 16);
const segment = fastString(PCHARS, 0, 12);
const pathArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const queryArb = fc.option(fastString(`${PCHARS}/?`, 0, 16).map((q) => `?${q}`), { nil: '' });
const hostLabel = fastString('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-', 1, 10);
export const hostArb = fc.oneof(
  fc.array(hostLabel, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')),
  fc.ipV4(),
  fc.ipV6().map((ip) => `[${ip}]`),
);
export const authorityArb = fc.record({ host: hostArb, port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }) }).map(({ host, port }) => (port === undefined ? host : `${host}:${port}`));

/** Visible ASCII (twice as likely), SP, HTAB and obs-text (including NBSP, 0xa0: see the OWS-trim regression). */
const range = (a: number, b: number): string => String.fromCharCode(...Array.from({ length: b - a + 1 }, (_, i) => a + i));
const VALUE_CHARS = `${range(0x21, 0x7e)}${range(0x21, 0x7e)}  \t\t\x80\xa0\xc3\xe9\xff`;
const valueArb = fc
  .tuple(fastString(VALUE_CHARS, 0, 30), fc.constantFrom('', ' ', '\t', '  ', ' \t'), fc.constantFrom('', ' ', '\t', ' \t '))
  .map(([v, l, r]) => {
    const raw = `${l}${v}${r}`;
    return { raw, trimmed: raw.replace(/^[ \t]+|[ \t]+$/g, '') };
  });

export interface HeaderModel {
  name: string;
  raw: string;
  trimmed: string;
}
export const headerArb: fc.Arbitrary<HeaderModel> = fc.record({ name: tokenArb, v: valueArb }).map(({ name, v }) => ({ name, raw: v.raw, trimmed: v.trimmed }));
/** Headers other than Host (whose count matters to the sniffer). */
export const headersArb = fc.array(headerArb.filter((h) => h.name.toLowerCase() !== 'host'), { maxLength: 8 });

export interface RequestModel {
  method: string;
  target: string;
  version: '1.0' | '1.1';
  headers: HeaderModel[];
  /** Expected results of the sniffer for this head. */
  host: string | undefined;
  path: string;
  /**
   * Set when the head breaks a rule of the request-head policy (RFC 9112 3.2, 3.2.2): the
   * reason the sniffer gives for refusing it.
   */
  refused?: string;
}

/** An authority without userinfo, as isAuthority() in ts/protocol/http-head.ts accepts it. */
const AUTHORITY = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{0,5})?$/;

const mixedCase = (s: string, bits: number): string => [...s].map((c, i) => ((bits >> (i % 30)) & 1 ? c.toUpperCase() : c)).join('');

type TargetModel = { target: string; path: string; absHost?: string; connect?: boolean; userinfo?: boolean; fragmentAfterAuthority?: boolean };
const targetArb: fc.Arbitrary<TargetModel> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(pathArb, queryArb).map(([p, q]) => ({ target: `${p}${q}`, path: `${p}${q}` })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        https: fc.boolean(),
        bits: fc.nat(),
        user: fc.option(fc.constantFrom('u', 'u:p', 'a%40b:c'), { nil: undefined }),
        auth: authorityArb,
        rest: fc.oneof(fc.constant(''), fc.tuple(pathArb, queryArb).map(([p, q]) => `${p}${q}`), queryArb),
        frag: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('#', '#f', '#@evil.example', '#x/y?z@w') }),
      })
      .map(({ https, bits, user, auth, rest, frag }) => {
        const scheme = mixedCase(https ? 'https' : 'http', bits);
        const target = `${scheme}://${user === undefined ? '' : `${user}@`}${auth}${rest}${frag}`;
        // a fragment right after the authority leaves the path '/'; after a path it stays in it (as sent)
        const path = rest === '' ? '/' : `${rest.startsWith('?') ? `/${rest}` : rest}${frag}`;
        return { target, path, absHost: auth.toLowerCase(), userinfo: user !== undefined, fragmentAfterAuthority: rest === '' && frag !== '' };
      }),
  },
  { weight: 1, arbitrary: fc.constant({ target: '*', path: '*' }) },
  { weight: 1, arbitrary: authorityArb.map((a) => ({ target: a, path: a, connect: true })) },
);

export const requestModelArb: fc.Arbitrary<RequestModel> = fc
  .record({
    method: fc.constantFrom(...METHODS),
    t: targetArb,
    version: fc.constantFrom('1.0' as const, '1.1' as const),
    headers: headersArb,
    host: fc.option(fc.record({ name: fc.constantFrom('Host', 'host', 'HOST', 'hOsT'), v: fc.oneof(authorityArb.map((a) => ({ raw: a, trimmed: a })), valueArb) }), { nil: undefined }),
    hostAt: fc.nat(),
  })
  .map(({ method, t, version, headers, host, hostAt }) => {
    const hs = [...headers];
    if (host) hs.splice(hostAt % (hs.length + 1), 0, { name: host.name, raw: host.v.raw, trimmed: host.v.trimmed });
    const m = t.connect ? 'CONNECT' : method === 'CONNECT' && t.absHost === undefined ? 'GET' : method;
    const hostHeader = host === undefined || host.v.trimmed === '' ? undefined : host.v.trimmed.toLowerCase();
    const expectHost = t.absHost !== undefined ? t.absHost : m === 'CONNECT' ? (hostHeader ?? t.target.toLowerCase()) : hostHeader;
    const rawHost = host === undefined ? undefined : host.v.trimmed.toLowerCase();
    const refused =
      host === undefined && version === '1.1'
        ? 'no Host header'
        : rawHost !== undefined && !AUTHORITY.test(rawHost)
          ? 'invalid Host header'
          : t.target === '*' && m !== 'OPTIONS'
            ? "'*' target with a method other than OPTIONS"
          : t.userinfo
            ? 'userinfo in the request target'
            : t.fragmentAfterAuthority
              ? 'fragment after the authority'
              : undefined;
    return { method: m, target: t.target, version, headers: hs, host: expectHost, path: t.path, ...(refused ? { refused } : {}) };
  });

export function requestHead(m: RequestModel): string {
  return `${m.method} ${m.target} HTTP/${m.version}\r\n${m.headers.map((h) => `${h.name}:${h.raw}\r\n`).join('')}\r\n`;
}

/** Whole header lines that stress the sniffer and the framing rules, for line-level mutations. */
export const NASTY_LINES = [
  'Host: other.example',
  ' folded continuation',
  '\tfolded',
  'X:y',
  ': no-name',
  'no-colon',
  'Bad Name: v',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, gzip',
  'transfer-encoding: CHUNKED',
  'Content-Length: 5',
  'Content-Length: 5, 5',
  'Content-Length: 5, 6',
  'content-length: 0',
  'Content-Length: -1',
  'Content-Length: 1e3',
  'Content-Length: 99999999999999999999',
  'Connection: upgrade',
  'Upgrade: websocket',
  'Expect: 100-continue',
  'Transfer-Encoding: chunked\xa0',
  'Content-Length: \xa05',
  'Content-Length: 5,\xa05',
  'X-NBSP:\xa0v\xa0',
  '',
  'X-Long: ' + 'a'.repeat(300),
];

export interface LineOp {
  kind: 'insert' | 'delete' | 'dup' | 'lf' | 'cr';
  at: number;
  line: number;
}
export const lineOpArb: fc.Arbitrary<LineOp> = fc.record({ kind: fc.constantFrom('insert' as const, 'insert' as const, 'delete' as const, 'dup' as const, 'lf' as const, 'cr' as const), at: fc.nat(), line: fc.nat() });

/** Applies line-level edits to the header lines of a head (between the first line and the blank line). */
export function applyLineOps(head: string, ops: readonly LineOp[]): string {
  const lines = head.slice(0, -4).split('\r\n');
  const seps = lines.map(() => '\r\n');
  for (const op of ops) {
    const at = 1 + (op.at % lines.length);
    if (op.kind === 'insert') {
      lines.splice(at, 0, NASTY_LINES[op.line % NASTY_LINES.length]!);
      seps.splice(at, 0, '\r\n');
    } else if (op.kind === 'delete' && lines.length > 1 && at < lines.length) {
      lines.splice(at, 1);
      seps.splice(at, 1);
    } else if (op.kind === 'dup' && at < lines.length) {
      lines.splice(at, 0, lines[at]!);
      seps.splice(at, 0, '\r\n');
    } else if (op.kind === 'lf') seps[(op.at % seps.length)] = '\n';
    else if (op.kind === 'cr') seps[(op.at % seps.length)] = '\r';
  }
  return `${lines.map((l, i) => `${l}${seps[i]}`).join('')}\r\n`;
}

export interface ResponseModel {
  version: '1.0' | '1.1';
  status: number;
  /** undefined: status line without the space and reason. */
  reason: string | undefined;
  headers: HeaderModel[];
}


export const responseModelArb: fc.Arbitrary<ResponseModel> = fc.record({
  version: fc.constantFrom('1.0' as const, '1.1' as const),
  status: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(100, 101, 200, 204, 206, 301, 304, 400, 404, 500, 502) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 999 }) }),
  reason: fc.option(fc.oneof(fc.constantFrom('OK', 'Not Found', 'Switching Protocols', ''), fastString(`${range(0x20, 0x7e)}${range(0x20, 0x7e)}\t\x80\xa0\xe9\xff`, 0, 30)), { nil: undefined }),
  headers: fc.array(headerArb, { maxLength: 8 }),
});

export function responseHead(m: ResponseModel): string {
  const status = String(m.status).padStart(3, '0');
  return `HTTP/${m.version} ${status}${m.reason === undefined ? '' : ` ${m.reason}`}\r\n${m.headers.map((h) => `${h.name}:${h.raw}\r\n`).join('')}\r\n`;
}

/**
 * Near-valid heads from a model: the rendered head (with a trailing body) under up to three byte
 * mutations, or under one to three line operations and at most one mutation.
 */
export function mutatedHeadArb<M>(model: fc.Arbitrary<M>, render: (m: M) => string, body: fc.Arbitrary<Buffer>, interesting: readonly number[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.record({ m: model, muts: mutationsArb(3, interesting), body }).map(({ m, muts, body }) => applyMutations(Buffer.concat([Buffer.from(render(m), 'latin1'), body]), muts)),
    fc.record({ m: model, ops: fc.array(lineOpArb, { minLength: 1, maxLength: 3 }), muts: fc.option(mutationsArb(1, interesting), { nil: undefined }) }).map(({ m, ops, muts }) => {
      const b = Buffer.from(applyLineOps(render(m), ops), 'latin1');
      return muts ? applyMutations(b, muts) : b;
    }),
  );
}
