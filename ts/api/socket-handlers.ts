/**
 * Ready-made socket handlers (`SocketHandlers`), for `socket-handler` routes. The HTTP ones
 * read one request head with the shared sniffer and HTTP head parser (bounded in size and
 * time), answer, and close.
 */
import type * as net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { IRouteContext } from '../types.js';
import { configError, describeValue } from '../core/errors.js';
import { checkTemplate } from '../routing/template-vars.js';
import { recordOf, type ConnectionRecord } from '../connection/connection-record.js';
import { detachedRecord } from '../connection/detached.js';
import { connectFirst } from '../engines/l4-forward.js';
import { relay } from '../forwarding/relay.js';
import { withRequest, withRequestHead, writeHttpResponse, renderLocation, locationParts, LOCATION_VARS } from '../engines/http/one-shot.js';
import { headerRecord } from '../engines/http/headers.js';

export type SocketHandlerFn = (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;


function httpRedirect(locationTemplate: string, status: 301 | 302 | 303 | 307 | 308 = 301): SocketHandlerFn {
  if (typeof locationTemplate !== 'string') throw configError('SocketHandlers.httpRedirect(locationTemplate)', `must be a string, got ${describeValue(locationTemplate)}`);
  checkTemplate(locationTemplate, LOCATION_VARS, 'SocketHandlers.httpRedirect(locationTemplate)');
  if (/[\r\n\0]/.test(locationTemplate)) throw configError('SocketHandlers.httpRedirect(locationTemplate)', 'must not contain CR, LF or NUL');
  if (![301, 302, 303, 307, 308].includes(status)) throw configError('SocketHandlers.httpRedirect(statusCode)', `must be 301, 302, 303, 307 or 308, got ${describeValue(status)}`);
  return (socket, ctx) =>
    withRequestHead(socket, (head) => {
      const location = renderLocation(locationTemplate, locationParts(head, ctx));
      if (location === undefined) writeHttpResponse(socket, 400, {});
      else writeHttpResponse(socket, status, { Location: location });
    });
}

function httpResponse(response: { statusCode: number; headers?: Record<string, string>; body?: string }): SocketHandlerFn {
  return (socket) => withRequestHead(socket, () => writeHttpResponse(socket, response.statusCode, response.headers ?? {}, response.body ?? ''));
}

function httpBlock(statusCode = 403, message = 'Forbidden'): SocketHandlerFn {
  return (socket) => withRequestHead(socket, () => writeHttpResponse(socket, statusCode, { 'Content-Type': 'text/plain' }, message));
}

/** The socket's connection record (a detached one for a socket outside any proxy): errors and close handled there. */
function owned(socket: net.Socket): ConnectionRecord {
  return recordOf(socket) ?? detachedRecord(socket);
}

function echo(): SocketHandlerFn {
  return (socket) => {
    owned(socket);
    socket.pipe(socket);
  };
}

function block(message?: string): SocketHandlerFn {
  return (socket) => {
    owned(socket);
    if (message) socket.end(message);
    else socket.destroy();
  };
}

/**
 * Relay to host:port through the proxy's one relay: the backend joins the connection's record
 * (its connect deadline, half-close and close reasons), as an L4 forward route would.
 */
function proxy(host: string, port: number): SocketHandlerFn {
  return (socket) => {
    const record = owned(socket);
    connectFirst(record, {
      hosts: [host],
      port,
      connected: (_host, backend) => relay(record, backend, { now: () => record.now() }),
    });
  };
}

/** Longest line lineProtocol buffers; a peer that sends more without a newline is closed. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Newline-delimited text (19.6): each complete line, trimmed (so CRLF works too) and non-empty,
 * is passed to `handler` with the socket to answer on. UTF-8 split across reads is decoded
 * whole; a line longer than 64 KiB closes the connection.
 */
function lineProtocol(handler: (line: string, socket: net.Socket) => void): SocketHandlerFn {
  if (typeof handler !== 'function') throw configError('SocketHandlers.lineProtocol(handler)', `must be a function, got ${describeValue(handler)}`);
  return (socket) => {
    const record = owned(socket);
    const decoder = new StringDecoder('utf8');
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += decoder.write(chunk);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line.length === 0) continue;
        try {
          handler(line, socket);
        } catch (err) {
          record.close('proxy', 'handler_error', err as Error);
          return;
        }
        if (socket.destroyed) return;
      }
      if (Buffer.byteLength(pending) > MAX_LINE_BYTES) record.close('proxy', 'protocol_error');
    });
    socket.on('end', () => {
      if (!socket.destroyed && socket.writable) socket.end();
    });
  };
}

/** What SocketHandlers.httpServer's handler gets of a request. */
export interface IHttpServerRequest {
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  /** Lower-cased names; repeated fields joined with ', '. */
  headers: Record<string, string>;
  /** The body (Content-Length bodies up to 1 MiB), decoded as UTF-8. */
  body: string;
}

/** How SocketHandlers.httpServer's handler answers (once: later calls are ignored). */
export interface IHttpServerResponse {
  status(code: number): IHttpServerResponse;
  header(name: string, value: string): IHttpServerResponse;
  /** Write the response with this body (Content-Type text/plain unless set) and close. */
  send(data: string | Buffer): void;
  /** Write the response with no body (or what send() gave) and close. */
  end(): void;
}

/**
 * A tiny HTTP server on the connection (19.6): one request is read (head and Content-Length
 * body), `handler` answers it through `res`, the connection closes. A handler that throws or
 * rejects before answering gets a 500 sent for it.
 */
function httpServer(handler: (req: IHttpServerRequest, res: IHttpServerResponse) => void | Promise<void>): SocketHandlerFn {
  if (typeof handler !== 'function') throw configError('SocketHandlers.httpServer(handler)', `must be a function, got ${describeValue(handler)}`);
  return (socket) =>
    withRequest(socket, (head, body) => {
      let statusCode = 200;
      const headers: Record<string, string> = {};
      let sent = false;
      const reply = (data: string | Buffer): void => {
        if (sent) return;
        sent = true;
        if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'text/plain; charset=utf-8';
        writeHttpResponse(socket, statusCode, headers, data);
      };
      const res: IHttpServerResponse = {
        status(code) {
          if (!Number.isInteger(code) || code < 200 || code > 599) throw new RangeError(`status ${String(code)} is not 200..599`);
          statusCode = code;
          return res;
        },
        header(name, value) {
          if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || /[\r\n\0]/.test(String(value))) throw new TypeError(`invalid header ${JSON.stringify(name)}`);
          if (/^(content-length|connection|transfer-encoding)$/i.test(name)) return res; // the framing is the proxy's
          headers[name] = String(value);
          return res;
        },
        send: reply,
        end: () => reply(''),
      };
      const req: IHttpServerRequest = { method: head.method, url: head.target, headers: headerRecord(head.headers), body: body.toString('utf8') };
      const failed = (): void => {
        if (sent) return;
        sent = true;
        writeHttpResponse(socket, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, '500 Internal Server Error\n');
      };
      try {
        const out = handler(req, res);
        if (out instanceof Promise) out.catch(failed);
      } catch {
        failed();
      }
    });
}

/** Ready-made handlers for socket-handler routes (each call returns a handler). */
export const SocketHandlers = Object.freeze({
  /** Echo every byte back. */
  echo: echo(),
  proxy,
  block,
  httpBlock,
  httpRedirect,
  httpResponse,
  lineProtocol,
  httpServer,
});
