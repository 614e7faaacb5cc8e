/**
 * What to do with one parsed request head: route it (Host, path, headers), apply the
 * route's guards (IP lists and connection limits, Basic auth, rate limit, WebSocket switch),
 * resolve its target, and build the head the backend will get. Either a plan for the
 * exchange or a local answer; sockets are not touched here.
 */
import type { ConnectionRecord } from '../../connection/connection-record.js';
import { hostWithoutPort, MAX_HTTP_HEAD_BYTES, type HttpSniffResult } from '../../protocol/http-head.js';
import type { CompiledRoute } from '../../routing/index.js';
import type { IRouteContext } from '../../types.js';
import { routeRuntime, type RouteRuntime } from '../route-runtime.js';
import { authorize } from './route-auth.js';
import type { Framing } from '../../protocol/http-framing.js';
import { judgeRequest } from '../../protocol/request-policy.js';
import { buildRequestHead, connectionTokens, headerRecord, headerValue } from './headers.js';
import type { TemplateVars } from './templates.js';
import type { CloseReason } from '../../connection/close-reason.js';
import type { Services } from '../services.js';

type RequestHead = Extract<HttpSniffResult, { kind: 'ok' }>;

export interface RequestPlan {
  method: string;
  route: CompiledRoute;
  rt: RouteRuntime;
  /** Template variables, when the route has header rules. */
  vars: TemplateVars | undefined;
  /** The head for the backend. */
  head: string;
  framing: Framing;
  clientClose: boolean;
  clientHttp10: boolean;
  isUpgrade: boolean;
  hosts: string[];
  port: number;
}

export interface LocalAnswer {
  status: number;
  /** What the connection closes with after the answer. */
  reason: CloseReason;
  headers?: Record<string, string>;
  /** Plain-text body instead of `<status> <reason>` (e.g. security.rateLimit.errorMessage). */
  body?: string;
}

/** The request matched a socket-handler route (e.g. an HTTP -> HTTPS redirect): the connection is handed over. */
export interface Handoff {
  handoff: CompiledRoute;
  ctx: IRouteContext;
}

const ABSOLUTE_FORM = /^https?:\/\//i;
/** The methods a 405 names (everything but CONNECT is proxied). */
const ALLOWED = 'GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH';

export function admitRequest(r: RequestHead, record: ConnectionRecord, isTls: boolean, deps: Services): RequestPlan | LocalAnswer | Handoff {
  const verdict = judgeRequest(r);
  if (!verdict.ok) {
    if (verdict.status === 400) deps.events.protocolError(record, 'http_framing');
    return verdict.status === 405 ? { status: 405, reason: 'protocol_error', headers: { Allow: ALLOWED } } : { status: verdict.status, reason: 'protocol_error' };
  }
  const framing = verdict.framing;
  const domain = r.host !== undefined ? hostWithoutPort(r.host) : undefined;
  const q = r.path.indexOf('?');
  const path = q < 0 ? r.path : r.path.slice(0, q);
  const table = deps.table();
  // The lower-cased header record is built only when something reads it.
  let headerCache: Record<string, string> | undefined;
  const headers = (): Record<string, string> => (headerCache ??= headerRecord(r.headers));
  const match = table.match({
    port: record.localPort,
    clientIp: record.clientIp,
    domain,
    path,
    headers: table.portHasHeaderRoutes(record.localPort) ? headers() : undefined,
    phase: 'request',
    secure: isTls,
  });
  if (!match && !isTls && table.portTerminatesTls(record.localPort)) {
    // plain HTTP on a port whose routes terminate TLS: never served in the clear (nginx: 400)
    deps.events.protocolError(record, 'plain_http_on_tls_port');
    return { status: 400, reason: 'protocol_error', body: 'The plain HTTP request was sent to an HTTPS port\n' };
  }
  if (!match) {
    deps.events.routeMiss(record, domain);
    return { status: 404, reason: 'route_miss' };
  }
  const route = match.route;
  const refusal = deps.cm.admitRoute(record, route);
  if (refusal) {
    deps.cm.reportRefusal(record, refusal, route.name);
    return refusal === 'route_max_connections' || refusal === 'route_max_connections_per_ip' ? { status: 429, reason: 'rate_limited' } : { status: 403, reason: 'blocked' };
  }
  const rt = routeRuntime(route);
  const now = deps.clock.now();
  if (rt.basicAuth !== undefined || rt.jwtAuth !== undefined) {
    const auth = authorize(rt, headerValue(r.headers, 'authorization'), path, now);
    if (!auth.ok) {
      deps.cm.reportRefusal(record, 'auth_failed', route.name);
      return { status: 401, reason: 'auth_failed', headers: { 'WWW-Authenticate': auth.challenge } };
    }
  }
  if (rt.rateLimiter) {
    const key = rt.rateLimiter.keyFor(record.clientIp, path, (n) => headers()[n]);
    if (!rt.rateLimiter.allow(key, now)) {
      deps.cm.reportRefusal(record, 'request_rate_limit', route.name);
      const answer: LocalAnswer = { status: 429, reason: 'rate_limited', headers: { 'Retry-After': String(rt.rateLimiter.retryAfter(key, now)) } };
      if (rt.rateLimiter.errorMessage !== undefined) answer.body = rt.rateLimiter.errorMessage;
      return answer;
    }
  }
  const tokens = connectionTokens(r.headers);
  const isUpgrade = tokens.upgrade && /^websocket$/i.test(headerValue(r.headers, 'upgrade') ?? '');
  if (isUpgrade && route.config.action.websocket?.enabled === false) return { status: 403, reason: 'blocked' };
  const query = q < 0 ? '' : r.path.slice(q + 1);
  // The route context is built only for user code (target functions, socket handlers).
  const ctx = (): IRouteContext => ({
    connectionId: record.idText,
    port: record.localPort,
    domain,
    clientIp: record.clientIp,
    clientPort: record.clientPort,
    serverIp: record.destIp,
    isTls,
    tlsVersion: record.facts?.tlsVersion,
    routeName: route.name,
    routeIndex: route.index,
    ...(route.config.id !== undefined ? { routeId: route.config.id } : {}),
    timestamp: now,
    path,
    query,
    method: r.method,
    url: r.target,
    headers: headers(),
    params: match.params ?? {},
  });
  if (route.config.action.type === 'socket-handler') {
    deps.events.requestServed(route.name, record.clientIp);
    return { handoff: route, ctx: ctx() };
  }
  let hosts: string[];
  let port: number;
  try {
    hosts = rt.selector.hosts(ctx, record.clientIp, now);
    port = rt.selector.port(ctx, record.localPort);
  } catch (err) {
    deps.logger.warn({ conn: record.idText, err }, 'target function threw');
    return { status: 502, reason: 'handler_error' };
  }
  if (hosts.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return { status: 502, reason: 'handler_error' };
  deps.events.requestServed(route.name, record.clientIp);
  const proto = isTls ? 'https' : 'http';
  const incomingXff = headerValue(r.headers, 'x-forwarded-for');
  const trustedPeer = incomingXff !== undefined && deps.proxyIPs?.matches(record.clientIp) === true;
  const vars: TemplateVars | undefined =
    rt.requestHeaders || rt.responseHeaders
      ? {
          clientIp: record.clientIp,
          clientPort: record.clientPort,
          domain: domain ?? '',
          host: r.host ?? '',
          path,
          query,
          url: r.target,
          method: r.method,
          port: record.localPort,
          routeName: route.name,
          connectionId: record.idText,
          protocol: proto,
          serverIp: record.destIp,
          tlsVersion: record.facts?.tlsVersion ?? '',
          routeId: route.config.id ?? '',
          targetHost: hosts[0]!,
          targetPort: port,
          timestamp: now,
          requestHeaders: headers(),
        }
      : undefined;
  // Origin-form to the backend: an absolute-form target's authority, which routed the request,
  // replaces Host (RFC 9112 3.2.2), so the backend sees the host the route was chosen for.
  const target = rt.pathRewrite ? rt.pathRewrite.render(path, match.remainder, match.params) + (q < 0 ? '' : r.path.slice(q)) : r.path;
  const authority = ABSOLUTE_FORM.test(r.target) ? r.host : undefined;
  const head = buildRequestHead(
    r.method,
    target,
    r.headers,
    tokens,
    {
      xff: trustedPeer ? `${incomingXff}, ${record.clientIp}` : record.clientIp,
      proto,
      host: authority ?? headerValue(r.headers, 'host'),
      port: record.destPort,
      authority,
      contentLength: verdict.contentLength,
    },
    rt.requestHeaders,
    vars,
    isUpgrade,
  );
  // What we add (X-Forwarded-*, rules) must not push the head past what a backend reads (431 there).
  if (head.length > MAX_HTTP_HEAD_BYTES) return { status: 431, reason: 'protocol_error' };
  const clientHttp10 = r.httpVersion === '1.0';
  return {
    method: r.method,
    route,
    rt,
    vars,
    head,
    framing,
    clientClose: tokens.close || (clientHttp10 && !tokens.keepAlive),
    clientHttp10,
    isUpgrade,
    hosts,
    port,
  };
}
