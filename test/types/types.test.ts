/**
 * Runs the type checker (the project's own tsc, TypeScript 7) once on the type tests of the public
 * API (public-api.test-d.ts, against the built dist_ts/*.d.ts) and reports each `// #region` of that
 * file as one test: it passes when tsc reports nothing on its lines. A region titled `[todo] ...`
 * is a node:test todo (reported, never failing the run). Errors outside every region, or in other
 * files (the emitted .d.ts themselves: skipLibCheck is off), fail their own test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const project = join(here, 'tsconfig.json');
const typeTests = join(here, 'public-api.test-d.ts');
const entry = join(root, 'dist_ts/index.d.ts');

interface Diagnostic {
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}

interface Region {
  title: string;
  todo: boolean;
  start: number;
  end: number;
}

/** `// #region title` ... `// #endregion`, 1-based inclusive line ranges. */
function regionsOf(lines: readonly string[]): Region[] {
  const out: Region[] = [];
  let open: { title: string; start: number } | undefined;
  lines.forEach((text, i) => {
    const begin = /^\s*\/\/\s*#region\s+(.*\S)\s*$/.exec(text);
    if (begin) {
      assert.equal(open, undefined, `public-api.test-d.ts:${i + 1}: #region inside #region ${open?.title}`);
      open = { title: begin[1]!, start: i + 1 };
    } else if (/^\s*\/\/\s*#endregion\b/.test(text)) {
      assert.ok(open, `public-api.test-d.ts:${i + 1}: #endregion without #region`);
      const todo = /^\[todo\]\s*/i.test(open.title);
      out.push({ title: open.title.replace(/^\[todo\]\s*/i, ''), todo, start: open.start, end: i + 1 });
      open = undefined;
    }
  });
  assert.equal(open, undefined, `public-api.test-d.ts: #region ${open?.title} is never closed`);
  return out;
}

/** tsc --pretty false: `file(line,col): error TSnnnn: message`, continuation lines indented. */
function parseDiagnostics(output: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const text of output.split(/\r?\n/)) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(text);
    if (m) out.push({ file: resolve(root, m[1]!), line: Number(m[2]), column: Number(m[3]), code: m[4]!, message: m[5]! });
    else if (/^\s+\S/.test(text) && out.length > 0) out[out.length - 1]!.message += `\n      ${text.trim()}`;
  }
  return out;
}

function newestMtime(dir: string): { file: string; ms: number } {
  let best = { file: dir, ms: 0 };
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    const cand = st.isDirectory() ? newestMtime(p) : name.endsWith('.ts') ? { file: p, ms: st.mtimeMs } : best;
    if (cand.ms > best.ms) best = cand;
  }
  return best;
}

const lines = readFileSync(typeTests, 'utf8').split(/\r?\n/);
const regions = regionsOf(lines);

function show(d: Diagnostic): string {
  const where = d.file === typeTests ? `line ${d.line}` : `${relative(root, d.file)}:${d.line}`;
  let s = `  ${where}: ${d.code} ${d.message}`;
  if (d.file === typeTests) {
    // An unused @ts-expect-error means the statement under it compiled: show that statement.
    const at = d.code === 'TS2578' ? d.line : d.line - 1;
    const code = lines[at]?.trim();
    if (code) s += `\n      > ${code}`;
  }
  return s;
}

const started = Date.now();
const built = existsSync(entry);
const staleBy = built ? newestMtime(join(root, 'ts')) : undefined;
const stale = built && staleBy !== undefined && staleBy.ms > statSync(entry).mtimeMs;
const run = built && !stale
  ? spawnSync(process.execPath, [tsc, '-p', project, '--noEmit', '--pretty', 'false', '--listFiles'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    })
  : undefined;
const output = run ? `${run.stdout ?? ''}${run.stderr ?? ''}` : '';
const diagnostics = parseDiagnostics(output);
const tookMs = Date.now() - started;

test('type tests: tsc checked public-api.test-d.ts against the built declarations', () => {
  assert.ok(built, `${relative(root, entry)} is missing: run \`npm run build\` first (npm test does)`);
  assert.ok(!stale, `dist_ts is older than ${relative(root, staleBy!.file)}: run \`npm run build\` first (npm test does)`);
  assert.ok(run, 'tsc did not run');
  assert.equal(run.error, undefined, `tsc could not run: ${String(run.error)}`);
  assert.notEqual(run.status, null, `tsc was killed (${run.signal ?? 'timeout'}) after ${tookMs} ms`);
  const listed = new Set(output.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.includes('): error ')).map((l) => resolve(root, l)));
  // Without these the checks below would pass for want of anything checked.
  assert.ok(listed.has(typeTests), `tsc did not check ${relative(root, typeTests)}:\n${output.slice(0, 4000)}`);
  assert.ok(listed.has(entry), `'@smartproxy/core' did not resolve to ${relative(root, entry)}:\n${output.slice(0, 4000)}`);
  assert.ok([...listed].some((f) => f.includes('/node_modules/expect-type/')), 'expect-type was not loaded (npm install?)');
  if (run.status !== 0) assert.ok(diagnostics.length > 0, `tsc exited ${run.status} without a diagnostic:\n${output.slice(0, 4000)}`);
  console.log(`tsc on the type tests: ${tookMs} ms, ${diagnostics.length} error(s)`);
});

for (const region of regions) {
  const options = region.todo ? { todo: 'contract feature outside the current scope' } : {};
  test(`public API types: ${region.title}`, options, () => {
    assert.ok(run && run.status !== null, 'tsc did not complete (see the first test)');
    const mine = diagnostics.filter((d) => d.file === typeTests && d.line >= region.start && d.line <= region.end);
    assert.equal(mine.length, 0, `${mine.length} failing assertion(s) in lines ${region.start}-${region.end}:\n${mine.map(show).join('\n')}`);
  });
}

test('public API types: no errors outside the regions, nor in the emitted .d.ts files', () => {
  assert.ok(run && run.status !== null, 'tsc did not complete (see the first test)');
  const rest = diagnostics.filter((d) => d.file !== typeTests || !regions.some((r) => d.line >= r.start && d.line <= r.end));
  assert.equal(rest.length, 0, `${rest.length} error(s):\n${rest.map(show).join('\n')}`);
  if (diagnostics.length === 0) assert.equal(run.status, 0, `tsc exited ${run.status}:\n${output.slice(0, 4000)}`);
});
