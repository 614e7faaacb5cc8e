/**
 * HAProxy as a reference proxy: `mode tcp` (L4 benchmark) or `mode http` with
 * `http-reuse always`, optionally terminating TLS (HTTP benchmark). Writes a
 * config into a temp dir and runs `haproxy -f cfg -db` (foreground).
 * Single-threaded (nbthread 1) so it is compared like-for-like with one Node process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net-util.js';
import { spawnServer } from './spawn-server.js';

export interface IHaproxy {
  port: number;
  pid: number;
  version: string;
  close(): Promise<void>;
}

export const HAPROXY_INSTALL_HINT = 'haproxy not installed (Debian/Ubuntu: apt-get install haproxy; macOS: brew install haproxy)';

/** The first line of `haproxy -v`, or undefined when haproxy is not installed. */
export function haproxyVersion(): string | undefined {
  const r = spawnSync('haproxy', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) return undefined;
  const m = /version (\S+)/.exec(r.stdout);
  return m ? `HAProxy ${m[1]}` : 'HAProxy (unknown version)';
}

const GLOBAL = [
  'global',
  '  maxconn 4000', // needs ~2 fds per connection; stays under a 20 000 fd limit
  '  nbthread 1',
];

export function haproxyTcpConfig(listenPort: number, targetPort: number): string {
  return [
    ...GLOBAL,
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

/** `mode http`, keep-alive both sides, idle server connections shared (http-reuse always); TLS when `pemFile` is set. */
export function haproxyHttpConfig(listenPort: number, targetPort: number, pemFile?: string): string {
  return [
    ...GLOBAL,
    '  tune.bufsize 32768',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 60s',
    'frontend fe',
    `  bind 127.0.0.1:${listenPort}${pemFile ? ` ssl crt ${pemFile}` : ''}`,
    '  default_backend be',
    'backend be',
    '  http-reuse always',
    `  server s1 127.0.0.1:${targetPort}`,
    '',
  ].join('\n');
}

async function startHaproxy(makeConfig: (port: number, dir: string) => string): Promise<IHaproxy | { skipped: string }> {
  const version = haproxyVersion();
  if (version === undefined) return { skipped: HAPROXY_INSTALL_HINT };
  const dir = mkdtempSync(join(tmpdir(), 'spx-bench-haproxy-'));
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, makeConfig(port, dir));
  const s = await spawnServer('haproxy', ['-f', cfg, '-db'], port, dir);
  return { port, pid: s.pid, version, close: s.close };
}

/** Starts HAProxy mode tcp forwarding to 127.0.0.1:targetPort; returns a reason when it is missing. */
export function startHaproxyTcp(targetPort: number): Promise<IHaproxy | { skipped: string }> {
  return startHaproxy((port) => haproxyTcpConfig(port, targetPort));
}

/** Starts HAProxy mode http in front of 127.0.0.1:targetPort, terminating TLS with `tls` when given. */
export function startHaproxyHttp(
  targetPort: number,
  tls?: { key: string; cert: string },
): Promise<IHaproxy | { skipped: string }> {
  return startHaproxy((port, dir) => {
    let pem: string | undefined;
    if (tls) {
      pem = join(dir, 'bench.pem');
      writeFileSync(pem, `${tls.cert.trim()}\n${tls.key.trim()}\n`, { mode: 0o600 });
    }
    return haproxyHttpConfig(port, targetPort, pem);
  });
}
