/** Forks options-proxy-child.ts: a SmartProxy with caller-chosen options in its own process. */
import { fork, type ChildProcess } from 'node:child_process';
import type { ChildProxyOptions, IProxyStats, OptionsChildToParent, OptionsParentToChild } from './options-proxy-child.js';
import type { IProxyUnderTest } from './proxy-process.js';
import { TSX_IMPORT, siblingScript } from './net-util.js';

export type { ChildProxyOptions, IProxyStats };

export interface IConfiguredProxy extends IProxyUnderTest {
  /** The proxy's own getStats() totals. */
  stats(): Promise<IProxyStats>;
}

const CHILD = siblingScript(import.meta.dirname, 'options-proxy-child');

type Reply<T extends OptionsChildToParent['type']> = Extract<OptionsChildToParent, { type: T }>;

/** Starts SmartProxy (one L4 forward route to targetPort) with `options` in a child process. */
export function startConfiguredSmartProxy(
  targetPort: number,
  options: ChildProxyOptions,
  name: string,
  protocol?: 'tcp' | 'http',
): Promise<IConfiguredProxy> {
  const child: ChildProcess = fork(CHILD, [JSON.stringify({ targetPort, options, protocol })], {
    execArgv: [...TSX_IMPORT],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const request = <T extends OptionsChildToParent['type']>(msg: OptionsParentToChild, want: T, timeoutMs = 5000): Promise<Reply<T>> =>
    new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMsg);
        reject(new Error(`${name}: no '${want}' reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMsg = (m: OptionsChildToParent): void => {
        if (m.type !== want && m.type !== 'error') return;
        clearTimeout(timer);
        child.off('message', onMsg);
        if (m.type === 'error') reject(new Error(`${name}: ${m.message}`));
        else resolvePromise(m as Reply<T>);
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
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      rejectStart(new Error(`${name}: exited with ${code} before ready`));
    };
    const onMsg = (m: OptionsChildToParent): void => {
      if (m.type !== 'ready' && m.type !== 'error') return;
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
      if (m.type === 'error') {
        rejectStart(new Error(`${name}: ${m.message}`));
        return;
      }
      resolveStart({
        name,
        port: m.port,
        cpuMs: async () => (await request({ type: 'cpu' }, 'cpu')).ms,
        stats: async () => (await request({ type: 'stats' }, 'stats')).stats,
        close: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          if (child.connected) child.send({ type: 'stop' });
          const t = setTimeout(() => child.kill('SIGKILL'), 8000);
          await exited;
          clearTimeout(t);
        },
      });
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}
