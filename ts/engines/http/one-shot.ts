/**
 * One request, one answer: read a single request head (bounded in size and time), answer it
 * with a complete response and close. Serves the HTTP socket handlers and the ACME challenge.
 */
import type * as net from 'node:net';
import { readUntilDecided } from '../../connection/read-until.js';
import { recordOf } from '../../connection/connection-record.js';
import { detachedRecord } from '../../connection/detached.js';
import { sniffHttpRequest, hostWithoutPort, refusalStatus, MAX_HTTP_HEAD_BYTES, type HttpSniffResult } from '../../protocol/http-head.js';
import type { IRouteContext } from '../../types.js';
import { formatResponse } from './responses.js';

type HttpHead = Extract<HttpSniffResult, { kind: 'ok' }>;

const HEAD_TIMEOUT_MS = 10_000;

/**
 * Write a complete HTTP/1.1 response with `Connection: close` and end the socket. Its
 * connection is then half-closed: a client that neither reads nor closes is bounded by
 * halfCloseTimeout.
 */
export function writeHttpResponse(socket: net.Socket, status: number, headers: Record<string, string>, body = ''): void {
  if (socket.destroyed) return;
  socket.end(formatResponse(status, headers, body));
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

export interface LocationParts {
  domain: string | undefined;
  path: string;
  query: string;
  port: number;
}

/** Split a request head into the parts a location template uses. */
export function locationParts(head: Pick<HttpHead, 'host' | 'path'>, ctx: Pick<IRouteContext, 'domain' | 'port'>): LocationParts {
  const target = head.path;
  const q = target.indexOf('?');
  return {
    domain: head.host !== undefined ? hostWithoutPort(head.host) : ctx.domain,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q),
    port: ctx.port,
  };
}

/** `{domain}`, `{path}`, `{query}` (`?...` or empty), `{port}`; undefined when a domain is needed but unknown. */
export function renderLocation(template: string, p: LocationParts): string | undefined {
  if (p.domain === undefined && template.includes('{domain}')) return undefined;
  return template.replace(/\{(domain|path|query|port)\}/g, (_, k: string) =>
    k === 'domain' ? (p.domain ?? '') : k === 'path' ? p.path : k === 'query' ? p.query : String(p.port),
  );
}
