/**
 * Runs an external server (haproxy, nginx) in the foreground from a config in a
 * temp dir: waits for its port, fails fast with its stderr if it exits, kills it
 * (SIGTERM, then SIGKILL) and removes the temp dir on close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { waitForPort } from './net-util.js';

export interface ISpawnedServer {
  pid: number;
  close(): Promise<void>;
}

export async function spawnServer(cmd: string, args: string[], port: number, dir: string): Promise<ISpawnedServer> {
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 10_000) stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await Promise.race([
      waitForPort(port, 10_000),
      exited.then(() => {
        throw new Error(`${cmd} exited early: ${stderr.trim()}`);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  return {
    pid: child.pid ?? 0,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      cleanup();
    },
  };
}
