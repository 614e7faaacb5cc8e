/**
 * The checks the options schema is made of: each takes a value and its field path and throws a
 * config error naming the path. A string where a number belongs says so (`got the string
 * '8080'`), an unknown field suggests the nearest known one.
 */
import { X509Certificate } from 'node:crypto';
import { ConfigErrorCollector, configError, describeValue, unknownFieldProblem } from './errors.js';

export type Check = (value: unknown, path: string) => void;

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `parent.key`, or `key` at the top (paths never start with `options.`). */
export function join(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

function numberProblem(v: unknown, what: string): string {
  return `must be ${what}, got ${describeValue(v)}`;
}

export function ms(allowZero = true): Check {
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      throw configError(path, numberProblem(v, `a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds`));
    }
  };
}
export const count: Check = (v, path) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw configError(path, numberProblem(v, 'a non-negative integer'));
};
export const positive: Check = (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw configError(path, numberProblem(v, 'a positive number'));
};
export const bool: Check = (v, path) => {
  if (typeof v !== 'boolean') throw configError(path, `must be a boolean, got ${describeValue(v)}`);
};
export const str: Check = (v, path) => {
  if (typeof v !== 'string' || v.length === 0) throw configError(path, `must be a non-empty string, got ${describeValue(v)}`);
};
export const port: Check = (v, path) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw configError(path, numberProblem(v, 'a port (an integer 1..65535)'));
};
export function oneOf(...values: unknown[]): Check {
  return (v, path) => {
    if (!values.includes(v)) throw configError(path, `must be one of ${values.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')}, got ${describeValue(v)}`);
  };
}
export const fn: Check = (v, path) => {
  if (typeof v !== 'function') throw configError(path, `must be a function, got ${describeValue(v)}`);
};
export const stringArray: Check = (v, path) => {
  if (!Array.isArray(v)) throw configError(path, `must be an array of strings, got ${describeValue(v)}`);
  v.forEach((s, i) => str(s, `${path}[${i}]`));
};
export const stringOrBuffer: Check = (v, path) => {
  if (typeof v !== 'string' && !Buffer.isBuffer(v)) throw configError(path, `must be a string or a Buffer, got ${describeValue(v)}`);
};
export const httpUrl: Check = (v, path) => {
  str(v, path);
  let url: URL;
  try {
    url = new URL(v as string);
  } catch {
    throw configError(path, `${String(v)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw configError(path, `${String(v)} is not an http(s) URL`);
};
export const pemCertificates: Check = (v, path) => {
  stringArray(v, path);
  (v as string[]).forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw configError(`${path}[${i}]`, `is not a PEM certificate (${(err as Error).message})`);
    }
  });
};
export const anything: Check = () => {};

/** An object of known fields: every field checked (all problems collected), unknown ones named with a suggestion. */
export function object(shape: Record<string, Check>, required: string[] = []): Check {
  return (v, path) => {
    if (!isObj(v)) throw configError(path === '' ? 'options' : path, `must be an object, got ${describeValue(v)}`);
    const known = Object.keys(shape);
    const problems = new ConfigErrorCollector();
    for (const key of Object.keys(v)) {
      problems.run(() => {
        if (!(key in shape)) throw configError(join(path, key), unknownFieldProblem(key, known));
        if (v[key] !== undefined) shape[key]!(v[key], join(path, key));
      });
    }
    for (const key of required) problems.run(() => {
      if (v[key] === undefined) throw configError(join(path, key), 'is required');
    });
    problems.throwIfAny();
  };
}

export const logger: Check = (v, path) => {
  if (!isObj(v) && typeof v !== 'function') throw configError(path, `must be a logger, got ${describeValue(v)}`);
  for (const m of ['info', 'warn', 'error', 'debug', 'child'] as const) {
    if (typeof (v as Record<string, unknown>)[m] !== 'function') throw configError(path, `has no ${m}() method`);
  }
};
