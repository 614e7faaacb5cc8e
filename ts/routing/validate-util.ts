/** Small runtime type checks that throw config errors naming the field path. */
import { configError, describeValue, unknownFieldProblem } from '../core/errors.js';

export type Obj = Record<string, unknown>;

export const describe = describeValue;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegExp);
}

export function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw configError(path, `must be an object, got ${describe(v)}`);
  return v;
}

export function knownKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw configError(`${path}.${k}`, unknownFieldProblem(k, allowed));
  }
}

export function str(v: unknown, path: string, nonEmpty = true): string {
  if (typeof v !== 'string') throw configError(path, `must be a string, got ${describe(v)}`);
  if (nonEmpty && v.trim() === '') throw configError(path, 'must not be empty');
  return v;
}

export function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw configError(path, `must be a boolean, got ${describe(v)}`);
  return v;
}

export function num(v: unknown, path: string, opts: { integer?: boolean; min?: number; max?: number; positive?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw configError(path, `must be a finite number, got ${describe(v)}`);
  if (opts.integer && !Number.isInteger(v)) throw configError(path, `must be an integer, got ${v}`);
  if (opts.positive && v <= 0) throw configError(path, `must be positive, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw configError(path, `must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw configError(path, `must be <= ${opts.max}, got ${v}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], path: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw configError(path, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function func(v: unknown, path: string): void {
  if (typeof v !== 'function') throw configError(path, `must be a function, got ${describe(v)}`);
}

export function strArray(v: unknown, path: string, nonEmpty = true): string[] {
  if (!Array.isArray(v)) throw configError(path, `must be an array of strings, got ${describe(v)}`);
  if (nonEmpty && v.length === 0) throw configError(path, 'must not be empty');
  v.forEach((x: unknown, i) => str(x, `${path}[${i}]`));
  return v as string[];
}

export function strRecord(v: unknown, path: string): void {
  const o = obj(v, path);
  for (const [k, x] of Object.entries(o)) str(x, `${path}.${k}`, false);
}
