/**
 * The README's example is complete: the block after the `readme-example` marker type-checks
 * as written (strict, importing '@smartproxy/core' by its package name, which resolves to
 * this package) and runs: HTTPS on its port answers from the app, HTTP redirects there, the
 * TCP forward reaches the app, and SIGINT stops it. Its ports are swapped for free ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join, resolve } from 'node:path';
import { freePorts } from '../integration/harness.js';
import { runCurl } from '../helpers/clients.js';

const repo = resolve(import.meta.dirname, '../..');

function exampleSource(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- readme-example');
  assert.ok(at >= 0, 'README marks its example');
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'a ts block follows the marker');
  return m[1]!;
}

test('the README example type-checks and runs', { timeout: 60_000 }, async (t) => {
  const dir = join(repo, '.readme-example');
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [app, https, http, tcp] = await freePorts(4);
  const source = exampleSource()
    .replace(/\b3000\b/g, String(app))
    .replace(/\b8443\b/g, String(https))
    .replace(/\b8080\b/g, String(http))
    .replace(/\b9000\b/g, String(tcp));
  const file = join(dir, 'example.mts');
  writeFileSync(file, source);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: true }, files: ['example.mts'] }),
  );
  const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, encoding: 'utf8', timeout: 40_000 });
  assert.equal(tsc.status, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);

  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes('listening on')) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const res = await runCurl(['-k', '--resolve', `app.localhost:${https}:127.0.0.1`, `https://app.localhost:${https}/hi`]);
  assert.equal(res.stdout, 'hello from the app: GET /hi\n', res.stderr);
  const redirect = await runCurl(['-i', '--resolve', `app.localhost:${http}:127.0.0.1`, `http://app.localhost:${http}/x?y=1`]);
  assert.match(redirect.stdout, /^HTTP\/1\.1 301/);
  assert.match(redirect.stdout, new RegExp(`location: https://app\\.localhost:${https}/x\\?y=1`, 'i'));
  const viaTcp = await new Promise<string>((done, fail) => {
    const s = net.connect(tcp!, '127.0.0.1', () => s.write('GET /tcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let body = '';
    s.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => done(body)).on('error', fail);
  });
  assert.match(viaTcp, /hello from the app: GET \/tcp/);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0, out);
  assert.match(out, /served \d+ requests/);
});
