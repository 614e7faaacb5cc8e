/**
 * node-forge (CommonJS), required the first time it is needed: a proxy that never builds or
 * unpacks a certificate does not carry its ~1.9 MiB of heap.
 */
import { createRequire } from 'node:module';
import type forge from 'node-forge';

let forgeModule: typeof forge | undefined;

export function loadForge(): typeof forge {
  forgeModule ??= createRequire(import.meta.url)('node-forge') as typeof forge;
  return forgeModule;
}
