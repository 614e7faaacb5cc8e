/**
 * One request, one answer: read a single request head (bounded in size and time), answer it
 * with a complete response and close. Serves the HTTP socket handlers and the ACME challenge.
 */
import type * as net from 'node:net';
import { readUntilDecided } from '../../connection/read-until.js';
import { recordOf } from '../../connection/connection-record.js';
import { detachedRecord } from '../../connection/detached.js';
import { sniffHttpRequest, hostWithoutPort, refusalStatus, MAX_HTTP_HEAD_BYTES, type HttpSniffResult } from '../../protocol/http-head.js';
import { judgeRequest } from '../../protocol/request-policy.js';
import type { IRouteContext } from '../../types.js';
import { formatResponse, formatResponseHead } from './responses.js';

type HttpHead = Extract<HttpSniffResult, { kind: 'ok' }>;

const HEAD_TIMEOUT_MS = 10_000;

/**
 * Write a complete HTTP/1.1 response with `Connection: close` and end the socket. Its
 * connection is then half-closed: a client that neither reads nor closes is bounded by
 * halfCloseTimeout.
 */
export function writeHttpResponse(socket: net.Socket, status: number, headers: Record<string, string>, body: string | Buffer = ''): void {
  if (socket.destroyed) return;
  socket.end(typeof body === 'string' ? formatResponse(status, headers, body) : Buffer.concat([Buffer.from(formatResponseHead(status, headers, body.length)), body]));
  const record = recordOf(socket);
  record?.markHalfClosed(record.now());
}

/**
 * Read one request head within 10 s (the connection's engine timer), then call `answer` (or
 * answer 400/408/431 itself). A socket outside any proxy gets a detached connection record for
 * the same lifecycle and deadline.
 */
export function withRequestHead(socket: net.Socket, answer: (head: HttpHead) => void): void {
  const record = recordOf(socket) ?? detachedRecord(socket);
  const cancel = readUntilDecided(socket, undefined, sniffHttpRequest, MAX_HTTP_HEAD_BYTES + 1, (failure, result) => {
    record.clearEngineTimer();
    if (failure === 'closed') return void socket.destroy();
    if (failure === 'too_large') return writeHttpResponse(socket, 431, {});
    if (result?.kind === 'invalid') return writeHttpResponse(socket, refusalStatus(result.reason), {});
    if (!result || result.kind !== 'ok') return writeHttpResponse(socket, 400, {});
    answer(result);
  });
  record.startEngineTimer(HEAD_TIMEOUT_MS, record.now(), () => {
    cancel();
    writeHttpResponse(socket, 408, {});
  });
}

/** Largest request body SocketHandlers.httpServer reads (past it: 413). */
export const MAX_ONE_SHOT_BODY = 1024 * 1024;

type HeadAndBody = { kind: 'need-more' } | { kind: 'answer'; status: number; headers?: Record<string, string> } | { kind: 'ok'; head: HttpHead; body: Buffer };

/** A request head and its Content-Length body (chunked bodies are not read: 411), at the start of `buf`. */
function parseHeadAndBody(buf: Buffer): HeadAndBody {
  const r = sniffHttpRequest(buf);
  if (r.kind === 'need-more') return { kind: 'need-more' };
  if (r.kind !== 'ok') return { kind: 'answer', status: r.kind === 'invalid' ? refusalStatus(r.reason) : 400 };
  const verdict = judgeRequest(r);
  if (!verdict.ok) return { kind: 'answer', status: verdict.status };
  const f = verdict.framing;
  if (f.kind === 'chunked') return { kind: 'answer', status: 411 };
  const length = f.kind === 'length' ? f.length : 0;
  if (length > MAX_ONE_SHOT_BODY) return { kind: 'answer', status: 413 };
  if (buf.length < r.headLength + length) return { kind: 'need-more' };
  return { kind: 'ok', head: r, body: buf.subarray(r.headLength, r.headLength + length) };
}

/**
 * Read one request (head, then a Content-Length body up to 1 MiB) within 10 s, then call
 * `answer`; malformed, oversized or chunked requests are answered here (400/411/413/431).
 */
export function withRequest(socket: net.Socket, answer: (head: HttpHead, body: Buffer) => void): void {
  const record = recordOf(socket) ?? detachedRecord(socket);
  const cancel = readUntilDecided(socket, undefined, parseHeadAndBody, MAX_HTTP_HEAD_BYTES + MAX_ONE_SHOT_BODY + 1, (failure, result) => {
    record.clearEngineTimer();
    if (failure === 'closed') return void socket.destroy();
    if (failure === 'too_large') return writeHttpResponse(socket, 431, {});
    if (!result || result.kind === 'need-more') return writeHttpResponse(socket, 400, {});
    if (result.kind === 'answer') return writeHttpResponse(socket, result.status, result.headers ?? {});
    answer(result.head, result.body);
  });
  record.startEngineTimer(HEAD_TIMEOUT_MS, record.now(), () => {
    cancel();
    writeHttpResponse(socket, 408, {});
  });
}

export interface LocationParts {
  domain: string | undefined;
  /** The request target's path and query (`/x?y=1`), as 19.x's `{path}`. */
  path: string;
  port: number;
  clientIp: string;
}

/** The parts of a request a location template uses. */
export function locationParts(head: Pick<HttpHead, 'host' | 'path'>, ctx: Pick<IRouteContext, 'domain' | 'port' | 'clientIp'>): LocationParts {
  return {
    domain: head.host !== undefined ? hostWithoutPort(head.host) : ctx.domain,
    path: head.path,
    port: ctx.port,
    clientIp: ctx.clientIp,
  };
}

/** The variables of a location template (SocketHandlers.httpRedirect). */
export const LOCATION_VARS = ['domain', 'path', 'port', 'clientIp'] as const;

/** `{domain}`, `{path}` (with the query), `{port}`, `{clientIp}`; undefined when a domain is needed but unknown. */
export function renderLocation(template: string, p: LocationParts): string | undefined {
  if (p.domain === undefined && template.includes('{domain}')) return undefined;
  return template.replace(/\{(domain|path|port|clientIp)\}/g, (_, k: string) =>
    k === 'domain' ? (p.domain ?? '') : k === 'path' ? p.path : k === 'port' ? String(p.port) : p.clientIp,
  );
}
