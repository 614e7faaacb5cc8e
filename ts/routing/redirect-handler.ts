/**
 * A tiny HTTP redirect responder for socket-handler routes: reads the request head from the
 * raw socket (bounded in size and time), answers with a redirect and closes.
 * Template placeholders: {domain} (Host without port, else the SNI/Host of the context),
 * {path} (without query), {query} (`?...` or empty), {port} (port the client connected to).
 */
import type * as net from 'node:net';
import type { IRouteContext } from '../types.js';

export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

export interface RedirectOptions {
  /** Most bytes of request head read before answering 431 (default 16 KiB). */
  maxHeadBytes?: number;
  /** ms to wait for a complete request head (default 10 000). */
  timeoutMs?: number;
}

const REASONS: Record<number, string> = {
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  431: 'Request Header Fields Too Large',
};

const HOST = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])$/i;

export interface ParsedHead {
  host: string | undefined;
  path: string;
  query: string;
}

/** Parses a request head (up to the blank line). undefined when malformed. Pure. */
export function parseRequestHead(head: string): ParsedHead | undefined {
  const lines = head.split(/\r?\n/);
  const m = /^[A-Z]+ (\S+) HTTP\/\d\.\d$/.exec(lines[0] ?? '');
  if (!m) return undefined;
  let target = m[1]!;
  let host: string | undefined;
  const abs = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target);
  if (abs) {
    host = abs[1];
    target = abs[2] === '' ? '/' : abs[2]!;
  }
  if (!target.startsWith('/')) return undefined;
  if (/[\x00-\x20\x7f]/.test(target)) return undefined;
  for (let i = 1; i < lines.length && host === undefined; i++) {
    const line = lines[i]!;
    if (line.slice(0, 5).toLowerCase() === 'host:') host = line.slice(5).trim();
  }
  if (host !== undefined) {
    // strip the port: [v6]:port or name:port
    const h = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    host = h !== '' && HOST.test(h) ? h.toLowerCase() : undefined;
  }
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  return { host, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q) };
}

export function renderLocation(template: string, head: ParsedHead, ctx: Pick<IRouteContext, 'domain' | 'port'>): string | undefined {
  const domain = head.host ?? ctx.domain;
  if (domain === undefined) return undefined;
  return template.replace(/\{(domain|path|query|port)\}/g, (_, k: string) =>
    k === 'domain' ? domain : k === 'path' ? head.path : k === 'query' ? head.query : String(ctx.port),
  );
}

function respond(socket: net.Socket, status: number, location?: string): void {
  const loc = location !== undefined ? `Location: ${location}\r\n` : '';
  socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\n${loc}Content-Length: 0\r\nConnection: close\r\n\r\n`);
}

export function httpRedirectHandler(
  locationTemplate: string,
  status: RedirectStatus = 301,
  options: RedirectOptions = {},
): (socket: net.Socket, ctx: IRouteContext) => void {
  const maxHead = options.maxHeadBytes ?? 16 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return (socket, ctx) => {
    let buffered = '';
    let done = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
    };
    const finish = (code: number, location?: string): void => {
      if (done) return;
      done = true;
      socket.off('data', onData);
      socket.off('end', onEnd);
      respond(socket, code, location);
      // the timer now bounds how long we wait for the client to close after our FIN
    };
    const onData = (chunk: Buffer | string): void => {
      buffered += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
      const endOfHead = buffered.search(/\r?\n\r?\n/);
      if (endOfHead < 0) {
        if (buffered.length > maxHead) finish(431);
        return;
      }
      if (endOfHead > maxHead) return finish(431);
      const head = parseRequestHead(buffered.slice(0, endOfHead));
      const location = head ? renderLocation(locationTemplate, head, ctx) : undefined;
      if (location === undefined) finish(400);
      else finish(status, location);
    };
    const onEnd = (): void => finish(400);
    socket.on('error', () => socket.destroy());
    socket.once('close', cleanup);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.resume();
  };
}
