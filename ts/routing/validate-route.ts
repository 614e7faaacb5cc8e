/**
 * Runtime shape checks for IRouteConfig: every field type-checked, unknown fields rejected,
 * cross-field rules enforced. Errors name the field path (`routes[0].action.target.port`).
 * Pattern syntax (ports, domains, paths, IPs, headers) is checked by the matcher compilers.
 */
import { configError } from '../core/errors.js';
import { createPublicKey } from 'node:crypto';
import { compileIpMatcher } from './matchers/ip.js';
import { compileTlsVersions } from './matchers/tls-version.js';
import { compilePathPattern } from './matchers/path.js';
import { checkPemPair } from './validate-pem.js';
import { checkTemplate, HEADER_TEMPLATE_VARS } from './template-vars.js';
import { bool, func, isObj, knownKeys, num, obj, oneOf, str, strArray, strRecord, type Obj } from './validate-util.js';

export interface RouteCheckContext {
  hasDefaultTarget: boolean;
  /** false: no ACME and no certProvisionFunction configured; undefined: unknown (no check). */
  hasCertificateProvider: boolean | undefined;
}

const ROUTE_KEYS = ['name', 'id', 'description', 'tags', 'priority', 'enabled', 'match', 'action', 'security'] as const;
const MATCH_KEYS = ['ports', 'domains', 'path', 'clientIp', 'tlsVersion', 'headers'] as const;
const ACTION_KEYS = ['type', 'protocol', 'target', 'tls', 'websocket', 'loadBalancing', 'headers', 'sendProxyProtocol', 'socketHandler'] as const;
const SECURITY_KEYS = ['ipAllowList', 'ipBlockList', 'maxConnections', 'maxConnectionsPerIP', 'basicAuth', 'rateLimit', 'jwtAuth'] as const;

export function checkTarget(v: unknown, path: string): void {
  const t = obj(v, path);
  knownKeys(t, ['host', 'port', 'path'], path);
  if (t.path !== undefined) {
    str(t.path, `${path}.path`);
    if (!(t.path as string).startsWith('/')) throw configError(`${path}.path`, `${JSON.stringify(t.path)} must start with '/'`);
  }
  if (t.host === undefined) throw configError(`${path}.host`, 'is required');
  if (Array.isArray(t.host)) strArray(t.host, `${path}.host`);
  else if (typeof t.host !== 'function') str(t.host, `${path}.host`);
  if (t.port === undefined) throw configError(`${path}.port`, 'is required');
  if (t.port !== 'preserve' && typeof t.port !== 'function') {
    if (typeof t.port !== 'number' || !Number.isInteger(t.port) || t.port < 1 || t.port > 65535) {
      throw configError(`${path}.port`, `${String(t.port)} is not a port (an integer 1..65535, 'preserve' or a function)`);
    }
  }
}

export function checkSecurity(v: unknown, path: string): void {
  const s = obj(v, path);
  knownKeys(s, SECURITY_KEYS, path);
  if (s.ipAllowList !== undefined) compileIpMatcher(strArray(s.ipAllowList, `${path}.ipAllowList`, false), `${path}.ipAllowList`);
  if (s.ipBlockList !== undefined) compileIpMatcher(strArray(s.ipBlockList, `${path}.ipBlockList`, false), `${path}.ipBlockList`);
  if (s.maxConnections !== undefined) num(s.maxConnections, `${path}.maxConnections`, { integer: true, min: 0 });
  if (s.maxConnectionsPerIP !== undefined) num(s.maxConnectionsPerIP, `${path}.maxConnectionsPerIP`, { integer: true, min: 0 });
  if (s.basicAuth !== undefined) {
    const p = `${path}.basicAuth`;
    const b = obj(s.basicAuth, p);
    knownKeys(b, ['users', 'realm', 'excludePaths'], p);
    if (b.excludePaths !== undefined) checkPaths(b.excludePaths, `${p}.excludePaths`);
    if (!Array.isArray(b.users) || b.users.length === 0) throw configError(`${p}.users`, 'must be a non-empty array of { username, password }');
    b.users.forEach((u: unknown, i) => {
      const up = `${p}.users[${i}]`;
      const user = obj(u, up);
      knownKeys(user, ['username', 'password'], up);
      const name = str(user.username, `${up}.username`);
      if (name.includes(':')) throw configError(`${up}.username`, "must not contain ':'");
      str(user.password, `${up}.password`, false);
    });
    if (b.realm !== undefined) {
      const realm = str(b.realm, `${p}.realm`);
      if (/["\r\n]/.test(realm)) throw configError(`${p}.realm`, 'must not contain quotes or line breaks');
    }
  }
  if (s.rateLimit !== undefined) {
    const p = `${path}.rateLimit`;
    const r = obj(s.rateLimit, p);
    knownKeys(r, ['maxRequests', 'windowSeconds', 'keyBy', 'headerName', 'errorMessage'], p);
    num(r.maxRequests, `${p}.maxRequests`, { integer: true, positive: true });
    if (r.windowSeconds === undefined) throw configError(`${p}.windowSeconds`, 'is required (19.x: window)');
    num(r.windowSeconds, `${p}.windowSeconds`, { positive: true, max: 86_400 });
    if (r.errorMessage !== undefined) str(r.errorMessage, `${p}.errorMessage`, false);
    if (r.keyBy !== undefined) oneOf(r.keyBy, ['ip', 'path', 'header'] as const, `${p}.keyBy`);
    if (r.headerName !== undefined) str(r.headerName, `${p}.headerName`);
    if (r.keyBy === 'header' && r.headerName === undefined) throw configError(`${p}.headerName`, "is required when keyBy is 'header'");
  }
  if (s.jwtAuth !== undefined) checkJwt(s.jwtAuth, `${path}.jwtAuth`);
}

function checkPaths(v: unknown, path: string): void {
  strArray(v, path, false).forEach((x, i) => compilePathPattern(x, `${path}[${i}]`));
}

function checkJwt(v: unknown, path: string): void {
  const j = obj(v, path);
  knownKeys(j, ['secret', 'publicKey', 'algorithm', 'issuer', 'audience', 'expiresIn', 'excludePaths'], path);
  const alg = j.algorithm === undefined ? (j.publicKey !== undefined ? 'RS256' : 'HS256') : oneOf(j.algorithm, ['HS256', 'RS256'] as const, `${path}.algorithm`);
  if (alg === 'HS256') {
    if (j.secret === undefined) throw configError(`${path}.secret`, 'is required for HS256');
    str(j.secret, `${path}.secret`);
    if ((j.secret as string).length === 0) throw configError(`${path}.secret`, 'is empty');
    if (j.publicKey !== undefined) throw configError(`${path}.publicKey`, "is not used with HS256: set algorithm: 'RS256'");
  } else {
    // 19.x routes put the RS256 key in `secret`
    const keyPath = j.publicKey !== undefined ? `${path}.publicKey` : `${path}.secret`;
    const pem = j.publicKey ?? j.secret;
    if (pem === undefined) throw configError(`${path}.publicKey`, 'is required for RS256 (a PEM public key or certificate)');
    str(pem, keyPath);
    let type: string | undefined;
    try {
      type = createPublicKey(pem as string).asymmetricKeyType;
    } catch (err) {
      throw configError(keyPath, `is not a PEM public key or certificate (${(err as Error).message})`);
    }
    if (type !== 'rsa') throw configError(keyPath, `is a${type === 'ec' || type === 'ed25519' ? 'n' : ''} ${type ?? 'unknown'} key: RS256 needs an RSA key`);
  }
  if (j.issuer !== undefined) str(j.issuer, `${path}.issuer`);
  if (j.audience !== undefined) str(j.audience, `${path}.audience`);
  if (j.expiresIn !== undefined) num(j.expiresIn, `${path}.expiresIn`, { positive: true });
  if (j.excludePaths !== undefined) checkPaths(j.excludePaths, `${path}.excludePaths`);
}

/** The contract's loadBalancing.healthCheck (ms). */
export function checkHealthCheck(v: unknown, path: string): void {
  const h = obj(v, path);
  knownKeys(h, ['type', 'path', 'interval', 'timeout', 'unhealthyThreshold', 'healthyThreshold', 'expectStatus'], path);
  if (h.type !== undefined) oneOf(h.type, ['tcp', 'http'] as const, `${path}.type`);
  if (h.path !== undefined) {
    str(h.path, `${path}.path`);
    if (!(h.path as string).startsWith('/')) throw configError(`${path}.path`, `${JSON.stringify(h.path)} must start with '/'`);
  }
  if (h.interval !== undefined) num(h.interval, `${path}.interval`, { integer: true, positive: true });
  if (h.timeout !== undefined) num(h.timeout, `${path}.timeout`, { integer: true, positive: true });
  if (h.unhealthyThreshold !== undefined) num(h.unhealthyThreshold, `${path}.unhealthyThreshold`, { integer: true, positive: true });
  if (h.healthyThreshold !== undefined) num(h.healthyThreshold, `${path}.healthyThreshold`, { integer: true, positive: true });
  if (h.expectStatus !== undefined) {
    if (!Array.isArray(h.expectStatus) || h.expectStatus.length === 0) throw configError(`${path}.expectStatus`, 'must be a non-empty array of status codes');
    h.expectStatus.forEach((c: unknown, i) => num(c, `${path}.expectStatus[${i}]`, { integer: true, min: 100, max: 599 }));
  }
}

function checkTls(v: unknown, path: string, ctx: RouteCheckContext): void {
  const t = obj(v, path);
  knownKeys(t, ['mode', 'certificate', 'verifyBackend', 'backendCa', 'acme', 'versions'], path);
  if (t.versions !== undefined) compileTlsVersions(t.versions, `${path}.versions`);
  if (t.acme !== undefined) {
    const ac = obj(t.acme, `${path}.acme`);
    knownKeys(ac, ['email', 'useProduction', 'challengePort', 'renewBeforeDays'], `${path}.acme`);
    if (ac.email !== undefined) str(ac.email, `${path}.acme.email`);
    if (ac.useProduction !== undefined) bool(ac.useProduction, `${path}.acme.useProduction`);
    if (ac.challengePort !== undefined) num(ac.challengePort, `${path}.acme.challengePort`, { integer: true, min: 1, max: 65535 });
    if (ac.renewBeforeDays !== undefined) num(ac.renewBeforeDays, `${path}.acme.renewBeforeDays`, { positive: true });
  }
  const mode = oneOf(t.mode, ['passthrough', 'terminate', 'terminate-and-reencrypt'] as const, `${path}.mode`);
  if (t.verifyBackend !== undefined && typeof t.verifyBackend !== 'boolean') throw configError(`${path}.verifyBackend`, `${String(t.verifyBackend)} is not a boolean`);
  if (t.backendCa !== undefined) strArray(t.backendCa, `${path}.backendCa`);
  if ((t.verifyBackend !== undefined || t.backendCa !== undefined) && mode !== 'terminate-and-reencrypt') {
    throw configError(`${path}.${t.verifyBackend !== undefined ? 'verifyBackend' : 'backendCa'}`, "is only used with 'terminate-and-reencrypt'");
  }
  const cert = t.certificate;
  if (cert !== undefined && cert !== 'auto') {
    const c = obj(cert, `${path}.certificate`);
    knownKeys(c, ['key', 'cert'], `${path}.certificate`);
    str(c.key, `${path}.certificate.key`);
    str(c.cert, `${path}.certificate.cert`);
    checkPemPair(c.key as string, c.cert as string, `${path}.certificate`);
  }
  if (mode === 'passthrough' && cert !== undefined) throw configError(`${path}.certificate`, 'is not used with passthrough (the backend holds the certificate)');
  if (mode !== 'passthrough' && cert === undefined && ctx.hasCertificateProvider === false) {
    throw configError(`${path}.certificate`, `is required for '${mode}' when neither acme nor certProvisionFunction is configured`);
  }
}

function checkAction(v: unknown, path: string, ctx: RouteCheckContext): void {
  const a = obj(v, path);
  knownKeys(a, ACTION_KEYS, path);
  const type = oneOf(a.type, ['forward', 'socket-handler'] as const, `${path}.type`);
  if (a.protocol !== undefined) oneOf(a.protocol, ['tcp', 'http'] as const, `${path}.protocol`);
  if (a.target !== undefined) checkTarget(a.target, `${path}.target`);
  if (a.tls !== undefined) checkTls(a.tls, `${path}.tls`, ctx);
  if (a.websocket !== undefined) {
    const p = `${path}.websocket`;
    const w = obj(a.websocket, p);
    knownKeys(w, ['enabled', 'pingIntervalMs', 'pingTimeoutMs'], p);
    if (w.enabled !== undefined) bool(w.enabled, `${p}.enabled`);
    if (w.pingIntervalMs !== undefined) num(w.pingIntervalMs, `${p}.pingIntervalMs`, { integer: true, positive: true });
    if (w.pingTimeoutMs !== undefined) num(w.pingTimeoutMs, `${p}.pingTimeoutMs`, { integer: true, positive: true });
  }
  if (a.loadBalancing !== undefined) {
    const p = `${path}.loadBalancing`;
    const lb = obj(a.loadBalancing, p);
    knownKeys(lb, ['algorithm', 'healthCheck'], p);
    oneOf(lb.algorithm, ['round-robin', 'least-connections', 'ip-hash'] as const, `${p}.algorithm`);
    if (lb.healthCheck !== undefined) checkHealthCheck(lb.healthCheck, `${p}.healthCheck`);
  }
  if (a.headers !== undefined) {
    const p = `${path}.headers`;
    const h = obj(a.headers, p);
    knownKeys(h, ['request', 'response'], p);
    for (const side of ['request', 'response'] as const) {
      if (h[side] === undefined) continue;
      strRecord(h[side], `${p}.${side}`);
      for (const [name, value] of Object.entries(h[side] as Record<string, string>)) {
        // A rule can never put a line break or a NUL into a forwarded head (header injection).
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw configError(`${p}.${side}.${name}`, 'is not a valid header name (RFC 9110 token)');
        if (/[\r\n\0]/.test(value)) throw configError(`${p}.${side}.${name}`, 'must not contain CR, LF or NUL');
        checkTemplate(value, HEADER_TEMPLATE_VARS, `${p}.${side}.${name}`, true);
      }
    }
  }
  if (a.sendProxyProtocol !== undefined && a.sendProxyProtocol !== false && a.sendProxyProtocol !== true) {
    oneOf(a.sendProxyProtocol, ['v1', 'v2'] as const, `${path}.sendProxyProtocol`);
  }
  if (type === 'forward') {
    if (a.target === undefined && !ctx.hasDefaultTarget) throw configError(`${path}.target`, "is required for type 'forward' (or set defaults.target)");
    if (a.socketHandler !== undefined) throw configError(`${path}.socketHandler`, "is only used with type 'socket-handler'");
  } else {
    if (a.socketHandler === undefined) throw configError(`${path}.socketHandler`, "is required for type 'socket-handler'");
    func(a.socketHandler, `${path}.socketHandler`);
  }
}

/** Checks one route's shape (not pattern syntax). */
export function checkRouteShape(v: unknown, path: string, ctx: RouteCheckContext): Obj {
  const r = obj(v, path);
  knownKeys(r, ROUTE_KEYS, path);
  if (r.name !== undefined) str(r.name, `${path}.name`);
  if (r.id !== undefined) str(r.id, `${path}.id`);
  if (r.description !== undefined) str(r.description, `${path}.description`, false);
  if (r.tags !== undefined) strArray(r.tags, `${path}.tags`, false);
  if (r.priority !== undefined) num(r.priority, `${path}.priority`);
  if (r.enabled !== undefined) bool(r.enabled, `${path}.enabled`);
  if (r.match === undefined) throw configError(`${path}.match`, 'is required');
  const m = obj(r.match, `${path}.match`);
  knownKeys(m, MATCH_KEYS, `${path}.match`);
  if (m.ports === undefined) throw configError(`${path}.match.ports`, 'is required');
  if (m.clientIp !== undefined) strArray(m.clientIp, `${path}.match.clientIp`);
  if (m.headers !== undefined && !isObj(m.headers)) throw configError(`${path}.match.headers`, 'must be an object of header name -> string | RegExp');
  if (r.action === undefined) throw configError(`${path}.action`, 'is required');
  checkAction(r.action, `${path}.action`, ctx);
  const a = r.action as Obj;
  if (isObj(a.target) && typeof a.target.path === 'string') {
    // target.path fills {path}, {remainder} and the :params of match.path
    const params = typeof m.path === 'string' ? [...m.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((x) => x[1]!) : [];
    checkTemplate(a.target.path, ['path', 'remainder', ...params], `${path}.action.target.path`);
  }
  if (r.security !== undefined) checkSecurity(r.security, `${path}.security`);
  return r;
}
