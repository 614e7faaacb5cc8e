/**
 * Running bad-input cases against a proxy: a raw client per case (bounded in time), a
 * healthy connection that keeps echoing pings meanwhile, and matching the reasons the
 * proxy reported against the reasons each case allows.
 */
import * as net from 'node:net';
import { waitFor, delay } from '../helpers/leaks.js';
import type { IBadCase } from './bad-inputs.js';

export interface IBadResult {
  c: IBadCase;
  /** ms from connect until the proxy closed the connection. */
  ms: number;
  received: number;
  timedOut: boolean;
}

/** Connects, writes the case's chunks (one per turn), optionally FINs, and waits for the proxy to close. */
export function runBad(port: number, c: IBadCase, timeoutMs: number): Promise<IBadResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const s = net.connect({ port, host: '127.0.0.1' });
    let received = 0;
    let timedOut = false;
    s.on('error', () => {});
    s.on('data', (d: Buffer) => void (received += d.length));
    const timer = setTimeout(() => {
      timedOut = true;
      s.destroy();
    }, timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ c, ms: Math.round(performance.now() - started), received, timedOut });
    });
    s.once('connect', async () => {
      for (const chunk of c.chunks) {
        if (s.destroyed) return;
        s.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
      if (c.fin && !s.destroyed) s.end();
    });
  });
}

export interface IPinger {
  /** Echoes checked so far. */
  readonly roundTrips: number;
  /** Resolves after `n` more round trips; rejects when the pinger has failed or after 3 s. */
  more(n: number): Promise<void>;
  /** Stops after the round trip in flight; resolves with the count and the first failure, if any. */
  stop(): Promise<{ roundTrips: number; error: string | undefined }>;
}

/**
 * Sends `ping-NNNNNN\n` every `intervalMs` over an echoing connection and checks each echo
 * within 2 s. `skip` bytes already expected before the echo (a greeting) are ignored.
 */
export function startPinger(socket: net.Socket, skip: number, intervalMs = 10): IPinger {
  let received = Buffer.alloc(0);
  let closed = false;
  let stopping = false;
  let roundTrips = 0;
  let error: string | undefined;
  socket.on('data', (d: Buffer) => void (received = Buffer.concat([received, d])));
  socket.once('close', () => void (closed = true));
  const loop = (async () => {
    while (!stopping) {
      const msg = `ping-${String(roundTrips).padStart(6, '0')}\n`;
      const want = skip + (roundTrips + 1) * msg.length;
      socket.write(msg);
      try {
        await waitFor(() => closed || received.length >= want, 2000, { intervalMs: 2 });
      } catch {
        error = `no echo of ${msg.trim()} within 2 s`;
        return;
      }
      if (received.length < want) {
        error = `healthy connection closed after ${roundTrips} round trips`;
        return;
      }
      const got = received.subarray(want - msg.length, want).toString('latin1');
      if (got !== msg) {
        error = `echo ${JSON.stringify(got)} for ${JSON.stringify(msg)}`;
        return;
      }
      roundTrips++;
      await delay(intervalMs);
    }
  })();
  return {
    get roundTrips() {
      return roundTrips;
    },
    async more(n: number) {
      const target = roundTrips + n;
      await waitFor(() => error !== undefined || roundTrips >= target, 3000, { message: () => `healthy connection: ${roundTrips} of ${target} round trips` });
      if (error !== undefined) throw new Error(`healthy connection: ${error}`);
    },
    async stop() {
      stopping = true;
      await loop;
      return { roundTrips, error };
    },
  };
}

/**
 * True when every observed reason can be assigned to a distinct case that allows it and
 * every case gets one (a perfect bipartite matching, by augmenting paths).
 */
export function reasonsMatch(cases: readonly IBadCase[], observed: readonly string[]): boolean {
  if (cases.length !== observed.length) return false;
  const owner = new Array<number>(observed.length).fill(-1);
  const tryCase = (ci: number, seen: boolean[]): boolean => {
    for (let oi = 0; oi < observed.length; oi++) {
      if (seen[oi] || !cases[ci]!.reasons.includes(observed[oi]!)) continue;
      seen[oi] = true;
      if (owner[oi] === -1 || tryCase(owner[oi]!, seen)) {
        owner[oi] = ci;
        return true;
      }
    }
    return false;
  };
  return cases.every((_, ci) => tryCase(ci, new Array<boolean>(observed.length).fill(false)));
}

/** `{ reason: count }` of a list, sorted by reason, for messages. */
export function tally(list: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of [...list].sort()) out[r] = (out[r] ?? 0) + 1;
  return out;
}
