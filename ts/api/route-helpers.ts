/**
 * Route helpers with the signatures of @push.rocks/smartproxy 19.6 (overloads included), so
 * route tables written with them move over unchanged. Each returns plain IRouteConfig objects
 * that pass validation, named from helper kind, domains and ports (and path), so different
 * calls never collide. Every option is checked (helper-options.ts): an unknown or ignored
 * one is a config error, never dropped.
 */
import type * as net from 'node:net';
import type { IHealthCheck, IRouteAction, IRouteConfig, IRouteContext, IRouteMatch, IRouteTarget, PortSpec, TlsMode } from '../types.js';
import { configError, describeValue } from '../core/errors.js';
import { SocketHandlers } from './socket-handlers.js';
import { applyRouteOptions, checkHelperOptions, checkPortArg, ROUTE_OPTION_KEYS, type RouteOptions } from './helper-options.js';

export type { RouteOptions } from './helper-options.js';
export type Domains = string | string[];
export type RouteCertificate = 'auto' | { key: string; cert: string };

function domainList(d: Domains): string[] {
  return typeof d === 'string' ? [d] : [...d];
}

function portLabel(ports: PortSpec): string {
  const items = Array.isArray(ports) ? ports : [ports];
  return items.map((p) => (typeof p === 'number' ? String(p) : `${p.from}-${p.to}`)).join(',');
}

export function routeName(kind: string, domains: Domains | undefined, ports: PortSpec, path?: string): string {
  const d = domains === undefined ? '*' : domainList(domains).join(',');
  return `${kind}:${d}:${portLabel(ports)}${path ? `:${path}` : ''}`;
}

/** A route of `kind`: the helper's match and action, then the caller's route fields over them. */
function build(kind: string, domains: Domains | undefined, match: IRouteMatch, action: IRouteAction, options: RouteOptions = {}): IRouteConfig {
  const base: IRouteConfig = { match: domains === undefined ? match : { ...match, domains: domainList(domains) }, action };
  const route = applyRouteOptions(base, options);
  route.name ??= routeName(kind, route.match.domains, route.match.ports, route.match.path);
  return route;
}

/** Plain HTTP forwarding (port 80 unless `match.ports` says otherwise). */
export function createHttpRoute(domains: Domains, target: IRouteTarget, options: RouteOptions = {}): IRouteConfig {
  checkHelperOptions('createHttpRoute', options, ROUTE_OPTION_KEYS);
  return build('http', domains, { ports: 80 }, { type: 'forward', target }, options);
}

export interface HttpsTerminateOptions extends RouteOptions {
  /** Default 'auto' (ACME or certProvisionFunction). */
  certificate?: RouteCertificate;
  /** Listening port (default 443; `match.ports` wins). */
  httpsPort?: number;
  /** Re-encrypt to the backend ('terminate-and-reencrypt'). */
  reencrypt?: boolean;
}

const TERMINATE_KEYS = [...ROUTE_OPTION_KEYS, 'certificate', 'httpsPort', 'reencrypt'];

/** TLS terminated at the proxy (port 443, certificate 'auto' unless given). */
export function createHttpsTerminateRoute(domains: Domains, target: IRouteTarget, options: HttpsTerminateOptions = {}): IRouteConfig {
  checkHelperOptions('createHttpsTerminateRoute', options, TERMINATE_KEYS);
  const { certificate = 'auto', httpsPort = 443, reencrypt = false, ...rest } = options;
  checkPortArg('createHttpsTerminateRoute', 'options.httpsPort', httpsPort);
  const mode: TlsMode = reencrypt ? 'terminate-and-reencrypt' : 'terminate';
  const action: IRouteAction = { type: 'forward', target, tls: { mode, certificate } };
  return build(reencrypt ? 'https-reencrypt' : 'https-terminate', domains, { ports: httpsPort }, action, rest);
}

export interface HttpsPassthroughOptions extends RouteOptions {
  /** Listening port (default 443; `match.ports` wins). */
  port?: number;
}

/** TLS passed through to the backend by SNI (port 443 unless given). */
export function createHttpsPassthroughRoute(domains: Domains, target: IRouteTarget, options: HttpsPassthroughOptions = {}): IRouteConfig {
  checkHelperOptions('createHttpsPassthroughRoute', options, [...ROUTE_OPTION_KEYS, 'port']);
  const { port = 443, ...rest } = options;
  checkPortArg('createHttpsPassthroughRoute', 'options.port', port);
  return build('https-passthrough', domains, { ports: port }, { type: 'forward', target, tls: { mode: 'passthrough' } }, rest);
}

export interface RedirectRouteOptions extends RouteOptions {
  /** Listening port (default 80; `match.ports` wins). */
  port?: number;
  /** Port of the https:// location (omitted from it when 443). */
  httpsPort?: number;
  status?: 301 | 302 | 307 | 308;
}

const REDIRECT_KEYS = [...ROUTE_OPTION_KEYS, 'port', 'httpsPort', 'status'];

/**
 * Answers plain HTTP with a redirect (301) to `https://<host>[:httpsPort]<path>?<query>`, the port
 * omitted when it is 443. Two forms:
 * - `createHttpToHttpsRedirect(domains, httpsPort?, options?)`, as in 19.6 (options as a route's
 *   fields: `match.ports` is the listening port, default 80);
 * - `createHttpToHttpsRedirect(domains, { port, httpsPort, status, ... })`.
 */
export function createHttpToHttpsRedirect(domains: Domains, httpsPort?: number, options?: RedirectRouteOptions): IRouteConfig;
export function createHttpToHttpsRedirect(domains: Domains, options?: RedirectRouteOptions): IRouteConfig;
export function createHttpToHttpsRedirect(domains: Domains, portOrOptions?: number | RedirectRouteOptions, maybeOptions?: RedirectRouteOptions): IRouteConfig {
  const helper = 'createHttpToHttpsRedirect';
  let options: RedirectRouteOptions;
  if (typeof portOrOptions === 'number' || portOrOptions === undefined) {
    checkHelperOptions(helper, maybeOptions, REDIRECT_KEYS);
    options = { ...maybeOptions };
    if (portOrOptions !== undefined) {
      if (options.httpsPort !== undefined && options.httpsPort !== portOrOptions) {
        throw configError(`${helper}(options).httpsPort`, `is ${options.httpsPort} but the httpsPort argument is ${portOrOptions}: give it once`);
      }
      options.httpsPort = portOrOptions;
    }
  } else {
    if (maybeOptions !== undefined) throw configError(`${helper}(options)`, 'is given twice: with an options object second, there is no third argument');
    checkHelperOptions(helper, portOrOptions, REDIRECT_KEYS);
    options = { ...portOrOptions };
  }
  const { port = 80, httpsPort = 443, status = 301, ...rest } = options;
  checkPortArg(helper, 'httpsPort', httpsPort);
  checkPortArg(helper, 'options.port', port);
  if (![301, 302, 307, 308].includes(status)) throw configError(`${helper}(options).status`, `must be 301, 302, 307 or 308, got ${describeValue(status)}`);
  const template = httpsPort === 443 ? 'https://{domain}{path}' : `https://{domain}:${httpsPort}{path}`;
  return build('http-redirect', domains, { ports: port }, { type: 'socket-handler', socketHandler: SocketHandlers.httpRedirect(template, status) }, rest);
}

export interface CompleteHttpsServerOptions extends HttpsTerminateOptions {
  /** Port of the HTTP -> HTTPS redirect (default 80). */
  httpPort?: number;
}

/** [HTTPS terminate route, HTTP -> HTTPS redirect route] (19.6 returns both as an array). */
export function createCompleteHttpsServer(domains: Domains, target: IRouteTarget, options: CompleteHttpsServerOptions = {}): IRouteConfig[] {
  checkHelperOptions('createCompleteHttpsServer', options, [...TERMINATE_KEYS, 'httpPort']);
  const { httpPort = 80, name, ...terminate } = options;
  checkPortArg('createCompleteHttpsServer', 'options.httpPort', httpPort);
  const https = createHttpsTerminateRoute(domains, target, { ...terminate, ...(name !== undefined ? { name } : {}) });
  const httpsPort = terminate.httpsPort ?? 443;
  const redirect = createHttpToHttpsRedirect(domains, httpsPort, {
    port: httpPort,
    ...(name !== undefined ? { name: `${name}-redirect` } : {}),
    ...(terminate.priority !== undefined ? { priority: terminate.priority } : {}),
  });
  return [https, redirect];
}

export interface LoadBalancerOptions extends RouteOptions {
  algorithm?: 'round-robin' | 'least-connections' | 'ip-hash';
  /** 19.6: TLS at the proxy ('terminate', 'terminate-and-reencrypt') or passed through. */
  tls?: { mode: TlsMode; certificate?: RouteCertificate };
  /** Terminate TLS (certificate below, default 'auto'); the same as tls: { mode: 'terminate' }. */
  useTls?: boolean;
  certificate?: RouteCertificate;
  /** Carried into loadBalancing.healthCheck (validated; not active yet: start warns). */
  healthCheck?: IHealthCheck;
  /** Listening port(s); default 443 with TLS, else 80 (`match.ports` wins). */
  listenPort?: PortSpec;
}

const LB_KEYS = [...ROUTE_OPTION_KEYS, 'algorithm', 'tls', 'useTls', 'certificate', 'healthCheck', 'listenPort'];

/**
 * Forwards to several backends on one port, spread by `algorithm` (default round-robin).
 * `backends`: host names with the port they listen on, or 19.6's `{ host, port }` objects
 * (one port for all of them; the port argument may then be left out).
 */
export function createLoadBalancerRoute(domains: Domains, hosts: string[], port: number, options?: LoadBalancerOptions): IRouteConfig;
export function createLoadBalancerRoute(domains: Domains, backends: Array<{ host: string; port: number }>, port?: number, options?: LoadBalancerOptions): IRouteConfig;
export function createLoadBalancerRoute(
  domains: Domains,
  backends: string[] | Array<{ host: string; port: number }>,
  port?: number,
  options: LoadBalancerOptions = {},
): IRouteConfig {
  const helper = 'createLoadBalancerRoute';
  checkHelperOptions(helper, options, LB_KEYS);
  if (!Array.isArray(backends) || backends.length === 0) throw configError(`${helper}(backends)`, 'must be a non-empty array of hosts or { host, port }');
  const hosts: string[] = [];
  const ports = new Set<number>();
  backends.forEach((b: string | { host: string; port: number }, i) => {
    if (typeof b === 'string') hosts.push(b);
    else if (typeof b === 'object' && b !== null && typeof b.host === 'string') {
      hosts.push(b.host);
      checkPortArg(helper, `backends[${i}].port`, b.port);
      ports.add(b.port);
    } else throw configError(`${helper}(backends)[${i}]`, `must be a host or { host, port }, got ${describeValue(b)}`);
  });
  if (ports.size > 1) throw configError(`${helper}(backends)`, `name several ports (${[...ports].join(', ')}): one route forwards to one port; make one route per port`);
  const targetPort = port ?? [...ports][0];
  if (targetPort === undefined) throw configError(`${helper}(port)`, 'is required when backends are host names');
  checkPortArg(helper, 'port', targetPort);
  if (port !== undefined && ports.size === 1 && !ports.has(port)) throw configError(`${helper}(port)`, `is ${port} but the backends name port ${[...ports][0]}`);
  const { algorithm = 'round-robin', tls, useTls, certificate, healthCheck, listenPort, ...rest } = options;
  if (tls !== undefined && useTls !== undefined) throw configError(`${helper}(options).useTls`, 'is given with tls: give one of them');
  const action: IRouteAction = { type: 'forward', target: { host: hosts, port: targetPort }, loadBalancing: { algorithm } };
  if (healthCheck !== undefined) action.loadBalancing!.healthCheck = healthCheck;
  if (tls !== undefined) {
    if (certificate !== undefined && tls.certificate !== undefined) throw configError(`${helper}(options).certificate`, 'is given with tls.certificate: give one of them');
    const cert = tls.certificate ?? certificate;
    action.tls = tls.mode === 'passthrough' ? { mode: 'passthrough' } : { mode: tls.mode, certificate: cert ?? 'auto' };
    if (tls.mode === 'passthrough' && cert !== undefined) throw configError(`${helper}(options).tls.certificate`, 'is not used with passthrough (the backends hold the certificate)');
  } else if (useTls === true) {
    action.tls = { mode: 'terminate', certificate: certificate ?? 'auto' };
  } else if (certificate !== undefined) {
    throw configError(`${helper}(options).certificate`, 'is only used with TLS: set tls: { mode: "terminate" } or useTls: true');
  }
  return build('load-balancer', domains, { ports: listenPort ?? (action.tls !== undefined ? 443 : 80) }, action, rest);
}

export type SocketHandler = (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;

export interface SocketHandlerRouteOptions extends RouteOptions {
  /** Match this path (HTTP routes only: the handler then gets the connection after its request head). */
  path?: string;
}

/** Hands matching connections to a function. `domains: '*'` serves every client, named or not. */
export function createSocketHandlerRoute(domains: Domains, ports: PortSpec, handler: SocketHandler, options: SocketHandlerRouteOptions = {}): IRouteConfig {
  checkHelperOptions('createSocketHandlerRoute', options, [...ROUTE_OPTION_KEYS, 'path']);
  if (typeof handler !== 'function') throw configError('createSocketHandlerRoute(handler)', `must be a function, got ${describeValue(handler)}`);
  const { path, ...rest } = options;
  const match: IRouteMatch = path !== undefined ? { ports, path } : { ports };
  return build('socket-handler', domains, match, { type: 'socket-handler', socketHandler: handler }, rest);
}

export interface WebSocketRouteOptions extends RouteOptions {
  /** Terminate TLS (port 443 by default, certificate below, default 'auto'). */
  useTls?: boolean;
  certificate?: RouteCertificate;
  /** Listening port without TLS (default 80). */
  httpPort?: number;
  /** Listening port with TLS (default 443). */
  httpsPort?: number;
  /** ms between pings to an idle peer (19.6 name of websocket.pingIntervalMs). */
  pingInterval?: number;
  /** ms a pinged peer has to answer (19.6 name of websocket.pingTimeoutMs). */
  pingTimeout?: number;
  /** The path to match, when not given as the second argument. */
  path?: string;
}

const WS_KEYS = [...ROUTE_OPTION_KEYS, 'useTls', 'certificate', 'httpPort', 'httpsPort', 'pingInterval', 'pingTimeout', 'path'];

/**
 * A WebSocket route: `createWebSocketRoute(domains, path, target, options?)` (19.6) or
 * `createWebSocketRoute(domains, target, options?)` (no path).
 */
export function createWebSocketRoute(domains: Domains, path: string, target: IRouteTarget, options?: WebSocketRouteOptions): IRouteConfig;
export function createWebSocketRoute(domains: Domains, target: IRouteTarget, options?: WebSocketRouteOptions): IRouteConfig;
export function createWebSocketRoute(
  domains: Domains,
  pathOrTarget: string | IRouteTarget,
  targetOrOptions?: IRouteTarget | WebSocketRouteOptions,
  maybeOptions?: WebSocketRouteOptions,
): IRouteConfig {
  const helper = 'createWebSocketRoute';
  let path: string | undefined;
  let target: IRouteTarget;
  let options: WebSocketRouteOptions;
  if (typeof pathOrTarget === 'string') {
    path = pathOrTarget;
    if (targetOrOptions === undefined || !('host' in targetOrOptions)) throw configError(`${helper}(target)`, 'is required after the path: { host, port }');
    target = targetOrOptions as IRouteTarget;
    options = maybeOptions ?? {};
  } else {
    if (maybeOptions !== undefined) throw configError(`${helper}(options)`, 'is given twice: without a path, options are the third argument');
    target = pathOrTarget;
    options = (targetOrOptions as WebSocketRouteOptions | undefined) ?? {};
  }
  checkHelperOptions(helper, options, WS_KEYS);
  const { useTls = false, certificate, httpPort = 80, httpsPort = 443, pingInterval, pingTimeout, path: optionPath, ...rest } = options;
  if (optionPath !== undefined) {
    if (path !== undefined) throw configError(`${helper}(options).path`, 'is given with the path argument: give it once');
    path = optionPath;
  }
  if (certificate !== undefined && !useTls) throw configError(`${helper}(options).certificate`, 'is only used with useTls: true');
  const action: IRouteAction = { type: 'forward', target, websocket: { enabled: true } };
  if (pingInterval !== undefined) action.websocket!.pingIntervalMs = pingInterval;
  if (pingTimeout !== undefined) action.websocket!.pingTimeoutMs = pingTimeout;
  if (useTls) action.tls = { mode: 'terminate', certificate: certificate ?? 'auto' };
  const port = useTls ? httpsPort : httpPort;
  checkPortArg(helper, useTls ? 'options.httpsPort' : 'options.httpPort', port);
  const match: IRouteMatch = path !== undefined ? { ports: port, path } : { ports: port };
  return build('websocket', domains, match, action, rest);
}
