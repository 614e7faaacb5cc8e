/**
 * nginx as a reference HTTP reverse proxy: one worker process, keep-alive to the
 * client and to the origin (upstream keepalive 64, HTTP/1.1, Connection ""),
 * access log off, buffers large enough that a 64 KiB body never touches a temp
 * file, optionally terminating TLS. Config, pid, logs and temp paths live in a
 * temp dir; runs `nginx -c cfg -g 'daemon off;'`. Its CPU time is the master plus
 * its worker (procTreeCpuMs).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net-util.js';
import { spawnServer } from './spawn-server.js';

export const NGINX_INSTALL_HINT =
  'nginx not installed (Debian/Ubuntu: apt-get install nginx-light or nginx; macOS: brew install nginx)';

export interface INginx {
  port: number;
  pid: number;
  version: string;
  close(): Promise<void>;
}

/** "nginx 1.22.1", or undefined when nginx is not installed (it prints its version on stderr). */
export function nginxVersion(): string | undefined {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) return undefined;
  const m = /nginx\/(\S+)/.exec(`${r.stderr}${r.stdout}`);
  return m ? `nginx ${m[1]}` : 'nginx (unknown version)';
}

/**
 * The opening of an nginx config running unprivileged in `dir`: one worker, pid, error log and
 * temp paths there, access log off; ends inside the open `http {` block.
 */
export function nginxPrelude(dir: string, workerConnections: number): string {
  const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return `${runningAsRoot ? 'user root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
`;
}

export function nginxConfig(dir: string, listenPort: number, targetPort: number, tls?: { certFile: string; keyFile: string }): string {
  return `${nginxPrelude(dir, 4096)}  keepalive_timeout 60s;
  keepalive_requests 1000000;
  client_body_buffer_size 128k;
  upstream be {
    server 127.0.0.1:${targetPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${listenPort}${tls ? ' ssl' : ''};
${tls ? `    ssl_certificate ${tls.certFile};\n    ssl_certificate_key ${tls.keyFile};\n` : ''}    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      proxy_busy_buffers_size 32k;
    }
  }
}
`;
}

/** Starts nginx in front of 127.0.0.1:targetPort, terminating TLS with `tls` when given; a reason when missing. */
export async function startNginx(targetPort: number, tls?: { key: string; cert: string }): Promise<INginx | { skipped: string }> {
  const version = nginxVersion();
  if (version === undefined) return { skipped: NGINX_INSTALL_HINT };
  const dir = mkdtempSync(join(tmpdir(), 'spx-bench-nginx-'));
  chmodSync(dir, 0o755);
  let files: { certFile: string; keyFile: string } | undefined;
  if (tls) {
    files = { certFile: join(dir, 'bench.crt'), keyFile: join(dir, 'bench.key') };
    writeFileSync(files.certFile, tls.cert);
    writeFileSync(files.keyFile, tls.key, { mode: 0o600 });
  }
  const port = await freePort();
  const cfg = join(dir, 'nginx.conf');
  writeFileSync(cfg, nginxConfig(dir, port, targetPort, files));
  // -e: nginx >= 1.19.5 opens its default error log before reading the config; point it at the temp dir too.
  const s = await spawnServer('nginx', ['-e', join(dir, 'startup.log'), '-c', cfg, '-g', 'daemon off;'], port, dir);
  return { port, pid: s.pid, version, close: s.close };
}
