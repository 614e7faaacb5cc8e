/**
 * One error class with stable codes (undici UND_ERR_*, fastify FST_ERR_*).
 * Every code is listed in docs/errors.md.
 */
export type SmartProxyErrorCode =
  | 'SPX_ERR_OPTION_INVALID'
  | 'SPX_ERR_ROUTE_INVALID'
  | 'SPX_ERR_ROUTE_DUPLICATE_NAME'
  | 'SPX_ERR_LISTEN'
  | 'SPX_ERR_NOT_STARTED'
  | 'SPX_ERR_ALREADY_STARTED'
  | 'SPX_ERR_STOPPED'
  | 'SPX_ERR_PROTOCOL'
  | 'SPX_ERR_CERTIFICATE'
  | 'SPX_ERR_ACME';

export class SmartProxyError extends Error {
  readonly code: SmartProxyErrorCode;
  /** Port at fault, for SPX_ERR_LISTEN. */
  readonly port?: number;

  constructor(code: SmartProxyErrorCode, message: string, options?: { cause?: unknown; port?: number }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'SmartProxyError';
    this.code = code;
    if (options?.port !== undefined) this.port = options.port;
  }
}

/**
 * A bad option or route. `path` names the field, e.g. `routes[2].match.ports[1]`, `acme.email`.
 * When a table or an options object has several problems, one error is thrown for all of them:
 * it describes the first, and `errors` lists every one (itself first).
 */
export class SmartProxyConfigError extends SmartProxyError {
  readonly path: string;
  /** Every problem found in one validation pass, this one first. */
  readonly errors: readonly SmartProxyConfigError[];

  constructor(code: SmartProxyErrorCode, path: string, problem: string, options?: { cause?: unknown; errors?: readonly SmartProxyConfigError[] }) {
    const more = options?.errors !== undefined && options.errors.length > 1 ? ` (and ${options.errors.length - 1} more: ${options.errors.slice(1).map((e) => e.path).join(', ')})` : '';
    super(code, `${path}: ${problem}${more}`, options);
    this.name = 'SmartProxyConfigError';
    this.path = path;
    this.errors = options?.errors ?? [this];
  }
}

export function configError(path: string, problem: string): SmartProxyConfigError {
  const code: SmartProxyErrorCode = path.startsWith('routes') ? 'SPX_ERR_ROUTE_INVALID' : 'SPX_ERR_OPTION_INVALID';
  return new SmartProxyConfigError(code, path, problem);
}

/** One error for several: the first one's code, path and message, all of them in `errors`. */
export function aggregateConfigErrors(errors: readonly SmartProxyConfigError[]): SmartProxyConfigError {
  if (errors.length === 1) return errors[0]!;
  const first = errors[0]!;
  const problem = first.message.slice(first.path.length + 2).replace(/ \(and \d+ more: .*\)$/, '');
  return new SmartProxyConfigError(first.code, first.path, problem, { cause: first.cause, errors });
}

/**
 * Runs each check, collecting the config errors they throw instead of stopping at the first;
 * other errors pass through. Throws one aggregate at the end when any failed.
 */
export class ConfigErrorCollector {
  readonly errors: SmartProxyConfigError[] = [];

  run(check: () => void): void {
    try {
      check();
    } catch (err) {
      if (!(err instanceof SmartProxyConfigError)) throw err;
      this.errors.push(...err.errors);
    }
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw aggregateConfigErrors(this.errors);
  }
}

/** The candidate nearest to `name` (edit distance at most a third of its length, >= 1), for "did you mean". */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(name.length / 3)) + 1;
  const a = name.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(a, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** "unknown field" with the nearest known one suggested. */
export function unknownFieldProblem(key: string, allowed: readonly string[]): string {
  const hint = nearest(key, allowed);
  return hint !== undefined ? `unknown field: did you mean \`${hint}\`?` : `unknown field (allowed: ${allowed.join(', ')})`;
}

/** A value as a message shows it: strings quoted and named, so '8080' for a port reads as the string it is. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string '${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}
