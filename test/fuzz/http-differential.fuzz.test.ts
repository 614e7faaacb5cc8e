/**
 * Differential fuzz test of the proxy's request-head handling against llhttp, Node's own HTTP
 * parser (helpers/llhttp-oracle.ts: the parser class node:http uses, driven on buffers, strict).
 *
 * Inputs (> 100,000 per run): valid requests (the shared request model plus framing headers and
 * a body), near-valid ones (one rule of RFC 9112 / 9110 bent: whitespace, duplicate or
 * comma-joined Content-Length, Transfer-Encoding variants, obs-fold, bare CR/LF, NUL and other
 * controls, absolute-form, CONNECT, missing/duplicate Host, huge heads, HTTP versions, Connection
 * tokens, upgrades with bodies, methods, target bytes) and mutated ones (byte and line edits of
 * either); each followed by body bytes and sometimes more.
 *
 * "We" is what the HTTP engine does with those bytes: sniffHttpRequest(), then admitRequest()
 * (the request policy, routing on a catch-all route, the forwarded head), then a BodyTracker on
 * the plan's framing. "We accept" = a plan to forward; "we refuse" = not-http, invalid, or a local
 * 4xx answer from the policy.
 *
 * Properties:
 * - both accept: llhttp reads the same method, target, version and header list; its head ends
 *   where ours does; the body ends where our tracker says (or neither has seen the end yet), with
 *   the same bytes for a Content-Length body; and llhttp, parsing the head we forward plus the body
 *   bytes we relay plus a sentinel request, sees exactly one request with that body and then the
 *   sentinel (or a protocol switch we also make), with the Host we routed on;
 * - llhttp refuses (the head, or the body we would relay): we refuse too, unless the difference
 *   is one of LENIENCIES below (each justified against RFC 9112);
 * - we refuse and llhttp accepts: allowed (stricter), counted by our reason and printed.
 *
 * Every disagreement is collected by class; at the end each failing class is reported with a
 * minimised input (JSON and hex), our verdict and llhttp's, and the test fails. FUZZ_SEED replays
 * the run (helpers/fuzz.ts), FUZZ_SCALE scales it, FUZZ_TIME_LIMIT_MS bounds each property.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sniffHttpRequest, type HttpSniffResult } from '../../ts/protocol/http-head.js';
import { BodyTracker } from '../../ts/protocol/http-framing.js';
import { judgeRequest } from '../../ts/protocol/request-policy.js';
import { admitRequest, type RequestPlan } from '../../ts/engines/http/request-admission.js';
import { compileRoutes } from '../../ts/routing/index.js';
import type { Services } from '../../ts/engines/services.js';
import type { ConnectionRecord } from '../../ts/connection/connection-record.js';
import { FUZZ_SEED, check, hex, runs } from './helpers/fuzz.js';
import { llhttpRequests, type LlMessage, type LlRun } from './helpers/llhttp-oracle.js';
import { mutatedRequestArb, nearValidArb, validRequestArb } from './helpers/http-differential-model.js';

type OkHead = Extract<HttpSniffResult, { kind: 'ok' }>;

// ---------- the proxy side: parser, admission on a catch-all route, body tracker ----------

const PORT = 8080;
const table = compileRoutes([{ name: 'all', match: { ports: PORT }, action: { type: 'forward', target: { host: '127.0.0.1', port: 9 } } }]);
const noop = (): void => {};
const services = {
  table: () => table,
  events: { protocolError: noop, routeMiss: noop, requestServed: noop, opened: noop },
  cm: { admitRoute: () => undefined, reportRefusal: noop },
  clock: { now: () => 1_000_000 },
  logger: { warn: noop, info: noop, debug: noop, error: noop },
  proxyIPs: undefined,
} as unknown as Services;
const record = { localPort: PORT, destPort: PORT, clientIp: '192.0.2.1', clientPort: 40000, destIp: '192.0.2.2', idText: 'fuzz', facts: undefined } as unknown as ConnectionRecord;

type Ours =
  | { kind: 'need-more' }
  | { kind: 'refuse'; stage: 'not-http' | 'head' | 'policy'; reason: string }
  | { kind: 'accept'; r: OkHead; plan: RequestPlan };

function ours(buf: Buffer): Ours {
  let r: HttpSniffResult;
  try {
    r = sniffHttpRequest(buf);
  } catch (err) {
    throw new Error(`sniffHttpRequest threw on ${hex(buf)}: ${String(err)}`);
  }
  if (r.kind === 'need-more') return r;
  if (r.kind === 'not-http') return { kind: 'refuse', stage: 'not-http', reason: 'not HTTP (unknown method or first bytes)' };
  if (r.kind === 'invalid') return { kind: 'refuse', stage: 'head', reason: r.reason };
  let d: ReturnType<typeof admitRequest>;
  try {
    d = admitRequest(r, record, false, services);
  } catch (err) {
    throw new Error(`admitRequest threw on ${JSON.stringify(buf.toString('latin1'))}: ${err instanceof Error ? err.stack : String(err)}`);
  }
  if ('handoff' in d) throw new Error('the catch-all route is not a socket handler');
  if ('status' in d) {
    const v = judgeRequest(r);
    return { kind: 'refuse', stage: 'policy', reason: `${d.status} ${v.ok ? d.reason : v.why}` };
  }
  return { kind: 'accept', r, plan: d };
}

// ---------- where in the input llhttp stopped ----------

const KNOWN_FIELDS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect', 'te', 'trailer']);

function byteName(c: number | undefined): string {
  if (c === undefined) return 'end of input';
  if (c === 0x09) return 'HTAB';
  if (c === 0x20) return 'SP';
  if (c === 0x0d) return 'CR';
  if (c === 0x0a) return 'LF';
  if (c === 0x00) return 'NUL';
  if (c === 0x7f) return 'DEL';
  if (c < 0x20) return 'CTL';
  if (c >= 0x80) return 'obs-text';
  if (c >= 0x30 && c <= 0x39) return 'DIGIT';
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return 'ALPHA';
  return `'${String.fromCharCode(c)}'`;
}

/** The part of a head an offset falls in: 'request line', '<field> name/value' (known fields by name), 'the head end'. */
function headPart(buf: Buffer, offset: number): string {
  let ls = offset;
  while (ls > 0 && buf[ls - 1] !== 0x0a) ls--;
  if (ls === 0) return 'request line';
  const le = buf.indexOf(0x0a, ls);
  const line = buf.toString('latin1', ls, le < 0 ? buf.length : le);
  if (line === '\r' || line === '') return 'the head end';
  const colon = line.indexOf(':');
  const name = colon < 0 ? '' : line.slice(0, colon).trim().toLowerCase();
  const field = KNOWN_FIELDS.has(name) ? name : 'a field';
  return colon < 0 || offset - ls <= colon ? `${field} name` : `${field} value`;
}

/** "<code> (<reason>) at <byte> in <part>", with the part of the head or body where llhttp stopped. */
function llError(buf: Buffer, hl: number | undefined, e: NonNullable<LlRun['error']>): string {
  if (e.code === 'HPE_HEADER_OVERFLOW') return `${e.code} (${e.reason}: over Node's 16 KiB head limit)`;
  const at = hl !== undefined && e.offset >= hl ? 'the body' : headPart(buf, e.offset);
  return `${e.code} (${e.reason}) at ${byteName(buf[e.offset])} in ${at}`;
}

/** A body error as a class: the part of a chunked body (from llhttp's reason) and llhttp's code and reason. */
function bodyError(e: NonNullable<LlRun['error']>): string {
  const part = /chunk size/i.test(e.reason)
    ? 'chunk-size line'
    : /chunk ext/i.test(e.reason)
      ? 'chunk extension'
      : e.code === 'UPGRADE_BODY_ERROR'
        ? 'an upgrade request'
        : /HEADER|CONTENT_LENGTH|TRANSFER_ENCODING/.test(e.code)
          ? 'trailer section'
          : 'body';
  return `${part}: ${e.code} (${e.reason})`;
}

// ---------- deliberate leniencies: we accept, llhttp refuses ----------

interface Leniency {
  name: string;
  /** Why this is allowed, against RFC 9112 (and 9110). */
  why: string;
  /**
   * The same request written the way llhttp takes it (an equivalent per the RFC), or undefined
   * when the leniency does not apply. The case is lenient only if llhttp accepts the rewritten
   * request with our framing (and accepts the head we forward for the original).
   */
  rewrite(head: string[]): string[] | undefined;
}

const FRAMING_LINE = /^(content-length|transfer-encoding):(.*)$/i;

/**
 * Kept short on purpose. Each entry is an equivalence RFC 9112 / 9110 grants a recipient; a case
 * counts as lenient only when llhttp accepts the rewritten request with the framing we used and
 * also accepts the head we forward, so a strict backend never sees what llhttp refused.
 */
const LENIENCIES: Leniency[] = [
  {
    name: 'HTAB as OWS around a Content-Length / Transfer-Encoding value',
    why: 'RFC 9112 5.1: field-line = field-name ":" OWS field-value OWS, OWS = *( SP / HTAB ) (RFC 9110 5.6.3), so the HTAB is not part of the value; llhttp strict takes SP there, not HTAB. The forwarded head carries the trimmed value.',
    rewrite: (lines) => {
      let changed = false;
      const out = lines.map((l, i) => {
        const m = i === 0 ? null : FRAMING_LINE.exec(l);
        if (!m || !m[2]!.includes('\t')) return l;
        const v = m[2]!;
        const lead = /^[ \t]*/.exec(v)![0];
        const trail = /[ \t]*$/.exec(v.slice(lead.length))![0];
        if (!lead.includes('\t') && !trail.includes('\t')) return l;
        changed = true;
        return `${m[1]}:${' '.repeat(lead.length)}${v.slice(lead.length, v.length - trail.length)}${' '.repeat(trail.length)}`;
      });
      return changed ? out : undefined;
    },
  },
  {
    name: 'equal Content-Length values repeated ("5, 5" or two "5" lines), forwarded as one',
    why: 'RFC 9110 8.6: a recipient MAY replace a list of identical Content-Length values with one (RFC 9112 6.3 (5) refuses differing values). The forwarded head carries one Content-Length.',
    rewrite: (lines) => {
      const idx = lines.map((l, i) => (i > 0 && /^content-length:/i.test(l) ? i : -1)).filter((i) => i > 0);
      const values = idx.flatMap((i) => lines[i]!.slice(lines[i]!.indexOf(':') + 1).split(',').map((v) => v.replace(/^[ \t]+|[ \t]+$/g, '')));
      if (values.length < 2 || !values.every((v) => v === values[0] && /^\d+$/.test(v))) return undefined;
      return lines.flatMap((l, i) => (i === idx[0] ? [`${l.slice(0, l.indexOf(':'))}: ${values[0]}`] : idx.includes(i) ? [] : [l]));
    },
  },
];

/** The input with every applicable leniency's rewrite applied to its head, and their names. */
function rewritten(buf: Buffer): { buf: Buffer; names: string[] } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  let lines = buf.toString('latin1', 0, end).split('\r\n');
  const names: string[] = [];
  for (const l of LENIENCIES) {
    const next = l.rewrite(lines);
    if (next !== undefined) {
      lines = next;
      names.push(l.name);
    }
  }
  if (names.length === 0) return undefined;
  return { buf: Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), buf.subarray(end + 4)]), names };
}

// ---------- classification ----------

type Group = 'agree' | 'stricter' | 'lenient' | 'fail' | 'skip';
interface Verdict {
  group: Group;
  cls: string;
  detail?: () => string;
}

const SENTINEL = Buffer.from('GET /__sentinel HTTP/1.1\r\nHost: sentinel.example\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const concat = (b: readonly Buffer[]): Buffer => (b.length === 0 ? EMPTY : b.length === 1 ? b[0]! : Buffer.concat(b));
/** Quoted values out of a reason, so that a reason names a class. */
const norm = (s: string): string => s.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d{4,}/g, 'N');
const clip = (s: string, n = 120): string => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);
const clipList = (l: readonly string[]): string[] => (l.length > 24 ? [...l.slice(0, 24), `… ${l.length / 2} fields`] : [...l]).map((h) => clip(h));

function showMessage(m: LlMessage | undefined): unknown {
  if (!m) return undefined;
  return { method: m.method, url: clip(m.url, 200), version: m.version, headers: clipList(m.headers), upgrade: m.upgrade, bodyBytes: concat(m.body).length, headersIn: m.headersIn, completeIn: m.completeIn };
}

function showLl(ll: LlRun, chunks: readonly Buffer[]): string {
  return JSON.stringify({ chunks: chunks.map((c) => c.length), error: ll.error, upgradedAt: ll.upgradedAt, messages: ll.messages.slice(0, 2).map(showMessage) });
}

function showOurs(o: Ours, t?: BodyTracker, end?: number): string {
  if (o.kind !== 'accept') return JSON.stringify(o);
  const { r, plan } = o;
  return JSON.stringify({ method: r.method, target: clip(r.target, 200), version: r.httpVersion, host: r.host && clip(r.host), path: clip(r.path, 200), headLength: r.headLength, headers: clipList(r.headers), framing: plan.framing, isUpgrade: plan.isUpgrade, body: t ? { done: t.done, error: t.error, end } : undefined });
}

/**
 * The request we forward (plan.head, then the body bytes our tracker relays, then a sentinel
 * request) through llhttp: one request with our request line and framing, its body, then the
 * sentinel (or a protocol switch the proxy makes too), and the Host we routed on. `llBody`: the
 * body llhttp read from the original, when it accepted it. Returns the failing class, if any.
 */
function forwardedCheck(r: OkHead, plan: RequestPlan, t: BodyTracker, end: number, body: Buffer, llBody: Buffer | undefined): { cls: string; detail: string } | undefined {
  const fhead = Buffer.from(plan.head, 'latin1');
  const fbody = t.done ? body.subarray(0, end) : body;
  const kind = plan.framing.kind;
  let fchunks: Buffer[];
  let fexpect: number;
  if (!t.done) {
    fchunks = [fhead, fbody];
    fexpect = -1;
  } else if (fbody.length === 0) {
    fchunks = [fhead, SENTINEL];
    fexpect = 0;
  } else {
    fchunks = [fhead, fbody.subarray(0, fbody.length - 1), fbody.subarray(fbody.length - 1), SENTINEL];
    fexpect = 2;
  }
  const fl = llhttpRequests(fchunks);
  const fm = fl.messages[0];
  const out = (cls: string): { cls: string; detail: string } => ({ cls, detail: `\nforwarded ${JSON.stringify(clip(plan.head, 1500))}\nllhttp on it ${showLl(fl, fchunks)}` });
  const allFwd = concat(fchunks);
  if (fm === undefined || fm.headersIn !== 0) return out(fl.error ? `forwarded: llhttp refuses the head we forward: ${llError(allFwd, fhead.length, fl.error)}` : 'forwarded: llhttp does not see the end of the head we forward');
  if (fm.method !== r.method || fm.url !== r.path) return out('forwarded: the request line changed');
  if (fl.error !== undefined && fm.completeIn < 0) return out(`forwarded: llhttp refuses the ${kind} body we relay: ${fl.error.code} (${fl.error.reason})`);
  if (fm.completeIn !== fexpect) return out(`forwarded: the framing changed (${kind} body): llhttp completes the request in chunk ${fm.completeIn}, not ${fexpect}`);
  const got = concat(fm.body);
  if (llBody !== undefined ? !got.equals(llBody) : kind === 'length' && !got.equals(fbody)) return out('forwarded: llhttp reads other body bytes than from the original');
  if (t.done) {
    if (fl.upgradedAt !== undefined) {
      if (!plan.isUpgrade) return out('forwarded: llhttp switches protocols after the forwarded request, the proxy does not');
    } else {
      const s = fl.messages[1];
      if (fl.messages.length !== 2 || s === undefined || s.url !== '/__sentinel' || s.completeIn !== fchunks.length - 1 || fl.error !== undefined) {
        return out('forwarded: the bytes after the relayed body are not read as the next request');
      }
    }
  }
  if (r.host !== undefined) {
    const hosts = fm.headers.filter((_, i) => i % 2 === 0 && fm.headers[i]!.toLowerCase() === 'host').length;
    const fhost = fm.headers.find((_, i) => i % 2 === 1 && fm.headers[i - 1]!.toLowerCase() === 'host');
    if (hosts !== 1 || fhost?.toLowerCase() !== r.host) return out(`forwarded: the backend sees another Host than the one routed on${/^https?:/i.test(r.target) ? ' (absolute-form)' : ''}`);
  }
  return undefined;
}

function classify(buf: Buffer): Verdict {
  const o = ours(buf);
  if (o.kind !== 'accept') {
    const chunks = [buf];
    const ll = llhttpRequests(chunks);
    const m = ll.messages[0];
    const llAccepts = m !== undefined && m.headersIn >= 0;
    const detail = (): string => `ours ${showOurs(o)}\nllhttp ${showLl(ll, chunks)}`;
    if (o.kind === 'need-more') {
      if (llAccepts) return { group: 'fail', cls: 'head boundary: llhttp has a whole head where we wait for more bytes', detail };
      return { group: 'skip', cls: 'we wait for more head bytes' };
    }
    if (llAccepts) return { group: 'stricter', cls: `${o.stage}: ${norm(o.reason)}`, detail };
    return { group: 'agree', cls: 'both refuse the head' };
  }

  const { r, plan } = o;
  const hl = r.headLength;
  const head = buf.subarray(0, hl);
  const body = buf.subarray(hl);
  const t = new BodyTracker(plan.framing);
  const end = t.advance(body, 0);
  // Chunks are cut at our boundaries, so the chunk in which llhttp completes a message says where.
  let chunks: Buffer[];
  /** The chunk in which llhttp must complete the message (-1: not within the bytes we consider this request's). */
  let expect: number;
  /** The last chunk that holds bytes of this request for us (errors after it belong to what follows). */
  let last: number;
  if (t.done && end === 0) {
    chunks = [head, body];
    expect = 0;
    last = 0;
  } else if (t.done) {
    chunks = [head, body.subarray(0, end - 1), body.subarray(end - 1, end), body.subarray(end)];
    expect = 2;
    last = 2;
  } else if (t.error !== undefined) {
    chunks = [head, body.subarray(0, end), body.subarray(end)];
    expect = -1;
    last = 2;
  } else {
    chunks = [head, body];
    expect = -1;
    last = 1;
  }
  const ll = llhttpRequests(chunks);
  const m = ll.messages[0];
  const detail = (extra = ''): (() => string) => () => `ours ${showOurs(o, t, end)}\nllhttp ${showLl(ll, chunks)}${extra}`;
  const fail = (cls: string, extra?: string): Verdict => ({ group: 'fail', cls, detail: detail(extra) });
  const kind = plan.framing.kind;
  /** llhttp refused: a documented leniency (if llhttp takes the RFC-equivalent rewrite, and the head we forward), else a failure. */
  const refused = (cls: string): Verdict => {
    const rw = rewritten(buf);
    if (rw === undefined) return fail(cls);
    const again = classify(rw.buf);
    // a failure of its own (e.g. the forwarded head) is reported as that
    if (again.group === 'fail') return again;
    if (again.cls !== `both accept: ${kind}${plan.isUpgrade ? ' (upgrade)' : ''}`) return fail(cls, `\nrewritten per ${rw.names.join(' + ')}: ${again.group}: ${again.cls}`);
    const f = t.error === undefined ? forwardedCheck(r, plan, t, end, body, undefined) : undefined;
    if (f !== undefined) return fail(f.cls, f.detail);
    return { group: 'lenient', cls: rw.names.join(' + '), detail: detail() };
  };

  // --- the head ---
  if (m === undefined || m.headersIn < 0) {
    if (ll.error !== undefined && ll.error.chunk === 0) return refused(`we accept a head llhttp refuses: ${llError(buf, hl, ll.error)}`);
    return fail(ll.error ? `head boundary: llhttp reads past our head end, then ${ll.error.code}` : 'head boundary: llhttp wants more head bytes where ours ended');
  }
  if (m.headersIn > 0) return fail("head boundary: llhttp's head ends after ours");
  if (m.method !== r.method) return fail('both accept, different method');
  if (m.url !== r.target) return fail('both accept, different request target');
  if (m.version !== r.httpVersion) return fail('both accept, different HTTP version');
  if (m.headers.length !== r.headers.length || m.headers.some((h, i) => h !== r.headers[i])) return fail('both accept, different header fields');

  // --- the body ---
  if (ll.error !== undefined && ll.error.chunk <= last && m.completeIn < 0) {
    if (t.error !== undefined) return { group: 'agree', cls: `both refuse the ${kind} body` };
    return refused(`we relay a ${kind} body llhttp refuses: ${bodyError(ll.error)}`);
  }
  if (t.error !== undefined) {
    if (m.completeIn >= 0 && m.completeIn <= 1) return fail(`framing: llhttp ends the ${kind} body before the byte we refuse`);
    return { group: 'stricter', cls: `body: ${norm(t.error)}`, detail: detail() };
  }
  if (m.completeIn !== expect) {
    if (expect === 0) return fail(`framing: we see no body, llhttp reads one${m.completeIn < 0 ? ' (still waiting)' : ''}`);
    if (expect === 2 && m.completeIn === 0) return fail(`framing: we relay a ${kind} body, llhttp sees none${m.upgrade ? ' (it switches protocols after the head)' : ''}`);
    if (expect === 2 && m.completeIn === 1) return fail(`framing: llhttp ends the ${kind} body before we do`);
    if (expect === 2) return fail(`framing: llhttp ends the ${kind} body after we do`);
    return fail(`framing: llhttp ends the ${kind} body where we wait for more`);
  }
  const llBody = concat(m.body);
  if (kind === 'length' && !llBody.equals(body.subarray(0, t.done ? end : body.length))) return fail('framing: llhttp delivers other body bytes');

  // --- the request we forward ---
  const f = forwardedCheck(r, plan, t, end, body, llBody);
  if (f !== undefined) return fail(f.cls, f.detail);
  return { group: 'agree', cls: `both accept: ${kind}${plan.isUpgrade ? ' (upgrade)' : ''}` };
}

// ---------- bookkeeping, minimisation, report ----------

interface ClassStats {
  group: Group;
  count: number;
  /** The shortest input seen, and its detail. */
  example: Buffer;
  families: Set<string>;
}
const stats = new Map<string, ClassStats>();
let cases = 0;

/** family -> group -> count */
const byFamily = new Map<string, Record<string, number>>();

function note(family: string, buf: Buffer): void {
  cases++;
  const v = classify(buf);
  const top = family.split('/')[0]!;
  const f = byFamily.get(top) ?? {};
  f[v.group] = (f[v.group] ?? 0) + 1;
  byFamily.set(top, f);
  const key = `${v.group}\u0000${v.cls}`;
  const s = stats.get(key);
  if (s === undefined) stats.set(key, { group: v.group, count: 1, example: buf, families: new Set([family]) });
  else {
    s.count++;
    s.families.add(family);
    if (buf.length < s.example.length) s.example = buf;
  }
}

/** Greedy shrinking: drop lines, then byte runs (halving), while the input stays in its class. */
function minimise(buf: Buffer, cls: string, budgetMs: number): Buffer {
  const deadline = performance.now() + budgetMs;
  const same = (b: Buffer): boolean => b.length > 0 && classify(b).cls === cls;
  let best = buf;
  // whole lines first (a line ends at LF)
  for (let progress = true; progress && performance.now() < deadline; ) {
    progress = false;
    const starts = [0];
    for (let i = 0; i < best.length; i++) if (best[i] === 0x0a) starts.push(i + 1);
    for (let k = starts.length - 1; k >= 1 && performance.now() < deadline; k--) {
      const a = starts[k - 1]!;
      const b = starts[k]!;
      if (a === 0) continue;
      const cand = Buffer.concat([best.subarray(0, a), best.subarray(b)]);
      if (same(cand)) {
        best = cand;
        progress = true;
        break;
      }
    }
  }
  for (let size = best.length >> 1; size >= 1 && performance.now() < deadline; size >>= 1) {
    for (let i = 0; i + size <= best.length && performance.now() < deadline; ) {
      const cand = Buffer.concat([best.subarray(0, i), best.subarray(i + size)]);
      if (same(cand)) best = cand;
      else i += size;
    }
  }
  return best;
}

function showInput(b: Buffer): string {
  const s = JSON.stringify(b.toString('latin1'));
  return `${s.length > 600 ? `${s.slice(0, 600)}…"` : s} (${b.length} bytes)${b.length <= 300 ? `\n    hex ${hex(b)}` : ''}`;
}

// ---------- the runs ----------

/** FUZZ_DIFF_INPUT=<hex>: classify that one input and print both sides (to replay a reported case). */
const single = process.env['FUZZ_DIFF_INPUT'];
if (single !== undefined && single !== '') {
  test('http differential vs llhttp: one input (FUZZ_DIFF_INPUT)', () => {
    const v = classify(Buffer.from(single, 'hex'));
    console.log(`${v.group}: ${v.cls}\n${v.detail?.() ?? ''}`);
  });
}

const TEST_TIMEOUT = 120_000;
/** Cases the three runs generate (FUZZ_SCALE applied): 110,000 by default. */
let planned = 0;

test('http differential vs llhttp: valid requests (model + framing + body)', { timeout: TEST_TIMEOUT }, () => {
  planned += check('differential valid', fc.property(validRequestArb, (buf) => note('valid', buf)), 30_000);
});

test('http differential vs llhttp: near-valid requests (one rule bent)', { timeout: TEST_TIMEOUT }, () => {
  const perBend = new Map<string, number>();
  planned += check(
    'differential near-valid',
    fc.property(nearValidArb, ({ bend, bytes }) => {
      perBend.set(bend, (perBend.get(bend) ?? 0) + 1);
      note(`near-valid/${bend}`, bytes);
    }),
    50_000,
  );
  assert.ok(perBend.size > 20, `bends exercised: ${[...perBend.keys()].join(', ')}`);
});

test('http differential vs llhttp: mutated requests (byte and line edits)', { timeout: TEST_TIMEOUT }, () => {
  planned += check('differential mutated', fc.property(mutatedRequestArb, (buf) => note('mutated', buf)), 30_000);
});

test('http differential vs llhttp: where llhttp refuses we refuse; where both accept the framing is the same', { timeout: TEST_TIMEOUT }, () => {
  const byGroup = (g: Group): Array<[string, ClassStats]> =>
    [...stats.entries()].filter(([, s]) => s.group === g).map(([k, s]): [string, ClassStats] => [k.split('\u0000')[1]!, s]).sort((a, b) => b[1].count - a[1].count);
  const total = (g: Group): number => byGroup(g).reduce((n, [, s]) => n + s.count, 0);
  const lines: string[] = [`http differential vs llhttp ${process.versions.llhttp} (node ${process.version}): ${cases} cases, FUZZ_SEED=${FUZZ_SEED}`];
  const section = (g: Group, title: string, examples: boolean): void => {
    const list = byGroup(g);
    lines.push(`  ${title}: ${total(g)}`);
    for (const [cls, s] of list) {
      lines.push(`    ${String(s.count).padStart(6)}  ${cls}`);
      if (examples) lines.push(`            e.g. ${showInput(s.example).split('\n')[0]}`);
    }
  };
  for (const [fam, g] of byFamily) lines.push(`  ${fam}: ${Object.entries(g).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  section('agree', 'agree', false);
  section('stricter', 'we refuse, llhttp accepts (allowed)', true);
  section('lenient', 'we accept, llhttp refuses: documented leniencies', false);
  section('skip', 'not compared', false);
  section('fail', 'DISAGREEMENTS', false);
  console.log(lines.join('\n'));

  assert.equal(cases, planned, 'every generated case was compared');
  assert.ok(cases >= runs(100_000), `${cases} cases, fewer than ${runs(100_000)}`);
  const agreeAccept = byGroup('agree').filter(([c]) => c.startsWith('both accept')).reduce((n, [, s]) => n + s.count, 0);
  assert.ok(agreeAccept > cases / 5, `too few cases both accept (${agreeAccept} of ${cases}): the generators drifted`);

  const failures = byGroup('fail');
  if (failures.length > 0) {
    const budget = Math.max(50, Math.min(400, 3000 / failures.length));
    const report = failures.map(([cls, s]) => {
      const min = minimise(s.example, cls, budget);
      const v = classify(min);
      return `- ${cls}  [${s.count} cases; ${[...s.families].slice(0, 6).join(', ')}${s.families.size > 6 ? ', …' : ''}]\n    input ${showInput(min)}\n    ${(v.detail?.() ?? '').split('\n').join('\n    ')}`;
    });
    assert.fail(`FUZZ_SEED=${FUZZ_SEED}: ${failures.length} classes of disagreement with llhttp (${total('fail')} cases):\n${report.join('\n')}`);
  }
});
