/** What a route does: `action` and its parts (TLS, WebSocket, load balancing, header rules). */
import type * as net from 'node:net';
import type { IRouteContext, IRouteTarget, ProxyProtocolVersion, TlsMode } from './route-basics.js';

/** Per-route ACME settings as 19.x wrote them (`action.tls.acme`); used when the options have no `acme`. */
export interface IRouteAcme {
  /** Account contact (`acme.email`). */
  email?: string;
  /** true: Let's Encrypt production; false (19.x's default): staging. */
  useProduction?: boolean;
  /** Port of the HTTP-01 challenge listener (`acme.port`). */
  challengePort?: number;
  /** Renew this many days before expiry (`acme.renewThresholdDays`). */
  renewBeforeDays?: number;
}

/** How a route handles TLS (`action.tls`). */
export interface IRouteTls {
  /**
   * 'passthrough': routed by SNI, never decrypted; 'terminate': TLS ends here, HTTP to the backend;
   * 'terminate-and-reencrypt': TLS ends here, TLS again to the backend.
   */
  mode: TlsMode;
  /**
   * 'auto' (from ACME or certProvisionFunction) or a PEM pair; the key must be unencrypted and belong to
   * the first certificate of `cert`.
   * @default 'auto' for the terminating modes
   */
  certificate?: 'auto' | { key: string; cert: string };
  /**
   * 'terminate-and-reencrypt' only: verify the backend's certificate chain and name.
   * @default false
   */
  verifyBackend?: boolean;
  /**
   * 'terminate-and-reencrypt' only: PEM CAs trusted for the backend when verifying.
   * @default the system store
   */
  backendCa?: string[];
  /**
   * 19.x: ACME settings written on the route; used as `acme` when the options have none (one ACME account
   * serves the proxy).
   */
  acme?: IRouteAcme;
  /**
   * The TLS versions this route's handshakes may use ('TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'): the lowest
   * and highest named bound the handshake. Terminating modes only; with 'passthrough' it is not enforced
   * (warned): use `match.tlsVersion`.
   */
  versions?: string[];
}

/** Header rules: values are templates ({clientIp}, {domain}, {path}, ...; see docs/options.md). */
export interface IRouteHeaders {
  /**
   * Headers set on the request to the backend (replacing incoming ones of the same name); values are
   * templates.
   */
  request?: Record<string, string>;
  /** Headers set on the response to the client; values are templates. */
  response?: Record<string, string>;
}

/** WebSocket upgrades on an HTTP-level route (`action.websocket`). */
export interface IRouteWebSocket {
  /**
   * false: refuse WebSocket upgrades on this route (403).
   * @default true
   */
  enabled?: boolean;
  /**
   * Ping the client after this much silence from it (ms).
   * @default no pings
   */
  pingIntervalMs?: number;
  /**
   * Close a client that answers no ping for this long (ms).
   * @default pingIntervalMs
   */
  pingTimeoutMs?: number;
  /** 19.x name of pingIntervalMs. */
  pingInterval?: number;
  /** 19.x name of pingTimeoutMs. */
  pingTimeout?: number;
}

/** Active health checks of a load-balanced route's targets (contract; ms). */
export interface IHealthCheck {
  /** 'tcp' (a connect) or 'http' (a GET of `path`). */
  type?: 'tcp' | 'http';
  /** The path an 'http' check requests. */
  path?: string;
  /** ms between checks of a target. */
  interval?: number;
  /** ms a check may take. */
  timeout?: number;
  /** Failed checks in a row before a target leaves the rotation. */
  unhealthyThreshold?: number;
  /** Passed checks in a row before it comes back. */
  healthyThreshold?: number;
  /** Status codes an 'http' check accepts. */
  expectStatus?: number[];
}

/** How a route spreads its `target.host` list (`action.loadBalancing`). */
export interface ILoadBalancing {
  /**
   * How requests or connections are spread over `target.host`: 'round-robin', 'least-connections' (fewest
   * open) or 'ip-hash' (one client IP, one target).
   */
  algorithm: 'round-robin' | 'least-connections' | 'ip-hash';
  /**
   * Validated and kept; not active yet (start() warns once): a target that refuses a connection is skipped
   * per request.
   */
  healthCheck?: IHealthCheck;
}

/** 19.x `action.nftables`: kernel forwarding settings; this proxy forwards in process (accepted, warned). */
export interface INfTablesOptions {
  /**
   * 19.x: keep the client address toward the backend. Not used (no kernel forwarding): accepted with a
   * warning.
   */
  preserveSourceIP?: boolean;
  /** 19.x: protocols forwarded. Not used (no kernel forwarding): accepted with a warning. */
  protocol?: 'tcp' | 'udp' | 'all';
  /** 19.x: rate limit. Not used (no kernel forwarding): accepted with a warning. */
  maxRate?: string;
  /** 19.x: rule priority. Not used (no kernel forwarding): accepted with a warning. */
  priority?: number;
  /** 19.x: nftables table. Not used (no kernel forwarding): accepted with a warning. */
  tableName?: string;
  /** 19.x: use IP sets. Not used (no kernel forwarding): accepted with a warning. */
  useIPSets?: boolean;
  /** 19.x: connection-tracking NAT. Not used (no kernel forwarding): accepted with a warning. */
  useAdvancedNAT?: boolean;
}

/** 19.x `action.advanced`. `headers` are request header rules; the rest is accepted with a warning. */
export interface IRouteAdvanced {
  /** 19.x: not supported (warned): use connectionTimeout / responseTimeout. */
  timeout?: number;
  /** 19.x: request header rules, merged into action.headers.request. */
  headers?: Record<string, string>;
  /** 19.x: not supported (warned): upstream keep-alive is always on. */
  keepAlive?: boolean;
  /** 19.x: not supported (warned): serve files from a backend. */
  staticFiles?: { root: string; index?: string[]; headers?: Record<string, string> };
  /** 19.x: not supported (warned): use action.target.path (a path template). */
  urlRewrite?: { pattern: string; target: string; flags?: string; onlyRewritePath?: boolean };
}

/** What a route does with what it matched (`action`). */
export interface IRouteAction {
  /** 'forward' to `target`, or 'socket-handler' (the connection is given to `socketHandler`). */
  type: 'forward' | 'socket-handler';
  /**
   * Force L4 ('tcp': a byte stream, routed once) or HTTP-level ('http': each request routed) handling.
   * @default decided by the route (see docs/routing.md)
   */
  protocol?: 'tcp' | 'http';
  /**
   * Where 'forward' sends traffic.
   * @default options.defaults.target
   */
  target?: IRouteTarget;
  /** How TLS on this route is handled. */
  tls?: IRouteTls;
  /** WebSocket upgrades at the HTTP level. */
  websocket?: IRouteWebSocket;
  /**
   * How `target.host` lists are spread.
   * @default round-robin
   */
  loadBalancing?: ILoadBalancing;
  /** Header rules (templates: {clientIp}, {domain}, {path}, ... see docs/options.md). */
  headers?: IRouteHeaders;
  /**
   * Prepend a PROXY header ('v1', 'v2'; true means 'v1') to each backend connection.
   * @default options.sendProxyProtocol
   */
  sendProxyProtocol?: ProxyProtocolVersion | boolean;
  /**
   * 'socket-handler' only: called with the client socket and the route context; errors cost that connection
   * only.
   */
  socketHandler?: (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;
  /**
   * 19.x: 'node' (this proxy) or 'nftables' (kernel forwarding: not available; forwarded in process,
   * warned).
   */
  forwardingEngine?: 'node' | 'nftables';
  /** 19.x: kernel forwarding settings (not used, warned). */
  nftables?: INfTablesOptions;
  /** 19.x: `headers` become request header rules; the rest is not supported (warned). */
  advanced?: IRouteAdvanced;
}
