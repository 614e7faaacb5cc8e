/**
 * Ready-made socket handlers (`SocketHandlers`), for `socket-handler` routes. The HTTP ones
 * read one request head with the shared sniffer and HTTP head parser (bounded in size and
 * time), answer, and close.
 */
import type * as net from 'node:net';
import type { IRouteContext } from '../types.js';
import { recordOf, type ConnectionRecord } from '../connection/connection-record.js';
import { detachedRecord } from '../connection/detached.js';
import { connectFirst } from '../engines/l4-forward.js';
import { relay } from '../forwarding/relay.js';
import { withRequestHead, writeHttpResponse, renderLocation, locationParts } from '../engines/http/one-shot.js';

export type SocketHandlerFn = (socket: net.Socket, ctx: IRouteContext) => void | Promise<void>;

function httpRedirect(locationTemplate: string, status: 301 | 302 | 303 | 307 | 308 = 301): SocketHandlerFn {
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

/** Ready-made handlers for socket-handler routes (each call returns a handler). */
export const SocketHandlers = Object.freeze({
  /** Echo every byte back. */
  echo: echo(),
  proxy,
  block,
  httpBlock,
  httpRedirect,
  httpResponse,
});
