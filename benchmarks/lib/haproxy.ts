/**
 * HAProxy in `mode tcp` as a reference L4 proxy: writes a config into a temp
 * dir, runs `haproxy -f cfg -db` (foreground), waits for the port, kills on close.
 * Single-threaded (nbthread 1) so it is compared like-for-like with one Node process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './net-util.js';

export interface IHaproxy {
  port: number;
  pid: number;
  version: string;
  close(): Promise<void>;
}

/** The first line of `haproxy -v`, or undefined when haproxy is not installed. */
export function haproxyVersion(): string | undefined {
  const r = spawnSync('haproxy', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) return undefined;
  const m = /version (\S+)/.exec(r.stdout);
  return m ? `HAProxy ${m[1]}` : 'HAProxy (unknown version)';
}

export function haproxyTcpConfig(listenPort: number, targetPort: number): string {
  return [
    'global',
    '  maxconn 4000', // needs ~2 fds per connection; stays under a 20 000 fd limit
    '  nbthread 1',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend fe',
    `  bind 127.0.0.1:${listenPort}`,
    '  default_backend be',
    'backend be',
    `  server s1 127.0.0.1:${targetPort}`,
    '',
  ].join('\n');
}

/** Starts HAProxy forwarding to 127.0.0.1:targetPort; returns undefined (with a reason) when it is missing. */
export async function startHaproxyTcp(targetPort: number): Promise<IHaproxy | { skipped: string }> {
  const version = haproxyVersion();
  if (version === undefined) return { skipped: 'haproxy not installed (apt-get install haproxy)' };
  const dir = mkdtempSync(join(tmpdir(), 'spx-bench-haproxy-'));
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyTcpConfig(port, targetPort));
  const child: ChildProcess = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
        throw new Error(`haproxy exited early: ${stderr}`);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  return {
    port,
    pid: child.pid ?? 0,
    version,
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
