/**
 * The 19.6-style tables of test/compat/tables/ type-check unchanged: the repo's TypeScript
 * (node_modules/typescript, TypeScript 7: `bin/tsc` execs the native compiler) with `--strict
 * --noEmit` and the repo's module settings (test/compat/tsconfig.json extends tsconfig.json:
 * NodeNext, ES2022, types node). Every diagnostic is printed; the test wants none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: Buffer.concat(chunks).toString('utf8'), timedOut });
    });
  });
}

test('the eleven 19.6 tables type-check with tsc --strict --noEmit', { timeout: 60_000 }, async () => {
  const project = relative(repo, join(here, 'tsconfig.json'));
  const r = await run(['-p', project, '--strict', '--noEmit', '--pretty', 'false'], 55_000);
  assert.equal(r.timedOut, false, `tsc did not finish in time:\n${r.out}`);
  const errors = r.out.split('\n').filter((l) => /error TS\d+/.test(l));
  const inTables = errors.filter((l) => l.includes('test/compat/tables/'));
  if (errors.length > 0 || r.code !== 0) {
    console.log(`tsc reported ${errors.length} error(s), ${inTables.length} in test/compat/tables/:\n${r.out}`);
  }
  assert.deepEqual(errors, [], `${errors.length} type error(s) (${inTables.length} in the tables):\n${errors.join('\n')}`);
  assert.equal(r.code, 0, r.out);
});
