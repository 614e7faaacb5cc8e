/**
 * Route helpers in the shape of @push.rocks/smartproxy 19.x. Each returns plain IRouteConfig
 * objects that pass validation, named from helper kind, domains and ports (and path), so
 * different calls never collide.
 */
import type * as net from 'node:net';
import type { IRouteAction, IRouteConfig, IRouteContext, IRouteMatch, IRouteTarget, PortSpec } from '../types.js';
import { SocketHandlers } from './socket-handlers.js';

export type Domains = string | string[];

/** Extra fields merged into the generated route (match and action merged one level deep). */
export interface RouteOptions {
  name?: string;
  priority?: number;
  enabled?: boolean;
  match?: Partial<IRouteMatch>;
  action?: Partial<IRouteAction>;
  security?: IRouteConfig['security'];
}

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

function build(kind: string, domains: Domains, match: IRouteMatch, action: IRouteAction, options: RouteOptions = {}): IRouteConfig {
  const fullMatch: IRouteMatch = { ...match, domains: domainList(domains), ...options.match };
  const route: IRouteConfig = {
    name: options.name ?? routeName(kind, fullMatch.domains, fullMatch.ports, fullMatch.path),
    match: fullMatch,
    action: { ...action, ...options.action },
  };
  if (options.priority !== undefined) route.priority = options.priority;
  if (options.enabled !== undefined) route.enabled = options.enabled;
  if (options.security !== undefined) route.security = options.security;
  return route;
}

/** Plain HTTP forwarding (default port 80). */
export function createHttpRoute(domains: Domains, target: IRouteTarget, options: RouteOptions = {}): IRouteConfig {
  return build('http', domains, { ports: 80 }, { type: 'forward', target }, options);
}

export interface HttpsTerminateOptions extends RouteOptions {
  certificate?: 'auto' | { key: string; cert: string };
  /** Port of the companion HTTP redirect (createCompleteHttpsServer). */
  httpPort?: number;
  httpsPort?: number;
  /** Re-encrypt to the backend (terminate-and-reencrypt). */
  reencrypt?: boolean;
}

/** TLS terminated at the proxy (default port 443, certificate 'auto'). */
export function createHttpsTerminateRoute(domains: Domains, target: IRouteTarget, options: HttpsTerminateOptions = {}): IRouteConfig {
  const { certificate = 'auto', httpsPort = 443, reencrypt = false, httpPort: _httpPort, ...rest } = options;
  const action: IRouteAction = {
    type: 'forward',
    target,
    tls: { mode: reencrypt ? 'terminate-and-reencrypt' : 'terminate', certificate },
  };
  return build(reencrypt ? 'https-reencrypt' : 'https-terminate', domains, { ports: httpsPort }, action, rest);
}

/** TLS passed through by SNI (default port 443). */
export function createHttpsPassthroughRoute(domains: Domains, target: IRouteTarget, options: RouteOptions & { port?: number } = {}): IRouteConfig {
  const { port = 443, ...rest } = options;
  return build('https-passthrough', domains, { ports: port }, { type: 'forward', target, tls: { mode: 'passthrough' } }, rest);
}

export interface RedirectRouteOptions extends RouteOptions {
  port?: number;
  httpsPort?: number;
  status?: 301 | 302 | 307 | 308;
}

/** Answers plain HTTP with 301 to `https://<host>[:httpsPort]<path>?<query>` (port omitted when 443). */
export function createHttpToHttpsRedirect(domains: Domains, options: RedirectRouteOptions = {}): IRouteConfig {
  const { port = 80, httpsPort = 443, status = 301, ...rest } = options;
  const template = httpsPort === 443 ? 'https://{domain}{path}{query}' : `https://{domain}:${httpsPort}{path}{query}`;
  return build('http-redirect', domains, { ports: port }, { type: 'socket-handler', socketHandler: SocketHandlers.httpRedirect(template, status) }, rest);
}

/** [HTTPS terminate route, HTTP -> HTTPS redirect route]. */
export function createCompleteHttpsServer(domains: Domains, target: IRouteTarget, options: HttpsTerminateOptions = {}): [IRouteConfig, IRouteConfig] {
  const { httpPort = 80, httpsPort = 443, name, ...rest } = options;
  const https = createHttpsTerminateRoute(domains, target, { ...rest, httpsPort, ...(name !== undefined ? { name } : {}) });
  const redirect = createHttpToHttpsRedirect(domains, {
    port: httpPort,
    httpsPort,
    ...(name !== undefined ? { name: `${name}-redirect` } : {}),
    ...(rest.priority !== undefined ? { priority: rest.priority } : {}),
  });
  return [https, redirect];
}

export interface LoadBalancerOptions extends RouteOptions {
  algorithm?: 'round-robin' | 'least-connections' | 'ip-hash';
  /** Listening port(s); default 443 with TLS, else 80. */
  listenPort?: PortSpec;
  /** Terminate TLS at the proxy. */
  useTls?: boolean;
  certificate?: 'auto' | { key: string; cert: string };
}

/** Forwards to several backend hosts on one port, spread by `algorithm` (default round-robin). */
export function createLoadBalancerRoute(domains: Domains, hosts: string[], port: number, options: LoadBalancerOptions = {}): IRouteConfig {
  const { algorithm = 'round-robin', useTls = false, certificate = 'auto', listenPort = useTls ? 443 : 80, ...rest } = options;
  const action: IRouteAction = { type: 'forward', target: { host: [...hosts], port }, loadBalancing: { algorithm } };
  if (useTls) action.tls = { mode: 'terminate', certificate };
  return build('load-balancer', domains, { ports: listenPort }, action, rest);
}

export type SocketHandler = (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;

/** Hands matching connections to a function. */
export function createSocketHandlerRoute(domains: Domains, ports: PortSpec, handler: SocketHandler, options: RouteOptions = {}): IRouteConfig {
  return build('socket-handler', domains, { ports }, { type: 'socket-handler', socketHandler: handler }, options);
}
