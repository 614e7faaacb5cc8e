/** The parts of a route every other part refers to: ports, the route context, targets, match criteria. */

/** An inclusive range of ports. */
export type PortRange = { from: number; to: number };

/** Listening ports: one, a list, ranges, or a mix. */
export type PortSpec = number | number[] | PortRange[] | Array<number | PortRange>;

/** How a route handles TLS: passed through by SNI, terminated, or terminated and re-encrypted to the backend. */
export type TlsMode = 'passthrough' | 'terminate' | 'terminate-and-reencrypt';

/** A PROXY protocol version to send, or false for none. */
export type ProxyProtocolVersion = false | 'v1' | 'v2';

/** What user code (target functions, socket handlers, templates) sees of a connection or request. Read-only. */
export interface IRouteContext {
  /** Identifier of the connection, as in events and logs. */
  readonly connectionId: string;
  /** The port the client connected to. */
  readonly port: number;
  /** SNI (TLS) or Host without port (HTTP), lower-cased; undefined when the client gave none. */
  readonly domain?: string;
  /**
   * The client's address in plain form (`127.0.0.1`, never `::ffff:127.0.0.1`); after a PROXY header, the
   * address it names.
   */
  readonly clientIp: string;
  /** The client's port (after a PROXY header, the port it names). */
  readonly clientPort: number;
  /** Local address the client connected to. */
  readonly serverIp: string;
  /** The client connected with TLS (terminated here or passed through). */
  readonly isTls: boolean;
  /** The ClientHello's highest offered version ('TLSv1.2', 'TLSv1.3'), for TLS connections. */
  readonly tlsVersion?: string;
  /** The name of the route being applied. */
  readonly routeName?: string;
  /** The index of that route in `routes`. */
  readonly routeIndex?: number;
  /** The route's own `id` (19.x), when it has one. */
  readonly routeId?: string;
  /** When the decision is made (ms since the epoch, from the proxy clock). */
  readonly timestamp: number;
  /** HTTP level only: the request path without the query. */
  readonly path?: string;
  /** HTTP level only: the query string without '?' ('' when none). */
  readonly query?: string;
  /** HTTP level only: the request method. */
  readonly method?: string;
  /** HTTP level only: the request target as sent. */
  readonly url?: string;
  /** HTTP level only: request headers, lower-cased names. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Parameters captured by a path pattern such as `/users/:id`. */
  readonly params?: Readonly<Record<string, string>>;
}

/** A backend host, a list of them (load-balanced), or a function of the route context. */
export type TargetHost = string | string[] | ((ctx: IRouteContext) => string | string[]);

/** A backend port, 'preserve' (the port the client connected to), or a function of the route context. */
export type TargetPort = number | 'preserve' | ((ctx: IRouteContext) => number);

/** Where a forward route sends traffic (`action.target`). */
export interface IRouteTarget {
  /**
   * Backend host name or IP; a list is load-balanced (round-robin unless `loadBalancing` says otherwise); a
   * function picks per connection or request.
   */
  host: TargetHost;
  /**
   * Backend port; 'preserve' uses the port the client connected to; a function picks per connection or
   * request.
   */
  port: TargetPort;
  /**
   * HTTP only: rewrite the request path. A template: `{remainder}` (what the route's path
   * pattern left after its literal prefix, e.g. '/users/7' for '/api/*' on '/api/users/7'),
   * `{path}` (the whole path) and `{name}` for each `:name` parameter. The query string is kept.
   * Example: `{ path: '/v2{remainder}' }`.
   */
  path?: string;
}

/** Which connections or requests a route takes (`match`); every criterion given must match. */
export interface IRouteMatch {
  /** Listening ports: a port, a list, or `{ from, to }` ranges (inclusive). Required. */
  ports: PortSpec;
  /**
   * SNI for TLS, Host for HTTP, case-insensitive, a trailing dot ignored; '*.example.com' matches names
   * below example.com (never the apex); '*' alone matches every connection, with or without a name.
   */
  domains?: string | string[];
  /**
   * HTTP only: exact ('/about'), prefix ('/api/*': /api, /api/ and below, never /apix), parameters
   * ('/users/:id'), globs inside a segment ('/static/*.css').
   */
  path?: string;
  /**
   * Client addresses: exact, CIDR ('10.0.0.0/8'), glob ('192.168.1.*'); an IPv4-mapped IPv6 address matches
   * its IPv4 form.
   */
  clientIp?: string[];
  /** TLS connections whose ClientHello offers one of these as its highest version ('TLSv1.2', 'TLSv1.3'). */
  tlsVersion?: string[];
  /**
   * HTTP only: request headers that must be present with this value (exact, case-sensitive) or match this
   * RegExp.
   */
  headers?: Record<string, string | RegExp>;
}
