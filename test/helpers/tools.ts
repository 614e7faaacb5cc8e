/**
 * External tool detection. Locally a test may skip when a tool is missing; in CI
 * (env CI set, not 'false'/'0') the tools are installed by .ci/run, so a missing
 * one is a failure, never a silent skip.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const found = new Map<string, boolean>();

/** True when `name` is an executable file on PATH (memoised). */
export function hasCommand(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    ok = (process.env.PATH ?? '').split(delimiter).some((dir) => {
      if (dir === '') return false;
      const p = join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    found.set(name, ok);
  }
  return ok;
}

/** True when running in CI (env CI set and not 'false' or '0'). */
export function isCI(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/** The part of a node:test context that requireCommand needs. */
export interface ISkippable {
  skip(message?: string): void;
}

/**
 * Returns true when `name` is available. Otherwise: in CI throws (the test
 * fails); locally marks the test skipped and returns false, so use as
 * `if (!requireCommand('haproxy', t)) return;`.
 */
export function requireCommand(name: string, t: ISkippable): boolean {
  if (hasCommand(name)) return true;
  if (isCI()) throw new Error(`required tool '${name}' is not installed (CI must provide it; see .ci/run)`);
  t.skip(`${name} not installed`);
  return false;
}
