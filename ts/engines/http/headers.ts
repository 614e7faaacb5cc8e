/**
 * Header passes for proxied messages: hop-by-hop removal (including the names a
 * Connection header lists), X-Forwarded-*, and route header rules. Works on flat
 * [name, value, ...] lists as parsed; names compared case-insensitively.
 */
import { compileTemplate, type CompiledTemplate, type TemplateVars } from './templates.js';

/** RFC 9110 7.6.1 hop-by-hop fields, plus the de-facto ones. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
/**
 * Fields a Connection header may never remove: they framed or routed the message (listing them
 * there is a smuggling vector: a stripped Content-Length would turn the body into a request).
 */
const NEVER_LISTED = new Set(['host', 'content-length', 'transfer-encoding']);

/** Lower-cased names listed in Connection headers, and whether close / upgrade were asked for. */
export interface ConnectionTokens {
  close: boolean;
  keepAlive: boolean;
  upgrade: boolean;
  listed: Set<string> | undefined;
}

export function connectionTokens(headers: readonly string[]): ConnectionTokens {
  let close = false;
  let keepAlive = false;
  let upgrade = false;
  let listed: Set<string> | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const raw of headers[i + 1]!.split(',')) {
      const t = raw.trim().toLowerCase();
      if (t === '') continue;
      if (t === 'close') close = true;
      else if (t === 'keep-alive') keepAlive = true;
      else if (t === 'upgrade') upgrade = true;
      else if (!NEVER_LISTED.has(t)) (listed ??= new Set()).add(t);
    }
  }
  return { close, keepAlive, upgrade, listed };
}

export function headerValue(headers: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return headers[i + 1];
  }
  return undefined;
}

/** Headers as a lower-cased record for matchers and user code (repeated names joined by ', '). */
export function headerRecord(headers: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < headers.length; i += 2) {
    const k = headers[i]!.toLowerCase();
    const prev = out[k];
    out[k] = prev === undefined ? headers[i + 1]! : `${prev}, ${headers[i + 1]!}`;
  }
  return out;
}

export interface HeaderRules {
  /** Lower-cased names the rules set (they replace incoming values). */
  readonly names: ReadonlySet<string>;
  readonly rules: ReadonlyArray<{ name: string; value: CompiledTemplate }>;
}

export function compileHeaderRules(rules: Record<string, string> | undefined): HeaderRules | undefined {
  if (!rules || Object.keys(rules).length === 0) return undefined;
  const list = Object.entries(rules).map(([name, value]) => ({ name, value: compileTemplate(value) }));
  return { names: new Set(list.map((r) => r.name.toLowerCase())), rules: list };
}

export interface ForwardedInfo {
  /** The value for X-Forwarded-For (already decided: appended or replaced). */
  xff: string;
  proto: 'http' | 'https';
  /** The client's Host verbatim, port included (undefined when it sent none); X-Forwarded-Host. */
  host: string | undefined;
  port: number;
  /** An absolute-form target's authority: it replaces Host (RFC 9112 3.2.2). */
  authority?: string;
  /** The request's one Content-Length (equal duplicates folded); undefined: none was sent. */
  contentLength?: number;
}

const HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));

/**
 * True when a message carries no hop-by-hop field (hence no Connection header either): with no
 * header rules and nothing to add, its head can go on byte for byte.
 */
export function hasNoHopByHop(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (HOP_LENGTHS.has(name.length) && HOP_BY_HOP.has(name.toLowerCase())) return false;
  }
  return true;
}

const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port']);
/** What a forwarded request loses besides hop-by-hop fields: X-Forwarded-* (rebuilt) and Content-Length (re-emitted once). */
const REQUEST_DROP = new Set([...FORWARDED, 'content-length']);
const REQUEST_DROP_WITH_HOST = new Set([...REQUEST_DROP, 'host']);
/** Lengths of every fixed name a message may lose (hop-by-hop, X-Forwarded-*, the framing and Host). */
const DROP_LENGTHS = new Set([...HOP_BY_HOP, ...REQUEST_DROP_WITH_HOST, 'transfer-encoding'].map((n) => n.length));

/**
 * The end-to-end header lines of a message: everything but hop-by-hop fields, the names its
 * Connection header lists, the names the route's rules set and `alsoDrop`. Also returns the
 * Upgrade value, which an upgrade passes on explicitly.
 */
function endToEndHeaders(
  headers: readonly string[],
  tokens: ConnectionTokens,
  rules: HeaderRules | undefined,
  alsoDrop: ReadonlySet<string> | undefined,
): { text: string; upgrade: string | undefined } {
  let text = '';
  let upgrade: string | undefined;
  const fastPath = tokens.listed === undefined && rules === undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    // Most headers are kept: a name whose length no dropped name has is kept without lower-casing it.
    if (fastPath && !DROP_LENGTHS.has(name.length)) {
      text += `${name}: ${headers[i + 1]!}\r\n`;
      continue;
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'upgrade') upgrade = headers[i + 1];
      continue;
    }
    if (alsoDrop?.has(lower) || tokens.listed?.has(lower) || rules?.names.has(lower)) continue;
    text += `${name}: ${headers[i + 1]!}\r\n`;
  }
  return { text, upgrade };
}

/**
 * The request head for the backend: request line, the client's headers minus hop-by-hop
 * and the ones this proxy sets, X-Forwarded-*, route rules, and for upgrades
 * `Connection: Upgrade` with the client's Upgrade header.
 */
export function buildRequestHead(
  method: string,
  target: string,
  headers: readonly string[],
  tokens: ConnectionTokens,
  fwd: ForwardedInfo,
  rules: HeaderRules | undefined,
  vars: TemplateVars | undefined,
  isUpgrade: boolean,
): string {
  const kept = endToEndHeaders(headers, tokens, rules, fwd.authority !== undefined ? REQUEST_DROP_WITH_HOST : REQUEST_DROP);
  let out = `${method} ${target} HTTP/1.1\r\n`;
  if (fwd.authority !== undefined) out += `Host: ${fwd.authority}\r\n`;
  out += kept.text;
  if (fwd.contentLength !== undefined) out += `Content-Length: ${fwd.contentLength}\r\n`;
  const upgradeValue = kept.upgrade;
  out += `X-Forwarded-For: ${fwd.xff}\r\nX-Forwarded-Proto: ${fwd.proto}\r\n`;
  if (fwd.host !== undefined) out += `X-Forwarded-Host: ${fwd.host}\r\n`;
  out += `X-Forwarded-Port: ${fwd.port}\r\n`;
  if (rules && vars) for (const r of rules.rules) out += `${r.name}: ${r.value.render(vars)}\r\n`;
  if (isUpgrade && upgradeValue !== undefined) out += `Connection: Upgrade\r\nUpgrade: ${upgradeValue}\r\n`;
  return `${out}\r\n`;
}

/** Framing fields a response loses when the proxy re-frames it. */
export const DROP_CONTENT_LENGTH: ReadonlySet<string> = new Set(['content-length']);
export const DROP_FRAMING: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding']);

/**
 * The response head for the client: status line, headers minus hop-by-hop (and `drop`: a
 * Content-Length beside Transfer-Encoding, or both when the body is de-chunked), route rules,
 * Connection.
 */
export function buildResponseHead(
  status: number,
  reason: string,
  headers: readonly string[],
  rules: HeaderRules | undefined,
  vars: TemplateVars | undefined,
  closeClient: boolean,
  isUpgrade: boolean,
  clientIsHttp10: boolean,
  drop?: ReadonlySet<string>,
): string {
  const kept = endToEndHeaders(headers, connectionTokens(headers), rules, drop);
  let out = `HTTP/1.1 ${status} ${reason}\r\n${kept.text}`;
  const upgradeValue = kept.upgrade;
  if (rules && vars) for (const r of rules.rules) out += `${r.name}: ${r.value.render(vars)}\r\n`;
  if (isUpgrade) out += `Connection: Upgrade\r\nUpgrade: ${upgradeValue ?? 'websocket'}\r\n`;
  else if (closeClient) out += 'Connection: close\r\n';
  else if (clientIsHttp10) out += 'Connection: keep-alive\r\n';
  return `${out}\r\n`;
}
