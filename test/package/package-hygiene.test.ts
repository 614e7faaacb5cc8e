/**
 * What the published package is: a LICENSE, no install-time scripts for consumers (the
 * tarball's package.json has no `prepare`: prepack strips it, postpack restores the repo's
 * byte for byte), and the names the README's example uses exported from the root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as root from '../../ts/index.js';

const repo = resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { license: string; scripts: Record<string, string>; files: string[] };

test('LICENSE is there and says what package.json says', () => {
  const text = readFileSync(join(repo, 'LICENSE'), 'utf8');
  assert.equal(manifest.license, 'MIT');
  assert.match(text, /^MIT License/);
});

test('no script a consumer would run at install; prepare only for a clone, stripped from the tarball', (t) => {
  for (const s of ['preinstall', 'install', 'postinstall']) assert.equal(manifest.scripts[s], undefined, s);
  assert.equal(manifest.scripts.prepare, 'npm run build');
  assert.match(manifest.scripts.prepack!, /npm run build && node scripts\/pack-manifest\.mjs strip/);
  assert.equal(manifest.scripts.postpack, 'node scripts/pack-manifest.mjs restore');
  const dir = mkdtempSync(join(tmpdir(), 'spx-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(repo, 'scripts/pack-manifest.mjs'), join(dir, 'scripts/pack-manifest.mjs'));
  copyFileSync(join(repo, 'package.json'), join(dir, 'package.json'));
  const original = readFileSync(join(dir, 'package.json'));
  const run = (mode: string): void => {
    const r = spawnSync(process.execPath, ['scripts/pack-manifest.mjs', mode], { cwd: dir, encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
  };
  run('strip');
  const packed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof manifest;
  assert.equal(packed.scripts.prepare, undefined, 'the tarball has no prepare script');
  assert.equal(packed.scripts.postpack, manifest.scripts.postpack, 'postpack still runs to restore');
  run('restore');
  assert.deepEqual(readFileSync(join(dir, 'package.json')), original, 'restored byte for byte');
  assert.equal(existsSync(join(dir, 'package.json.prepack')), false);
});

test('the root exports the helpers, their option types and the certificate helpers', () => {
  for (const name of [
    'SmartProxy',
    'SmartProxyConfigError',
    'createHttpRoute',
    'createHttpsTerminateRoute',
    'createHttpsPassthroughRoute',
    'createHttpToHttpsRedirect',
    'createCompleteHttpsServer',
    'createLoadBalancerRoute',
    'createSocketHandlerRoute',
    'createWebSocketRoute',
    'createPortRange',
    'createPortMappingRoute',
    'createOffsetPortMappingRoute',
    'SocketHandlers',
    'createCertificateAuthority',
    'createSignedCertificate',
    'createSelfSignedCertificate',
  ]) {
    assert.ok(name in root, `${name} is exported from the package root`);
  }
  assert.equal('createSmartProxyWith' in root, false, 'the clock/ticker injection stays internal');
  assert.equal(root.SmartProxy.length, 1, 'the constructor takes options only');
});
