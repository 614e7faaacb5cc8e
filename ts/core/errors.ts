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

/** A bad option or route. `path` names the field, e.g. `routes[2].match.ports[1]`. */
export class SmartProxyConfigError extends SmartProxyError {
  readonly path: string;

  constructor(code: SmartProxyErrorCode, path: string, problem: string, options?: { cause?: unknown }) {
    super(code, `${path}: ${problem}`, options);
    this.name = 'SmartProxyConfigError';
    this.path = path;
  }
}

export function configError(path: string, problem: string): SmartProxyConfigError {
  const code: SmartProxyErrorCode = path.startsWith('routes') ? 'SPX_ERR_ROUTE_INVALID' : 'SPX_ERR_OPTION_INVALID';
  return new SmartProxyConfigError(code, path, problem);
}
