/**
 * Garbage-input harness: one SmartProxy with a TLS-passthrough port, an HTTP port, a plain L4
 * port and a PROXY-protocol port takes 5,000 connections of seeded garbage (random bytes,
 * truncated and mutated ClientHellos, junk and truncated HTTP heads, junk and truncated PROXY
 * v1/v2 headers, a few valid requests), written at once or in pieces and ended in every way
 * (destroy, RST, FIN then destroy/RST, held open then destroy/RST, at once or after pieces).
 * Every timeout of the proxy is long (>= 30 s, gracefulShutdownTimeout 20 s), so whatever is
 * cleaned up within the test is cleaned up by the connection lifecycle, not by a timer.
 *
 * Once every client socket is gone: within 2 s no active connection, no per-IP entry, no
 * connection record, no tracked IP; stop() within 1 s; the process's TCP handles back to
 * the baseline taken before anything started; no uncaught exception or unhandled rejection.
 * On failure the message names, for every record left, the case (input class, detail,
 * delivery, ending) that left it: each connection comes from a client address of its own
 * (or names one in its PROXY header), see garbage-inputs.ts.
 *
 * Replay: GARBAGE_SEED=<seed> (printed). Narrow down: GARBAGE_ONLY=<regex> keeps the cases
 * whose `<port>/<class> [<detail>] <ending>@<timing>` matches (the list is generated in full first, so the
 * kept cases are the same as in the full run); GARBAGE_COUNT=<n> (default 5000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startProxy, freePorts } from '../integration/harness.js';
import { startHttpServer, startTcpEchoServer, type IBackend } from '../helpers/backends.js';
import { testCert } from '../helpers/certs.js';
import { waitFor } from '../helpers/leaks.js';
import { makeRng } from '../protocol/helpers/rng.js';
import { SmartProxyConfigError } from '../../ts/index.js';
import type { SmartProxy } from '../../ts/smart-proxy.js';
import type { ISmartProxyOptions } from '../../ts/types.js';
import { startTlsEchoBackend } from './tls-echo-backend.js';
import { runPool, watchProcessErrors, describeErrors, since } from './kit.js';
import { makeGarbageCases, describeCase, PORT_KINDS, type IGarbageCase, type PortKind } from './garbage-inputs.js';

const TLS_DOMAIN = 'garbage.test';
const HTTP_DOMAIN = 'garbage-http.test';
const COUNT = Number(process.env['GARBAGE_COUNT'] ?? 5000);
const CONCURRENCY = 100;
/** Hard bound on one client connection (everything in it is bounded more tightly). */
const CASE_BOUND_MS = 15_000;
/** A valid case's answer. */
const RESPONSE_MS = 8_000;
const IDLE_WITHIN_MS = 2_000;
const STOP_WITHIN_MS = 1_000;
const GRACE_MS = 20_000;
const LONG_MS = 60_000;

function garbageSeed(): number {
  const env = process.env['GARBAGE_SEED'];
  return env !== undefined && env !== '' ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

function noop(): void {}

/** Resolves true when `p` settles within `ms`, false otherwise. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

function pause(gap: number): Promise<void> {
  if (gap === 0) return Promise.resolve();
  if (gap < 0) return new Promise((r) => setImmediate(r));
  return new Promise((r) => setTimeout(r, gap));
}

/** TCP handles of this process by kind (TCPSocketWrap, TCPServerWrap, TCPConnectWrap, ...). */
function tcpByKind(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) if (/TCP|Connect/.test(name)) out[name] = (out[name] ?? 0) + 1;
  return out;
}

function aboveBaseline(base: Record<string, number>, now: Record<string, number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of new Set([...Object.keys(base), ...Object.keys(now)])) {
    if ((now[k] ?? 0) > (base[k] ?? 0)) out[k] = `${now[k] ?? 0} (baseline ${base[k] ?? 0})`;
  }
  return out;
}

function tallyOf(keys: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...keys].sort()) out[k] = (out[k] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------- one client connection

interface ICaseResult {
  c: IGarbageCase;
  ms: number;
  received: number;
  connected: boolean;
  /** The proxy sent FIN (or closed) before our ending. */
  peerEndedFirst: boolean;
  /** end-await: whether the proxy closed within the wait. */
  endAwait?: 'proxy closed' | 'still open';
  /** A valid case without its answer, or the client-side bound hit. */
  problem?: string;
}

interface ITlsTarget {
  servername: string;
  ca: string;
  greeting: string;
}

/** A complete HTTP/1.x response (Content-Length framed) in `b`: its status, else undefined. */
function completeResponse(b: Buffer): number | undefined {
  const text = b.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? NaN);
  const cl = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end + 2));
  const need = end + 4 + (cl ? Number(cl[1]) : 0);
  return b.length >= need ? status : undefined;
}

async function runCase(c: IGarbageCase, port: number, live: Map<net.Socket, IGarbageCase>, target: ITlsTarget): Promise<ICaseResult> {
  const started = performance.now();
  const raw = net.connect({ host: '127.0.0.1', port, localAddress: c.localAddress, allowHalfOpen: c.clientHalfOpen });
  live.set(raw, c);
  raw.on('error', noop);
  const r: ICaseResult = { c, ms: 0, received: 0, connected: false, peerEndedFirst: false };
  const got: Buffer[] = [];
  let secure: tls.TLSSocket | undefined;
  let ending = false;
  const rawClosed = new Promise<void>((resolve) =>
    raw.once('close', () => {
      live.delete(raw);
      resolve();
    }),
  );
  const onData = (d: Buffer): void => {
    r.received += d.length;
    got.push(d);
  };
  raw.on('data', onData);
  raw.on('end', () => void (ending || (r.peerEndedFirst = true)));
  raw.once('connect', () => void (r.connected = true));
  const bound = setTimeout(() => {
    r.problem ??= `client-side bound of ${CASE_BOUND_MS} ms hit (the proxy never closed it and the ending did not finish)`;
    secure?.destroy();
    raw.destroy();
  }, CASE_BOUND_MS);
  const closedNow = (): boolean => raw.destroyed;
  const connected = (): Promise<boolean> =>
    r.connected ? Promise.resolve(true) : new Promise((resolve) => {
      const ok = (): void => { raw.off('close', no); resolve(true); };
      const no = (): void => { raw.off('connect', ok); resolve(false); };
      raw.once('connect', ok);
      raw.once('close', no);
    });
  /** Waits until `pred` holds, the socket closes, or `ms` pass. */
  const until = (pred: () => boolean, ms: number): Promise<void> =>
    waitFor(() => pred() || closedNow(), ms, { intervalMs: 5 }).catch(noop);

  const finished = (w: net.Socket): Promise<void> =>
    w.writableFinished || w.destroyed ? Promise.resolve() : new Promise((resolve) => {
      w.once('finish', resolve);
      w.once('close', resolve);
    });
  const applyEnding = async (): Promise<void> => {
    ending = true;
    const stream: net.Socket = secure ?? raw;
    const reset = (): void => {
      if (!raw.destroyed) raw.resetAndDestroy();
    };
    switch (c.ending) {
      case 'destroy':
        stream.destroy();
        break;
      case 'reset':
        reset();
        break;
      case 'hold-destroy':
        await within(rawClosed, c.holdMs);
        stream.destroy();
        break;
      case 'hold-reset':
        await within(rawClosed, c.holdMs);
        reset();
        break;
      case 'end-destroy':
        stream.end();
        await within(rawClosed, c.holdMs);
        stream.destroy();
        break;
      case 'end-reset':
        stream.end();
        await within(rawClosed, c.holdMs);
        // libuv refuses an RST while our FIN (shutdown) is still pending and then never closes
        // the handle: wait for 'finish' first, destroy instead if it never comes.
        await within(finished(stream), 1000);
        if (stream.writableFinished) reset();
        else stream.destroy();
        break;
      case 'end-await':
        stream.end();
        r.endAwait = (await within(rawClosed, c.holdMs)) ? 'proxy closed' : 'still open';
        stream.destroy();
        break;
    }
    secure?.destroy();
    raw.destroy();
  };

  try {
    if (c.timing === 'before-connect') {
      // connect() is issued on the next tick; end before the client has seen 'connect'.
      await new Promise((res) => setImmediate(res));
      await applyEnding();
      return r;
    }
    if (!(await within(connected(), 5000)) || !r.connected) {
      r.problem = 'client could not connect within 5 s';
      return r;
    }
    if (c.expect?.kind === 'tls') {
      await runTls(c, raw, target, r, got, onData, (s) => (secure = s), applyEnding, until);
      return r;
    }
    for (let k = 0; k < c.endAfter; k++) {
      await pause(c.gaps[k]!);
      if (raw.destroyed || raw.writableEnded) break;
      raw.write(c.pieces[k]!);
    }
    if (c.timing === 'after-response' && c.expect) {
      const want = c.expect;
      if (want.kind === 'echo') {
        await until(() => r.received >= want.bytes.length, RESPONSE_MS);
        const echo = Buffer.concat(got);
        if (!echo.equals(want.bytes)) r.problem = `valid: echo of ${echo.length} of ${want.bytes.length} bytes${echo.length === want.bytes.length ? ' (differs)' : ''}`;
      } else if (want.kind === 'http') {
        await until(() => completeResponse(Buffer.concat(got)) !== undefined, RESPONSE_MS);
        const status = completeResponse(Buffer.concat(got));
        if (status !== 200) {
          const head = Buffer.concat(got).toString('latin1').split('\r\n')[0];
          r.problem = `valid: ${status === undefined ? `no complete response (${r.received} bytes${head ? `: ${JSON.stringify(head.slice(0, 60))}` : ''})` : `status ${status}`}`;
        }
      }
    }
    await applyEnding();
    return r;
  } finally {
    if (!raw.destroyed) raw.destroy();
    secure?.destroy();
    await within(rawClosed, 2000);
    clearTimeout(bound);
    r.ms = Math.round(performance.now() - started);
  }
}

/** A real TLS client over the raw socket: ended before it starts, mid-handshake, right after it, or after the echo. */
async function runTls(
  c: IGarbageCase,
  raw: net.Socket,
  target: ITlsTarget,
  r: ICaseResult,
  got: Buffer[],
  onData: (d: Buffer) => void,
  setSecure: (s: tls.TLSSocket) => void,
  applyEnding: () => Promise<void>,
  until: (pred: () => boolean, ms: number) => Promise<void>,
): Promise<void> {
  if (c.expect?.kind !== 'tls') return;
  if (c.timing === 'before-data') return applyEnding();
  raw.off('data', onData);
  const s = tls.connect({ socket: raw, servername: target.servername, ca: [target.ca] });
  s.on('error', noop);
  s.on('data', onData);
  setSecure(s);
  let keylog = false;
  let secured = false;
  s.once('keylog', () => void (keylog = true));
  s.once('secureConnect', () => void (secured = true));
  if (c.timing === 'mid') {
    await until(() => keylog || secured, RESPONSE_MS);
    return applyEnding();
  }
  await until(() => secured, RESPONSE_MS);
  if (c.timing === 'after-all') return applyEnding();
  const greeting = Buffer.byteLength(target.greeting);
  const payload = c.expect.payload;
  if (secured) {
    s.write(payload);
    await until(() => r.received >= greeting + payload.length, RESPONSE_MS);
  }
  const want = Buffer.concat([Buffer.from(target.greeting), payload]);
  const echo = Buffer.concat(got);
  if (!echo.equals(want)) r.problem = `valid TLS: ${secured ? `${echo.length} of ${want.length} bytes (greeting + echo)` : 'no handshake'}`;
  return applyEnding();
}

// ---------------------------------------------------------------- what the proxy told

interface IOpenEvent { connectionId: string; clientIp: string; clientPort: number; port: number; route?: string }
interface ICloseEvent { connectionId: string; clientIp: string; port: number; clientReason?: string; backendReason?: string }
interface IErrorEvent { connectionId: string; clientIp: string; port: number; reason: string }
interface IMissEvent { connectionId: string; clientIp: string; port: number }

interface ISeen {
  id: string;
  port?: number;
  ips: Set<string>;
  clientPort?: number;
  opened: boolean;
  closed: boolean;
  events: string[];
}

class ProxyEvents {
  readonly byId = new Map<string, ISeen>();
  readonly errorReasons: string[] = [];
  misses = 0;
  blocked = 0;

  constructor(proxy: NodeJS.EventEmitter) {
    proxy.on('connection:open', (e: IOpenEvent) => {
      const s = this.get(e.connectionId, e.clientIp, e.port);
      s.opened = true;
      s.clientPort = e.clientPort;
      s.events.push(`open(${e.route ?? '?'}, client port ${e.clientPort})`);
    });
    proxy.on('connection:close', (e: ICloseEvent) => {
      const s = this.get(e.connectionId, e.clientIp, e.port);
      s.closed = true;
      s.events.push(`close(${e.clientReason ?? '-'}/${e.backendReason ?? '-'})`);
    });
    proxy.on('connection:error', (e: IErrorEvent) => {
      this.get(e.connectionId, e.clientIp, e.port).events.push(`error(${e.reason})`);
      this.errorReasons.push(e.reason);
    });
    proxy.on('route:miss', (e: IMissEvent) => {
      this.get(e.connectionId, e.clientIp, e.port).events.push('route:miss');
      this.misses++;
    });
    proxy.on('security:blocked', () => void this.blocked++);
  }

  private get(id: string, ip: string, port: number): ISeen {
    let s = this.byId.get(id);
    if (!s) {
      s = { id, ips: new Set(), opened: false, closed: false, events: [] };
      this.byId.set(id, s);
    }
    s.ips.add(ip);
    s.port ??= port;
    return s;
  }

  /** Connections seen under `ip` (none for 127.0.0.1, which names no single case). */
  forIp(ip: string): ISeen[] {
    if (ip === '127.0.0.1') return [];
    return [...this.byId.values()].filter((s) => s.ips.has(ip));
  }
}

// ---------------------------------------------------------------- the report of what was left

interface IReportInput {
  proxy: { getDiagnostics(): { connectionRecords: number; trackedIps: number }; getStats(): { connections: { active(): number; byIP(): Map<string, number> } } };
  cases: IGarbageCase[];
  results: Map<number, ICaseResult>;
  events: ProxyEvents;
  portOf: Map<number, PortKind>;
}

function leftoverReport({ proxy, cases, results, events, portOf }: IReportInput): string {
  const d = proxy.getDiagnostics();
  const byIP = proxy.getStats().connections.byIP();
  const lines: string[] = [
    `active() ${proxy.getStats().connections.active()}, connectionRecords ${d.connectionRecords}, trackedIps ${d.trackedIps}, byIP ${JSON.stringify(Object.fromEntries(byIP))}`,
  ];
  const caseByIp = new Map<string, IGarbageCase>();
  for (const c of cases) {
    if (c.clientIp) caseByIp.set(c.clientIp, c);
    if (c.localAddress !== '127.0.0.1') caseByIp.set(c.localAddress, c);
  }
  const left = new Map<number, string[]>();
  const note = (c: IGarbageCase, why: string): void => void (left.get(c.index) ?? left.set(c.index, []).get(c.index)!).push(why);
  const unknownIps: string[] = [];
  for (const [ip, n] of byIP) {
    const c = caseByIp.get(ip);
    if (c) note(c, `byIP ${n}`);
    else unknownIps.push(`${JSON.stringify(ip)} x${n}`);
  }
  const unattributed: string[] = [];
  for (const s of events.byId.values()) {
    if (s.closed) continue;
    const c = [...s.ips].map((ip) => caseByIp.get(ip)).find((x) => x !== undefined);
    const text = `connection ${s.id} on ${portOf.get(s.port ?? 0) ?? s.port}: ${s.events.join(' ')} (no close event)`;
    if (c) note(c, text);
    else unattributed.push(`${text} from ${[...s.ips].join(',')}`);
  }
  const byIndex = new Map(cases.map((c) => [c.index, c]));
  const leftCases = [...left.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!);
  if (leftCases.length > 0) {
    lines.push(`cases that left records (${leftCases.length}):`);
    for (const c of leftCases) {
      const res = results.get(c.index);
      const client = res
        ? `client: ${res.ms} ms, connected ${res.connected}, ${res.received} bytes back, proxy ended first ${res.peerEndedFirst}${res.endAwait ? `, end-await: ${res.endAwait}` : ''}`
        : 'client: no result';
      const proxySide = events.forIp(c.clientIp ?? c.localAddress).map((s) => `${s.id}: ${s.events.join(' ')}`).join('; ') || 'no event';
      lines.push(`  ${describeCase(c)}\n    ${left.get(c.index)!.join('; ')}\n    ${client}\n    proxy events: ${proxySide}`);
    }
    const all = tallyOf(cases.map((c) => `${c.port}/${c.cls}`));
    const leftBy = tallyOf(leftCases.map((c) => `${c.port}/${c.cls}`));
    lines.push(`  by class (left / cases of the class): ${Object.entries(leftBy).map(([k, n]) => `${k} ${n}/${all[k]}`).join(', ')}`);
    lines.push(`  by ending: ${JSON.stringify(tallyOf(leftCases.map((c) => `${c.ending}@${c.timing}`)))}`);
    lines.push(`  by delivery: ${JSON.stringify(tallyOf(leftCases.map((c) => (c.pieces.length <= 1 ? 'at once' : 'pieces'))))}`);
  }
  if (unknownIps.length > 0) lines.push(`byIP keys that name no case ('': no client address at accept, the socket already gone; '127.0.0.1': a trusted connection admitted without an address of its own (v2 LOCAL, v1 UNKNOWN); else a mutated PROXY address): ${unknownIps.join(', ')}`);
  if (unattributed.length > 0) lines.push(`unattributed open connections:\n  ${unattributed.join('\n  ')}`);
  // Records of trusted connections still reading their PROXY header are not admitted yet: in no byIP entry.
  let inByIp = 0;
  for (const n of byIP.values()) inByIp += n;
  const notAdmitted = d.connectionRecords - inByIp;
  if (notAdmitted > 0) {
    lines.push(`${notAdmitted} record(s) in no byIP entry (not admitted: a trusted 127.0.0.1 connection before or inside its PROXY header?)`);
    lines.push(...trustedAccounting(cases, events, portOf));
  }
  lines.push(...idGaps(cases, events, portOf));
  return lines.join('\n');
}

/** Per port: trusted connections that never showed an address of their own, against close events from 127.0.0.1. */
function trustedAccounting(cases: IGarbageCase[], events: ProxyEvents, portOf: Map<number, PortKind>): string[] {
  const out: string[] = [];
  const closedOwn = new Set<string>();
  const closedLocal = new Map<PortKind, number>();
  for (const s of events.byId.values()) {
    if (!s.closed) continue;
    for (const ip of s.ips) closedOwn.add(ip);
    if (s.ips.has('127.0.0.1') && s.ips.size === 1) {
      const k = portOf.get(s.port ?? 0);
      if (k) closedLocal.set(k, (closedLocal.get(k) ?? 0) + 1);
    }
  }
  for (const k of PORT_KINDS) {
    const pending = cases.filter((c) => c.port === k && c.localAddress === '127.0.0.1' && !(c.clientIp && closedOwn.has(c.clientIp)));
    if (pending.length === 0) continue;
    const unaccounted = pending.length - (closedLocal.get(k) ?? 0);
    if (unaccounted <= 0) continue;
    out.push(`  ${k} port: ${pending.length} trusted connections closed as 127.0.0.1 or not at all, ${closedLocal.get(k) ?? 0} close events from 127.0.0.1: ${unaccounted} unaccounted; among the classes ${JSON.stringify(tallyOf(pending.map((c) => c.cls)))}`);
  }
  return out;
}

/**
 * Connection ids are a counter (base 36) today: an id with no close event sits between
 * neighbours whose cases are known, which places the leftover among the cases started then.
 * A hint for the report only (the ids' form is not part of the contract).
 */
function idGaps(cases: IGarbageCase[], events: ProxyEvents, portOf: Map<number, PortKind>): string[] {
  const caseByIp = new Map<string, IGarbageCase>();
  for (const c of cases) {
    if (c.clientIp) caseByIp.set(c.clientIp, c);
    if (c.localAddress !== '127.0.0.1') caseByIp.set(c.localAddress, c);
  }
  const closedOwn = new Set<string>();
  for (const s of events.byId.values()) if (s.closed) for (const ip of s.ips) if (ip !== '127.0.0.1') closedOwn.add(ip);
  const known = new Map<number, { closed: boolean; c: IGarbageCase | undefined; port: PortKind | undefined }>();
  for (const s of events.byId.values()) {
    const n = parseInt(s.id, 36);
    if (!Number.isSafeInteger(n) || n.toString(36) !== s.id) return [];
    known.set(n, { closed: s.closed, c: [...s.ips].map((ip) => caseByIp.get(ip)).find((x) => x !== undefined), port: portOf.get(s.port ?? 0) });
  }
  const attributed = new Set<number>();
  for (const k of known.values()) if (k.c) attributed.add(k.c.index);
  if (known.size === 0) return [];
  const ids = [...known.keys()];
  const lo = Math.min(...ids);
  const hi = Math.max(...ids);
  const gaps: number[] = [];
  for (let n = lo; n <= hi; n++) if (!known.get(n)?.closed) gaps.push(n);
  // Only the ids no case's address leads to need placing.
  for (let k = gaps.length - 1; k >= 0; k--) if (known.get(gaps[k]!)?.c) gaps.splice(k, 1);
  if (gaps.length === 0) return [];
  const near = (n: number, step: number): IGarbageCase | undefined => {
    for (let k = n + step, hops = 0; k >= lo && k <= hi && hops < 50; k += step, hops++) {
      const c = known.get(k)?.c;
      if (c) return c;
    }
    return undefined;
  };
  const out = [`connection ids without a close event that no case's address names (ids ${lo}..${hi} seen; a counter today, so neighbours place them):`];
  for (const n of gaps.slice(0, 20)) {
    const before = near(n, -1);
    const after = near(n, 1);
    const from = Math.max(0, Math.min(before?.index ?? 0, after?.index ?? 0) - CONCURRENCY);
    const to = Math.max(before?.index ?? 0, after?.index ?? 0) + CONCURRENCY;
    const k = known.get(n);
    const self = k?.c;
    const mid = ((before?.index ?? after?.index ?? 0) + (after?.index ?? before?.index ?? 0)) / 2;
    const candidates = self
      ? [self]
      : cases
          .filter((c) => c.index >= from && c.index <= to && (k?.port === undefined || c.port === k.port) && !attributed.has(c.index) && !closedOwn.has(c.clientIp ?? c.localAddress))
          .sort((a, b) => Math.abs(a.index - mid) - Math.abs(b.index - mid));
    const what = k === undefined ? 'no event at all' : `${k.port ?? '?'} port, events under no case's address`;
    out.push(
      `  ${n.toString(36)}${self ? '' : ` (${what})`}: after #${before?.index ?? '?'}, before #${after?.index ?? '?'}; ${self ? 'is' : `likely one of (nearest first)`} ${candidates.slice(0, 6).map((c) => `${describeCase(c)}`).join(' | ')}${candidates.length > 6 ? ` | ... (${candidates.length})` : ''}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------- the test

test('garbage input: 5,000 connections of seeded garbage leave no record, per-IP entry or handle, and stop() is quick', { timeout: 60_000 }, async (t) => {
  const testStarted = performance.now();
  const seed = garbageSeed();
  const tag = `seed ${seed} (replay: GARBAGE_SEED=${seed})`;
  t.diagnostic(tag);
  const watch = watchProcessErrors(t);

  const [tlsPort, httpPort, l4Port, ppPort] = (await freePorts(4)) as [number, number, number, number];
  const ports: Record<PortKind, number> = { tls: tlsPort, http: httpPort, l4: l4Port, pp: ppPort };
  const portOf = new Map<number, PortKind>(PORT_KINDS.map((k) => [ports[k], k]));
  const baseline = tcpByKind();

  const cert = testCert(TLS_DOMAIN);
  const tlsBackend = await startTlsEchoBackend({ ...cert, name: 'garbage' });
  const httpBackend = await startHttpServer(undefined, { name: 'garbage-http' });
  const l4Echo = await startTcpEchoServer();
  const ppEcho = await startTcpEchoServer();
  const backends: Array<{ name: string; b: { readonly active: number; close(): Promise<void> } }> = [
    { name: 'tls', b: tlsBackend },
    { name: 'http', b: httpBackend },
    { name: 'l4 echo', b: l4Echo },
    { name: 'pp echo', b: ppEcho },
  ];
  let backendsClosed = false;
  const closeBackends = async (): Promise<string[]> => {
    if (backendsClosed) return [];
    backendsClosed = true;
    const slow: string[] = [];
    for (const { name, b } of backends) if (!(await within(b.close(), 3000))) slow.push(`${name} backend close() took over 3 s`);
    return slow;
  };
  t.after(() => closeBackends());

  const forward = (name: string, port: number, backend: IBackend | { port: number }) => ({
    name,
    match: { ports: port },
    action: { type: 'forward' as const, target: { host: '127.0.0.1', port: backend.port } },
  });
  const options = {
    routes: [
      {
        name: 'tls',
        match: { ports: tlsPort, domains: TLS_DOMAIN },
        action: { type: 'forward', target: { host: '127.0.0.1', port: tlsBackend.port }, tls: { mode: 'passthrough' } },
      },
      {
        name: 'http',
        match: { ports: httpPort, domains: HTTP_DOMAIN },
        action: { type: 'forward', target: { host: '127.0.0.1', port: httpBackend.port } },
      },
      forward('l4', l4Port, l4Echo),
      forward('pp', ppPort, ppEcho),
    ],
    acceptProxyProtocol: true,
    proxyIPs: ['127.0.0.1'],
    // Every timer long: what is cleaned up during the test is cleaned up by the lifecycle.
    initialDataTimeout: LONG_MS,
    connectionTimeout: 30_000,
    socketTimeout: LONG_MS,
    inactivityTimeout: 2 * LONG_MS,
    maxConnectionLifetime: 10 * LONG_MS,
    extendedKeepAliveLifetime: 10 * LONG_MS,
    inactivityCheckInterval: LONG_MS,
    zombie: { halfZombieGraceMs: 5 * LONG_MS, halfZombieGraceTlsMs: 5 * LONG_MS, stuckGraceMs: 5 * LONG_MS, stuckGraceTlsMs: 5 * LONG_MS },
    gracefulShutdownTimeout: GRACE_MS,
    // One client address per connection: no per-IP limit, and every address tracked on its own.
    maxConnectionsPerIP: 0,
    connectionRateLimitPerMinute: 0,
    metrics: { maxTrackedIPs: 100_000 },
  } satisfies Omit<ISmartProxyOptions, 'logger'>;
  // The contract's HTTP and half-close timers, long too; left out (and named) where this build does not know them yet.
  const later: Record<string, number> = { responseTimeout: LONG_MS, headersTimeout: LONG_MS, halfCloseTimeout: LONG_MS };
  let proxy: SmartProxy | undefined;
  while (!proxy) {
    try {
      proxy = await startProxy(t, { ...options, ...later });
    } catch (err) {
      const field = err instanceof SmartProxyConfigError ? err.path.replace(/^options\./, '') : '';
      if (!(field in later)) throw err;
      delete later[field];
      t.diagnostic(`option ${field} not known to this build: left at its default`);
    }
  }
  const events = new ProxyEvents(proxy);

  const all = makeGarbageCases(makeRng(seed), COUNT, { tlsDomain: TLS_DOMAIN, httpDomain: HTTP_DOMAIN, ports });
  const only = process.env['GARBAGE_ONLY'];
  const filter = only ? new RegExp(only) : undefined;
  const cases = filter ? all.filter((c) => filter.test(`${c.port}/${c.cls} [${c.detail}] ${c.ending}@${c.timing}`)) : all;
  t.diagnostic(`${cases.length} cases${filter ? ` of ${all.length} (GARBAGE_ONLY=${only})` : ''}: ${JSON.stringify(tallyOf(cases.map((c) => c.port)))}; valid ${cases.filter((c) => c.expect).length}; trusted (127.0.0.1) ${cases.filter((c) => c.localAddress === '127.0.0.1').length}`);

  const live = new Map<net.Socket, IGarbageCase>();
  const target: ITlsTarget = { servername: TLS_DOMAIN, ca: cert.ca, greeting: `garbage sni=${TLS_DOMAIN}\n` };
  const runStarted = performance.now();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const list = await runPool(cases.length, CONCURRENCY, (i) => runCase(cases[i]!, ports[cases[i]!.port], live, target));
  loopDelay.disable();
  const runMs = since(runStarted);
  const results = new Map<number, ICaseResult>(list.map((r) => [r.c.index, r]));
  const slowest = list.reduce((a, b) => (b.ms > a.ms ? b : a));
  t.diagnostic(`run: ${list.length} connections in ${runMs} ms (concurrency ${CONCURRENCY}; event-loop delay p50 ${Math.round(loopDelay.percentile(50) / 1e6)} ms, p99 ${Math.round(loopDelay.percentile(99) / 1e6)} ms, max ${Math.round(loopDelay.max / 1e6)} ms); slowest ${slowest.ms} ms: ${describeCase(slowest.c)}`);
  t.diagnostic(`proxy events: ${events.byId.size} connections seen, ${events.misses} route misses, ${events.blocked} blocked, errors ${JSON.stringify(tallyOf(events.errorReasons))}`);
  const awaited = list.filter((r) => r.endAwait);
  t.diagnostic(`end-await (FIN, then up to 1 s for the proxy to close; timing-dependent under load, not asserted): ${JSON.stringify(tallyOf(awaited.map((r) => `${r.c.port} ${r.endAwait}`)))}`);
  const stillOpenAfterFin = awaited.filter((r) => r.endAwait === 'still open');
  if (stillOpenAfterFin.length > 0) {
    t.diagnostic(`  still open 1 s after the client's FIN (then destroyed by the client), by class: ${JSON.stringify(tallyOf(stillOpenAfterFin.map((r) => `${r.c.port}/${r.c.cls}`)))}`);
    for (const r of stillOpenAfterFin.slice(0, 4)) t.diagnostic(`    e.g. ${describeCase(r.c)}: ${r.received} bytes back; proxy events: ${events.forIp(r.c.clientIp ?? r.c.localAddress).map((s) => s.events.join(' ')).join('; ') || 'none'}`);
  }

  const failures: string[] = [];
  const problems = list.filter((r) => r.problem !== undefined);
  if (problems.length > 0) {
    failures.push(`${problems.length} client-side problems (valid cases without their answer, or bounds hit):\n  ${problems.slice(0, 15).map((r) => `${describeCase(r.c)}: ${r.problem}`).join('\n  ')}`);
  }
  if (live.size > 0) failures.push(`${live.size} client sockets not closed after the run (a harness fault): ${[...live.values()].slice(0, 5).map(describeCase).join(' | ')}`);
  for (const s of live.keys()) s.destroy();

  // Every client socket is gone: the proxy's bookkeeping must empty by itself, quickly.
  const idleStarted = performance.now();
  const idle = (): boolean => {
    const d = proxy.getDiagnostics();
    const st = proxy.getStats().connections;
    return st.active() === 0 && st.byIP().size === 0 && d.connectionRecords === 0 && d.trackedIps === 0;
  };
  let idleOk = true;
  await waitFor(idle, IDLE_WITHIN_MS, { intervalMs: 20 }).catch(() => void (idleOk = false));
  if (idleOk) t.diagnostic(`proxy idle ${since(idleStarted)} ms after the last client socket closed`);
  else {
    const report = leftoverReport({ proxy, cases, results, events, portOf });
    failures.push(`not idle ${IDLE_WITHIN_MS} ms after every client socket closed (every proxy timeout >= 30 s):\n${report}`);
    t.diagnostic(`LEFTOVERS (${tag}), details in the failure:`);
    for (const line of report.split('\n').filter((l) => /^(active|  by )/.test(l))) t.diagnostic(line);
  }
  // The proxy's backend sockets close with their records (the HTTP upstream pool may keep idle ones: not counted).
  const backendsOpen = (): string[] => backends.filter(({ name, b }) => name !== 'http' && b.active > 0).map(({ name, b }) => `${name}: ${b.active}`);
  await waitFor(() => backendsOpen().length === 0, IDLE_WITHIN_MS, { intervalMs: 20 }).catch(noop);
  if (backendsOpen().length > 0) failures.push(`backend connections still open ${IDLE_WITHIN_MS} ms after the clients (the proxy's side not closed): ${backendsOpen().join(', ')}`);

  // stop() has nothing to wait for: well under gracefulShutdownTimeout.
  const stopStarted = performance.now();
  const stopping = proxy.stop();
  if (!(await within(stopping, STOP_WITHIN_MS))) {
    const done = await within(stopping, GRACE_MS + 3000);
    failures.push(`stop() took ${done ? `${since(stopStarted)} ms` : `over ${GRACE_MS + 3000} ms`} (limit ${STOP_WITHIN_MS} ms; gracefulShutdownTimeout ${GRACE_MS})`);
  } else t.diagnostic(`stop() in ${since(stopStarted)} ms`);
  const listening = proxy.getListeningPorts();
  if (listening.length > 0) failures.push(`listening after stop(): ${listening.join(',')}`);

  failures.push(...(await closeBackends()));
  let handlesOk = true;
  await waitFor(() => Object.keys(aboveBaseline(baseline, tcpByKind())).length === 0, 2000, { intervalMs: 20 }).catch(() => void (handlesOk = false));
  if (!handlesOk) failures.push(`TCP handles above the baseline after stop() and the backends' close: ${JSON.stringify(aboveBaseline(baseline, tcpByKind()))}`);
  if (watch.errors.length > 0) failures.push(`process errors:\n${describeErrors(watch)}`);

  t.diagnostic(`test ${since(testStarted)} ms in all`);
  if (failures.length > 0) assert.fail(`${tag}\n${failures.join('\n\n')}`);
});
