/** Proxies under test, each in its own process, with a uniform handle for the benchmark. */
import { fork, type ChildProcess } from 'node:child_process';
import type { IProxyChildConfig, ProxyKind } from './proxy-child.js';
import type { BenchProxyOptions } from './smartproxy-module.js';
import type { ChildToParent, IProcessMemory, IProxyStats, ParentToChild } from './child-ipc.js';
import { startHaproxyTcp } from './haproxy.js';
import { procCpuMs, procMinorFaults } from './cpu.js';
import { TSX_IMPORT, siblingScript } from './net-util.js';

export interface IProxyUnderTest {
  name: string;
  port: number;
  /** Cumulative CPU ms of the proxy process (take deltas around a run). */
  cpuMs(): Promise<number>;
  /** Cumulative minor page faults of the proxy process, where it has one of its own. */
  minorFaults?(): number;
  close(): Promise<void>;
}

/** A proxy in a child process of its own (child-ipc.ts); `stats` answers for SmartProxy children. */
export interface IChildProxyUnderTest extends IProxyUnderTest {
  stats(): Promise<IProxyStats>;
  /** Memory after full collections (the child must run with --expose-gc). */
  mem(): Promise<IProcessMemory>;
}

const CHILD = siblingScript(import.meta.dirname, 'proxy-child');

/** Forks proxy-child running a pipe relay or SmartProxy in front of targetPort. */
export function startNodeProxy(kind: ProxyKind, targetPort: number, name: string): Promise<IProxyUnderTest> {
  return forkProxyChild(CHILD, { kind, targetPort } satisfies IProxyChildConfig, name);
}

/** SmartProxy (one forward route to targetPort) with `options` over the benchmark defaults, in a child process. */
export function startConfiguredSmartProxy(targetPort: number, options: BenchProxyOptions, name: string, protocol?: 'tcp' | 'http'): Promise<IChildProxyUnderTest> {
  return forkProxyChild(CHILD, { kind: 'smartproxy', targetPort, options, ...(protocol ? { protocol } : {}) } satisfies IProxyChildConfig, name);
}

/**
 * Forks `childFile` (through tsx when the benchmarks run from source) with `config` as JSON in
 * argv[2]; the child serves the child-ipc.ts protocol and reports its own CPU time.
 * `nodeArgs` go to the child's node (e.g. --expose-gc for `mem`).
 */
export function forkProxyChild(childFile: string, config: object, name: string, nodeArgs: string[] = []): Promise<IChildProxyUnderTest> {
  const child: ChildProcess = fork(childFile, [JSON.stringify(config)], {
    execArgv: [...TSX_IMPORT, ...nodeArgs, ...(process.env.BENCH_CHILD_ARGS ? process.env.BENCH_CHILD_ARGS.split(' ') : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const request = <T extends ChildToParent['type']>(msg: ParentToChild, want: T, timeoutMs: number) =>
    new Promise<Extract<ChildToParent, { type: T }>>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMsg);
        reject(new Error(`${name}: no '${want}' reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMsg = (m: ChildToParent): void => {
        if (m.type === want || m.type === 'error') {
          clearTimeout(timer);
          child.off('message', onMsg);
          if (m.type === 'error') reject(new Error(`${name}: ${m.message}`));
          else resolvePromise(m as Extract<ChildToParent, { type: T }>);
        }
      };
      child.on('message', onMsg);
      if (child.connected) child.send(msg);
      else {
        clearTimeout(timer);
        child.off('message', onMsg);
        reject(new Error(`${name}: proxy process is gone`));
      }
    });
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`${name}: not ready within 20 s`));
    }, 20_000);
    const onMsg = (m: ChildToParent): void => {
      if (m.type === 'error') {
        clearTimeout(timer);
        child.off('message', onMsg);
        rejectStart(new Error(`${name}: ${m.message}`));
      } else if (m.type === 'ready') {
        clearTimeout(timer);
        child.off('message', onMsg);
        resolveStart({
          name,
          port: m.port,
          cpuMs: async () => (await request({ type: 'cpu' }, 'cpu', 5000)).ms,
          stats: async () => (await request({ type: 'stats' }, 'stats', 5000)).stats,
          mem: async () => (await request({ type: 'mem' }, 'mem', 20_000)).mem,
          minorFaults: () => (child.pid === undefined ? Number.NaN : procMinorFaults(child.pid)),
          close: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            if (child.connected) child.send({ type: 'stop' });
            const t = setTimeout(() => child.kill('SIGKILL'), 8000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`${name}: exited with ${code} before ready`));
    });
  });
}

/** HAProxy mode tcp in front of targetPort, or a reason why not. */
export async function startHaproxyProxy(targetPort: number): Promise<IProxyUnderTest | { skipped: string }> {
  const h = await startHaproxyTcp(targetPort);
  if ('skipped' in h) return h;
  return { name: 'haproxy', port: h.port, cpuMs: async () => procCpuMs(h.pid), minorFaults: () => procMinorFaults(h.pid), close: h.close };
}

/** The backend itself, no proxy (CPU is not attributed). */
export function direct(port: number): IProxyUnderTest {
  return { name: 'direct', port, cpuMs: async () => 0, close: async () => {} };
}
