#!/usr/bin/env node
// The published package carries no install-time script: `prepare` builds dist_ts/ for a fresh
// clone's `npm install`, but a consumer installing the tarball must not be asked to run it.
// `npm pack` / `npm publish` run `prepack` (build, then `strip`: package.json without
// scripts.prepare) and `postpack` (`restore`: the repo's package.json back, byte for byte).
// Usage: node scripts/pack-manifest.mjs strip|restore
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = 'package.json';
const SAVED = 'package.json.prepack';
const mode = process.argv[2];

if (mode === 'strip') {
  if (existsSync(SAVED)) {
    console.error(`${SAVED} exists: an earlier pack did not restore package.json; run "node scripts/pack-manifest.mjs restore" first`);
    process.exit(1);
  }
  const text = readFileSync(MANIFEST, 'utf8');
  writeFileSync(SAVED, text);
  const manifest = JSON.parse(text);
  delete manifest.scripts.prepare;
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (mode === 'restore') {
  if (existsSync(SAVED)) renameSync(SAVED, MANIFEST);
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(1);
}
