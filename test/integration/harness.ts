/**
 * Starting a SmartProxy in a test: free ports, a silent logger, and a stop on t.after.
 */
import * as net from 'node:net';
import { pino } from 'pino';
import { SmartProxy, createSmartProxyWith, type SmartProxyInternals } from '../../ts/smart-proxy.js';
import type { ISmartProxyOptions } from '../../ts/types.js';

/** A port that was free a moment ago (bind :0, read, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

export const silentLogger = pino({ level: 'silent' });

export interface TestContextLike {
  after(fn: () => unknown): void;
}

/** Start a proxy bound to 127.0.0.1; it is stopped (without grace) after the test. */
export async function startProxy(
  t: TestContextLike,
  options: Omit<ISmartProxyOptions, 'logger'> & { logger?: ISmartProxyOptions['logger'] },
  internals?: SmartProxyInternals,
): Promise<SmartProxy> {
  const all: ISmartProxyOptions = { listenAddress: '127.0.0.1', gracefulShutdownTimeout: 0, logger: silentLogger, ...options };
  const proxy = internals ? createSmartProxyWith(all, internals) : new SmartProxy(all);
  await proxy.start();
  t.after(() => proxy.stop());
  return proxy;
}
