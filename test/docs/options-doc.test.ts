/**
 * docs/options.md cannot drift from the types: it is what scripts/gen-options-doc.mjs renders
 * from ts/model/*.ts, every field there has its comment, and every default the comments state
 * for a number or boolean is the one the code applies (ts/core/options.ts DEFAULTS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULTS, resolveOptions } from '../../ts/core/options.js';
// @ts-expect-error plain ESM script without types
import { parseInterfaces, readSources, renderOptionsDoc, SECTIONS } from '../../scripts/gen-options-doc.mjs';

interface Field {
  name: string;
  optional: boolean;
  type: string;
  doc: string;
  default: string | undefined;
}
type Parsed = Map<string, { fields: Field[] }>;

const repo = resolve(import.meta.dirname, '../..');
const { sources, templateSource } = readSources() as { sources: string[]; templateSource: string };
const ifaces = parseInterfaces(sources) as Parsed;

test('docs/options.md is exactly what the generator renders from the types', () => {
  const doc = readFileSync(join(repo, 'docs/options.md'), 'utf8');
  assert.equal(doc, renderOptionsDoc(sources, templateSource), 'stale: run node scripts/gen-options-doc.mjs');
});

test('every field of every documented interface has a comment', () => {
  const undocumented: string[] = [];
  for (const section of SECTIONS as Array<{ interfaces: Array<[string, string]> }>) {
    for (const [name] of section.interfaces) {
      for (const f of ifaces.get(name)!.fields) if (f.doc.length < 8) undocumented.push(`${name}.${f.name}`);
    }
  }
  assert.deepEqual(undocumented, []);
});

test('every exported type in ts/model has a comment', () => {
  const bare: string[] = [];
  for (const f of readdirSync(join(repo, 'ts/model'))) {
    const lines = readFileSync(join(repo, 'ts/model', f), 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (/^export (interface|type) /.test(l) && !lines[i - 1]!.trimEnd().endsWith('*/')) bare.push(`${f}: ${l}`);
    });
  }
  assert.deepEqual(bare, []);
});

test('the defaults the comments state are the defaults the options resolve to', () => {
  const resolved = resolveOptions({ routes: [] }) as unknown as Record<string, unknown>;
  const groups: Array<[string, Record<string, unknown>]> = [
    ['ISmartProxyOptions', resolved],
    ['IZombieOptions', DEFAULTS.zombie as unknown as Record<string, unknown>],
    ['IMetricsOptions', DEFAULTS.metrics as unknown as Record<string, unknown>],
    ['INodeInternalsOptions', DEFAULTS.nodeInternals as unknown as Record<string, unknown>],
  ];
  let checked = 0;
  for (const [name, values] of groups) {
    for (const f of ifaces.get(name)!.fields) {
      if (f.default === undefined || !(f.name in values)) continue;
      const stated = f.default.trim();
      const actual = values[f.name];
      let want: unknown;
      if (/^-?\d+$/.test(stated)) want = Number(stated);
      else if (stated === 'true' || stated === 'false') want = stated === 'true';
      else if (/^'[^']*'$/.test(stated)) want = stated.slice(1, -1);
      else if (stated === '[]') want = [];
      else continue; // prose ("Node's", "pino at level ...")
      assert.deepEqual(actual, want, `${name}.${f.name}: the comment says ${stated}`);
      checked++;
    }
  }
  assert.ok(checked >= 30, `only ${checked} defaults compared`);
});
