/**
 * Ready-made socket handlers (`SocketHandlers`), for `socket-handler` routes. The HTTP ones
 * read one request head with the shared sniffer and HTTP head parser (bounded in size and
 * time), answer, and close.
 */
import * as net from 'node:net';
import type { IRouteContext } from '../types.js';
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

function echo(): SocketHandlerFn {
  return (socket) => {
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  };
}

function block(message?: string): SocketHandlerFn {
  return (socket) => {
    socket.on('error', () => socket.destroy());
    if (message) socket.end(message);
    else socket.destroy();
  };
}

/** Relay to host:port (a plain pipe with error handling). */
function proxy(host: string, port: number): SocketHandlerFn {
  return (socket) => {
    const upstream = net.connect({ host, port, allowHalfOpen: true });
    const stop = (): void => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', stop);
    upstream.on('error', stop);
    socket.pipe(upstream);
    upstream.pipe(socket);
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
