/**
 * Knowledge flows one way: a module imports only modules of its own folder or of a lower
 * layer. The layers, top to bottom, are the data path's order (docs/architecture.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Layer of each top-level folder (or root file) under ts/: higher may import lower. */
export const LAYERS: Readonly<Record<string, number>> = {
  model: 0,
  'types.ts': 0.5,
  core: 1,
  protocol: 2,
  routing: 2,
  metrics: 2,
  connection: 3,
  tls: 4,
  forwarding: 4,
  engines: 5,
  dispatch: 6,
  accept: 7,
  acme: 8,
  api: 8,
  'smart-proxy.ts': 9,
  'index.ts': 10,
};

const ROOT = resolve('ts');

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function unitOf(file: string): string {
  return relative(ROOT, file).split(/[\\/]/)[0]!;
}

test('every import runs down the layers (or stays in its folder)', () => {
  const violations: string[] = [];
  const files = walk(ROOT);
  for (const file of files) {
    const unit = unitOf(file);
    const rank = LAYERS[unit];
    assert.notEqual(rank, undefined, `ts/${relative(ROOT, file)}: its folder ${unit} has no layer in LAYERS`);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts');
      const tunit = unitOf(target);
      if (tunit === unit) continue;
      const trank = LAYERS[tunit];
      if (trank === undefined || trank >= rank!) {
        violations.push(`ts/${relative(ROOT, file)} (${unit}, layer ${rank}) imports ts/${relative(ROOT, target)} (${tunit}, layer ${trank})`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
