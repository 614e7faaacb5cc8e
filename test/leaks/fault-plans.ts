/**
 * Fault-injection plans: what one client connection does (and what it asks the faulty
 * backend to do), drawn from a seeded PRNG so a run can be replayed from its seed, and the
 * executor that carries a plan out against real sockets, bounded in time.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Rng } from '../protocol/helpers/rng.js';
import { hello, sniExt } from '../protocol/helpers/hello-builder.js';
import { faultHeader, type BackendFault } from './faulty-backend.js';

export type PlainAction =
  | 'destroy-before-send'
  | 'rst-before-send'
  | 'partial-destroy'
  | 'partial-rst'
  | 'partial-fin'
  | 'midstream-destroy'
  | 'midstream-rst'
  | 'half-close'
  | 'complete';

export type TlsAction =
  | 'tls-complete'
  | 'tls-half-close'
  | 'tls-partial-hello-destroy'
  | 'tls-partial-hello-rst'
  | 'tls-partial-hello-fin'
  | 'tls-abort-handshake'
  | 'tls-rst-after-handshake';

export interface IPlan {
  index: number;
  target: 'plain' | 'refused' | 'tls';
  action: PlainAction | TlsAction;
  fault: BackendFault;
  faultOffset: number;
  payloadLen: number;
  /** Bytes written before a partial abort, or echoed bytes awaited before a mid-stream abort. */
  cut: number;
  /** destroy/RST before 'connect' fired (only for the *-before-send actions). */
  early: boolean;
}

export interface IPlanResult {
  plan: IPlan;
  outcome: 'ok' | 'integrity' | 'hung';
  detail?: string;
  ms: number;
}

export interface IPorts {
  plain: number;
  refused: number;
  tls: number;
}

export interface ITlsTarget {
  servername: string;
  ca: string;
  /** Greeting the TLS backend sends first (`<name> sni=<servername>\n`). */
  greeting: string;
}

const PLAIN_ACTIONS: readonly PlainAction[] = [
  'destroy-before-send', 'rst-before-send', 'partial-destroy', 'partial-rst', 'partial-fin',
  'midstream-destroy', 'midstream-rst', 'half-close', 'complete',
];
const TLS_ACTIONS: readonly TlsAction[] = [
  'tls-complete', 'tls-half-close', 'tls-partial-hello-destroy', 'tls-partial-hello-rst',
  'tls-partial-hello-fin', 'tls-abort-handshake', 'tls-rst-after-handshake',
];
const REFUSED_ACTIONS: readonly PlainAction[] = ['complete', 'half-close', 'partial-fin', 'rst-before-send'];

/** One plan per connection; all randomness comes from `rng`, in index order. */
export function makePlans(rng: Rng, count: number): IPlan[] {
  const plans: IPlan[] = [];
  for (let index = 0; index < count; index++) {
    const r = rng.next();
    const target: IPlan['target'] = r < 0.15 ? 'tls' : r < 0.22 ? 'refused' : 'plain';
    const action = target === 'tls' ? rng.pick(TLS_ACTIONS) : target === 'refused' ? rng.pick(REFUSED_ACTIONS) : rng.pick(PLAIN_ACTIONS);
    // Mostly small payloads; one in ten large enough to exercise backpressure.
    const payloadLen = rng.next() < 0.1 ? rng.range(64 * 1024, 512 * 1024) : rng.range(1, 16 * 1024);
    const fault: BackendFault = rng.next() < 0.5 ? 'echo' : rng.pick(['destroy', 'reset', 'end'] as const);
    plans.push({
      index,
      target,
      action,
      fault,
      faultOffset: rng.range(0, payloadLen),
      payloadLen,
      cut: rng.range(1, payloadLen),
      early: rng.next() < 0.3,
    });
  }
  return plans;
}

export function describePlan(p: IPlan): string {
  return `#${p.index} ${p.target}/${p.action} fault=${p.fault}@${p.faultOffset} len=${p.payloadLen} cut=${p.cut}${p.early ? ' early' : ''}`;
}

/** Deterministic payload bytes for a plan (no PRNG draw, so plans stay independent of sizes). */
export function payloadFor(p: IPlan): Buffer {
  const b = Buffer.allocUnsafe(p.payloadLen);
  for (let j = 0; j < b.length; j++) b[j] = (j * 31 + p.index) & 0xff;
  return b;
}

/** A socket's received bytes, end/close state and a way to await a condition (or close). */
class Observed {
  readonly chunks: Buffer[] = [];
  size = 0;
  closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(socket: net.Socket) {
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      this.notify();
    });
    socket.once('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** Resolves once `pred()` holds or the socket has closed. */
  until(pred: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.closed || pred()) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  closedP(): Promise<void> {
    return this.until(() => false);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function connectPlain(port: number, allowHalfOpen: boolean): net.Socket {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
  s.on('error', () => {});
  return s;
}

function connected(s: net.Socket, o: Observed): Promise<boolean> {
  if (!s.connecting) return Promise.resolve(!s.destroyed);
  return new Promise((resolve) => {
    s.once('connect', () => resolve(true));
    void o.closedP().then(() => resolve(false));
  });
}

/** Runs one plan; never rejects. A plan still running after `timeoutMs` is 'hung' and destroyed. */
export async function runPlan(plan: IPlan, ports: IPorts, tlsTarget: ITlsTarget, timeoutMs: number): Promise<IPlanResult> {
  const started = performance.now();
  const sockets: net.Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), timeoutMs);
  });
  const work = (plan.target === 'tls' ? runTls(plan, ports.tls, tlsTarget, sockets) : runPlainPlan(plan, ports, sockets)).catch(
    (err: unknown) => `threw: ${err instanceof Error ? err.message : String(err)}`,
  );
  const r = await Promise.race([work, hung]);
  clearTimeout(timer);
  const ms = Math.round(performance.now() - started);
  if (r === 'hung') {
    const state = sockets.map((s) => `destroyed=${s.destroyed} readable=${s.readable} writable=${s.writable}`).join('; ');
    for (const s of sockets) s.destroy();
    return { plan, outcome: 'hung', detail: state, ms };
  }
  return r === undefined ? { plan, outcome: 'ok', ms } : { plan, outcome: 'integrity', detail: r, ms };
}

/** Returns undefined when all is well, else what went wrong. */
async function runPlainPlan(plan: IPlan, ports: IPorts, sockets: net.Socket[]): Promise<string | undefined> {
  const action = plan.action as PlainAction;
  const port = plan.target === 'refused' ? ports.refused : ports.plain;
  const s = connectPlain(port, action === 'half-close');
  sockets.push(s);
  const o = new Observed(s);
  if (action === 'destroy-before-send' || action === 'rst-before-send') {
    if (!plan.early) await connected(s, o);
    if (action === 'destroy-before-send') s.destroy();
    else s.resetAndDestroy();
    await o.closedP();
    return undefined;
  }
  if (!(await connected(s, o))) return plan.target === 'refused' ? undefined : 'client connect failed';
  const payload = payloadFor(plan);
  const data = Buffer.concat([faultHeader(plan.fault, plan.faultOffset), payload]);
  switch (action) {
    case 'partial-destroy':
    case 'partial-rst':
    case 'partial-fin': {
      s.write(data.subarray(0, Math.min(plan.cut, data.length - 1)));
      if (action === 'partial-destroy') s.destroy();
      else if (action === 'partial-rst') s.resetAndDestroy();
      else s.end();
      await o.closedP();
      return undefined;
    }
    case 'midstream-destroy':
    case 'midstream-rst': {
      s.write(data);
      await o.until(() => o.size >= plan.cut);
      if (action === 'midstream-destroy') s.destroy();
      else s.resetAndDestroy();
      await o.closedP();
      return undefined;
    }
    case 'half-close': {
      s.end(data);
      await o.closedP();
      return checkEcho(plan, o, payload);
    }
    case 'complete': {
      s.write(data);
      await o.until(() => o.size >= payload.length);
      const verdict = checkEcho(plan, o, payload);
      s.end();
      await o.closedP();
      return verdict;
    }
  }
}

/** With a well-behaved backend on a routable port, the echo must be byte-exact. */
function checkEcho(plan: IPlan, o: Observed, payload: Buffer): string | undefined {
  if (plan.target === 'refused') return o.size === 0 ? undefined : `refused route answered ${o.size} bytes`;
  if (plan.fault !== 'echo') return o.size <= payload.length ? undefined : `got ${o.size} > ${payload.length} bytes`;
  const got = o.bytes();
  if (got.length !== payload.length) return `echo ${got.length} of ${payload.length} bytes`;
  return got.equals(payload) ? undefined : 'echo differs from payload';
}

let helloCache: Buffer | undefined;

async function runTls(plan: IPlan, port: number, target: ITlsTarget, sockets: net.Socket[]): Promise<string | undefined> {
  const action = plan.action as TlsAction;
  const raw = connectPlain(port, false);
  sockets.push(raw);
  const ro = new Observed(raw);
  if (!(await connected(raw, ro))) return 'client connect failed';
  if (action === 'tls-partial-hello-destroy' || action === 'tls-partial-hello-rst' || action === 'tls-partial-hello-fin') {
    helloCache ??= hello({ extensions: [sniExt(target.servername)] });
    raw.write(helloCache.subarray(0, 1 + (plan.cut % (helloCache.length - 1))));
    if (action === 'tls-partial-hello-destroy') raw.destroy();
    else if (action === 'tls-partial-hello-rst') raw.resetAndDestroy();
    else raw.end();
    await ro.closedP();
    return undefined;
  }
  const halfOpen = action === 'tls-half-close';
  const options: tls.ConnectionOptions = { socket: raw, servername: target.servername, ca: [target.ca] };
  Object.assign(options, { allowHalfOpen: halfOpen });
  const s = tls.connect(options);
  sockets.push(s);
  const o = new Observed(s);
  if (action === 'tls-abort-handshake') {
    // 'keylog' fires mid-handshake, once the ServerHello has been processed.
    s.once('keylog', () => s.destroy());
    await o.closedP();
    raw.destroy();
    return undefined;
  }
  const greeting = Buffer.byteLength(target.greeting);
  await o.until(() => o.size >= greeting);
  if (o.closed) return `tls closed after ${o.size} bytes before the greeting`;
  const payload = payloadFor(plan);
  if (action === 'tls-rst-after-handshake') {
    s.write(payload);
    await o.until(() => o.size >= greeting + Math.min(plan.cut, payload.length));
    raw.resetAndDestroy();
    await o.closedP();
    return undefined;
  }
  if (halfOpen) s.end(payload);
  else s.write(payload);
  await o.until(() => o.size >= greeting + payload.length);
  if (!halfOpen) s.end();
  await o.closedP();
  const got = o.bytes();
  const want = Buffer.concat([Buffer.from(target.greeting), payload]);
  if (!got.equals(want)) return `tls echo ${got.length} of ${want.length} bytes${got.subarray(0, greeting).toString() === target.greeting ? '' : ' (bad greeting)'}`;
  return undefined;
}
