/**
 * Route fields of @push.rocks/smartproxy 19.x, brought onto this proxy's route model before a
 * route is validated (pure: a raw route in, the route to validate and its notes out):
 *
 * | 19.x field                                   | here                                                        |
 * |----------------------------------------------|-------------------------------------------------------------|
 * | route `headers`                              | merged into `action.headers` (action's own win)             |
 * | `action.websocket.pingInterval/pingTimeout`  | `pingIntervalMs` / `pingTimeoutMs`                          |
 * | `security.rateLimit.window`                  | `windowSeconds`                                             |
 * | `security.{basicAuth,rateLimit,jwtAuth}.enabled: false` | the block is dropped                             |
 * | `action.advanced.headers`                    | request header rules (`action.headers.request`)             |
 * | `action.tls.versions` of a passthrough route  | dropped, with a warning (a terminating route's handshakes are bounded by it) |
 * | `action.forwardingEngine: 'nftables'`, `action.nftables`, other `action.advanced` fields | dropped, with a warning naming the field |
 * | `action.type: 'redirect' / 'block' / 'static'` (removed in 19.5) | a config error saying what to use instead     |
 *
 * `id`, `description`, `tags`, `tls.acme`, `tls.versions`, `security.maxConnectionsPerIP`,
 * `basicAuth.excludePaths`, `rateLimit.errorMessage` and `jwtAuth` are this proxy's own fields
 * too and pass unchanged.
 */
import { configError } from '../core/errors.js';

export interface RouteNote {
  /** The field, e.g. routes[2].action.nftables. */
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegExp);
}

const REMOVED_TYPES: Record<string, string> = {
  redirect:
    "'redirect' was removed in smartproxy 19.5: use createHttpToHttpsRedirect(domains, httpsPort) or a 'socket-handler' route with SocketHandlers.httpRedirect(location, status)",
  block: "'block' was removed in smartproxy 19.5: use a 'socket-handler' route with SocketHandlers.block() (or SocketHandlers.httpBlock(status, message) for HTTP)",
  static: "'static' was removed in smartproxy 19.5: serve the files from a backend, or answer with SocketHandlers.httpResponse({ statusCode, headers, body })",
};

function mergeHeaders(into: unknown, from: unknown): Obj {
  const out: Obj = isObj(into) ? { ...into } : {};
  if (!isObj(from)) return out;
  for (const side of ['request', 'response'] as const) {
    const f = from[side];
    if (!isObj(f)) continue;
    const mine = isObj(out[side]) ? (out[side] as Obj) : {};
    out[side] = { ...f, ...mine };
  }
  return out;
}

/** The route as this proxy validates it, and what was dropped on the way. Throws for removed action types. */
export function normalizeLegacyRoute(raw: unknown, path: string): { route: unknown; notes: RouteNote[] } {
  const notes: RouteNote[] = [];
  if (!isObj(raw)) return { route: raw, notes };
  const route: Obj = { ...raw };
  const a = isObj(route.action) ? ({ ...route.action } as Obj) : undefined;
  if (a !== undefined) {
    route.action = a;
    if (typeof a.type === 'string' && a.type in REMOVED_TYPES) throw configError(`${path}.action.type`, REMOVED_TYPES[a.type]!);
    if (route.headers !== undefined) {
      if (isObj(route.headers)) a.headers = mergeHeaders(a.headers, route.headers);
      else a.headers ??= route.headers; // let validation name what is wrong with it
      delete route.headers;
    }
    if (isObj(a.websocket)) {
      const w = { ...a.websocket };
      if (w.pingInterval !== undefined) {
        w.pingIntervalMs ??= w.pingInterval;
        delete w.pingInterval;
      }
      if (w.pingTimeout !== undefined) {
        w.pingTimeoutMs ??= w.pingTimeout;
        delete w.pingTimeout;
      }
      a.websocket = w;
    }
    if (isObj(a.tls) && a.tls.mode === 'passthrough' && a.tls.versions !== undefined) {
      // the backend holds the handshake; 19.x did not enforce it either
      notes.push({
        path: `${path}.action.tls.versions`,
        message: "is not enforced for 'passthrough' (the backend negotiates the version): use match.tlsVersion to route on the ClientHello's version",
      });
      const t = { ...a.tls };
      delete t.versions;
      a.tls = t;
    }
    if (a.forwardingEngine !== undefined) {
      if (a.forwardingEngine === 'nftables') {
        notes.push({ path: `${path}.action.forwardingEngine`, message: "'nftables' (kernel forwarding) is not available: the route is forwarded in process; remove forwardingEngine" });
      } else if (a.forwardingEngine !== 'node') {
        throw configError(`${path}.action.forwardingEngine`, `must be 'node' or 'nftables', got ${JSON.stringify(a.forwardingEngine)}`);
      }
      delete a.forwardingEngine;
    }
    if (a.nftables !== undefined) {
      notes.push({ path: `${path}.action.nftables`, message: 'NFTables settings are not used (no kernel forwarding): remove them; sendProxyProtocol passes the client address to backends' });
      delete a.nftables;
    }
    if (a.advanced !== undefined) {
      if (isObj(a.advanced)) {
        const adv = a.advanced;
        if (isObj(adv.headers)) a.headers = mergeHeaders(a.headers, { request: adv.headers });
        for (const k of Object.keys(adv)) {
          if (k === 'headers') continue;
          const instead =
            k === 'timeout' ? 'use the options connectionTimeout / responseTimeout' : k === 'urlRewrite' ? 'use action.target.path (a path template)' : k === 'keepAlive' ? 'upstream keep-alive is always on' : 'serve it from a backend';
          notes.push({ path: `${path}.action.advanced.${k}`, message: `is not supported and is ignored: ${instead}` });
        }
      } else {
        notes.push({ path: `${path}.action.advanced`, message: 'is not supported and is ignored' });
      }
      delete a.advanced;
    }
  }
  if (isObj(route.security)) {
    const sec: Obj = { ...route.security };
    route.security = sec;
    for (const k of ['basicAuth', 'rateLimit', 'jwtAuth'] as const) {
      const block = sec[k];
      if (!isObj(block)) continue;
      if (block.enabled === false) {
        delete sec[k];
        continue;
      }
      const b: Obj = { ...block };
      if (b.enabled === true) delete b.enabled; // anything else is left for validation to name
      if (k === 'rateLimit' && b.window !== undefined) {
        b.windowSeconds ??= b.window;
        delete b.window;
      }
      sec[k] = b;
    }
  }
  return { route, notes };
}
