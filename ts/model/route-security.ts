/** A route's access rules: IP lists, connection limits, Basic and JWT authentication, rate limits. */

/** HTTP Basic authentication of a route (`security.basicAuth`). */
export interface IBasicAuth {
  /** Accepted credentials (the username must not contain a colon). */
  users: Array<{ username: string; password: string }>;
  /**
   * The realm of the 401's challenge.
   * @default 'Restricted'
   */
  realm?: string;
  /** 19.x: false turns the check off (the block is dropped). */
  enabled?: boolean;
  /** Paths (patterns as match.path) that need no credentials. */
  excludePaths?: string[];
}

/** A request rate limit of a route (`security.rateLimit`), in fixed windows per key. */
export interface IRateLimit {
  /** Requests allowed per key and window; more get 429 with Retry-After. */
  maxRequests: number;
  /** Window length in seconds (fixed windows). */
  windowSeconds?: number;
  /** 19.x name of windowSeconds. */
  window?: number;
  /**
   * What is counted: the client 'ip', the request 'path', or a 'header' value (`headerName`).
   * @default 'ip'
   */
  keyBy?: 'ip' | 'path' | 'header';
  /** The header counted with keyBy: 'header'. */
  headerName?: string;
  /** 19.x: false turns the limit off (the block is dropped). */
  enabled?: boolean;
  /**
   * The 429's plain-text body.
   * @default '429 Too Many Requests'
   */
  errorMessage?: string;
}

/** Bearer JWTs (HS256 with `secret`, RS256 with `publicKey`); a missing or bad token gets 401. */
export interface IJwtAuth {
  /** 19.x: false turns the check off (the block is dropped). */
  enabled?: boolean;
  /** HS256: the shared secret. 19.x RS256 routes put the PEM public key here, which is accepted too. */
  secret?: string;
  /** RS256: the PEM public key (or certificate) tokens are verified with; an RSA key. */
  publicKey?: string;
  /**
   * The one algorithm accepted; a token naming another is refused.
   * @default 'RS256' with publicKey, else 'HS256'
   */
  algorithm?: 'HS256' | 'RS256';
  /** Tokens must carry this `iss`. */
  issuer?: string;
  /** Tokens must carry this `aud` (or list it). */
  audience?: string;
  /**
   * Seconds: a token whose `iat` is older than this is refused (besides its own `exp`, which every token
   * must carry).
   */
  expiresIn?: number;
  /** Paths (patterns as match.path) that need no token. */
  excludePaths?: string[];
}

/** Access rules of a route (`security`). */
export interface IRouteSecurity {
  /**
   * Only these client addresses (patterns as match.clientIp) may use the route.
   * @default every address
   */
  ipAllowList?: string[];
  /** These client addresses may not; block wins over allow. */
  ipBlockList?: string[];
  /**
   * Open connections on this route (0 = unlimited); past it: closed at L4, 429 at HTTP.
   * @default 0
   */
  maxConnections?: number;
  /**
   * Open connections on this route per client IP (0 = unlimited); past it: closed at L4, 429 at HTTP.
   * @default 0
   */
  maxConnectionsPerIP?: number;
  /** HTTP Basic authentication (401 with a challenge). */
  basicAuth?: IBasicAuth;
  /** Request rate limit per key (429). */
  rateLimit?: IRateLimit;
  /** Bearer JWT authentication (401). */
  jwtAuth?: IJwtAuth;
}
