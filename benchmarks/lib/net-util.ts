/** Small socket utilities shared by the benchmark pieces (loopback only). */
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join, resolve } from 'node:path';

/** A port that was free a moment ago on 127.0.0.1 (for servers that need the number up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds; rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not accepting after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A net.Server that remembers its sockets so close() can destroy them all. */
export interface IClosable {
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (port 0 unless given) and returns a close() that destroys open sockets. */
export async function listenTracked(server: net.Server, port = 0): Promise<IClosable> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Node flags a child script needs: `--import <tsx loader>` when the benchmarks run from their
 * TypeScript sources, nothing when they run compiled (`npm run bench` compiles them to
 * dist_bench/, so no proxy under test carries a TypeScript loader in its heap).
 */
const RUNNING_TS = import.meta.url.endsWith('.ts');
export const TSX_IMPORT: readonly string[] = RUNNING_TS ? ['--import', import.meta.resolve('tsx')] : [];

/** The script `base` beside the calling module, in the form (.ts or .js) this run uses. */
export function siblingScript(dir: string, base: string): string {
  return resolve(dir, `${base}${RUNNING_TS ? '.ts' : '.js'}`);
}

/** The repository root (the nearest folder above this file with a package.json). */
export const REPO_ROOT: string = (() => {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('benchmarks: repository root not found');
    dir = up;
  }
  return dir;
})();
