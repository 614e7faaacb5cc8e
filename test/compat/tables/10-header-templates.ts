/**
 * Kind 10 — header templates (route-level `headers` and action-level `advanced.headers`), with
 * route priorities and a disabled route, written as a 19.6 user writes them.
 *
 * Shapes and sources:
 * - Template variables are the IRouteContext fields in braces — `{domain}`, `{path}`, `{clientIp}`,
 *   `{port}`, `{routeName}`, ... — and dotted paths into it such as `{headers.host}`; an unknown
 *   variable is left as written: TemplateUtils.resolveTemplateVariables / resolveHeaderTemplates,
 *   unpkg 21.1.3 ts/core/utils/template-utils.ts ("Supports variables like {domain}, {path},
 *   {clientIp}, etc.", "Handle nested properties with dot notation (e.g., {headers.host})"),
 *   applied by http-proxy/http-request-handler.ts (`applyRouteHeaderModifications`, same package).
 *   IRouteContext fields: dossier §2c (route-context.d.ts).
 * - Route-level `headers: { request?: Record<string, string>; response?: Record<string, string> }`
 *   and `action.advanced.headers: Record<string, string>` (request headers): dossier §2a/§2c
 *   [exact shapes unverified there; from memory of 19.x route-types.ts].
 * - `priority` (higher wins), `enabled`: dossier §2a (`enabled` [unverified]).
 * - `createHttpRoute(domains, target, options?: Partial<IRouteConfig>)` (port from
 *   `options.match.ports`, default 80; the rest of `options`, here `headers`, lands on the route):
 *   unpkg 21.1.3 route-patterns.d.ts (signature) [merge behaviour from memory of 19.x route-helpers.ts].
 */
import { createHttpRoute, type IRouteConfig, type ISmartProxyOptions } from '../../../ts/index.js';

export interface HeaderTemplateEnv {
  port: number;
  backendPort: number;
}

export function headerTemplateRoutes(env: HeaderTemplateEnv): IRouteConfig[] {
  const target = { host: '127.0.0.1', port: env.backendPort };
  return [
    {
      name: 'route-headers',
      match: { ports: env.port, domains: 'hdr.test' },
      action: { type: 'forward', target },
      headers: {
        request: {
          'X-Client-IP': '{clientIp}',
          'X-Original-Host': '{domain}',
          'X-Original-Path': '{path}',
          'X-Proxy-Port': '{port}',
          'X-Route-Name': '{routeName}',
          'X-Static': 'static-value',
        },
        response: {
          'X-Served-By': 'smartproxy-compat',
          'X-Served-For': '{clientIp}',
        },
      },
    },
    {
      name: 'dotted-headers',
      match: { ports: env.port, domains: 'dot.hdr.test' },
      action: { type: 'forward', target },
      headers: { request: { 'X-Host-Header': '{headers.host}' } },
    },
    {
      name: 'advanced-headers',
      match: { ports: env.port, domains: 'adv.hdr.test' },
      action: {
        type: 'forward',
        target,
        advanced: { headers: { 'X-Advanced-Host': '{domain}', 'X-Advanced-Static': 'adv' } },
      },
    },
    createHttpRoute(
      'helper.hdr.test',
      target,
      {
        name: 'helper-route',
        match: { ports: env.port, domains: 'helper.hdr.test' },
        headers: { request: { 'X-Helper-Host': '{domain}' } },
      },
    ),
    {
      name: 'prio-low',
      priority: 1,
      match: { ports: env.port, domains: 'prio.hdr.test' },
      action: { type: 'forward', target },
      headers: { request: { 'X-Route-Name': '{routeName}' } },
    },
    {
      name: 'prio-high',
      priority: 10,
      match: { ports: env.port, domains: 'prio.hdr.test' },
      action: { type: 'forward', target },
      headers: { request: { 'X-Route-Name': '{routeName}' } },
    },
    {
      name: 'prio-disabled',
      enabled: false,
      priority: 100,
      match: { ports: env.port, domains: 'prio.hdr.test' },
      action: { type: 'forward', target },
      headers: { request: { 'X-Route-Name': '{routeName}' } },
    },
  ];
}

export function headerTemplateOptions(env: HeaderTemplateEnv): ISmartProxyOptions {
  return { routes: headerTemplateRoutes(env) };
}
