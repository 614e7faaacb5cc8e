/**
 * Kind 4 — socket-handler routes (echo, lineProtocol, httpServer, proxy, httpResponse, block,
 * httpBlock, and hand-written handlers using the route context), written as a 19.6 user writes them.
 *
 * Shapes and sources:
 * - `action: { type: 'socket-handler', socketHandler }` with `TSocketHandler = (socket: net.Socket,
 *   context: IRouteContext) => void | Promise<void>`: unpkg 21.1.3 route-types.ts head (confirmed
 *   text) and readme.plan2.md at tag v19.5.4 (code.foss.global, "Target State").
 * - `createSocketHandlerRoute(domains, ports, handler, options?: { name?, priority?, path? })`;
 *   `SocketHandlers.echo` (a handler), `.proxy(host, port)`, `.lineProtocol((line, socket) => ...)`,
 *   `.httpResponse({ statusCode, headers?, body })`, `.block(message?)`,
 *   `.httpBlock(statusCode?, message?)`, `.httpRedirect(locationTemplate, statusCode?)`,
 *   `.httpServer((req: { method, url, headers, body? }, res: { status(code), header(name, value),
 *   send(data), end() }) => ...)`: readme.plan2.md v19.5.4 (Phase 2 "Create Predefined Socket
 *   Handlers") and the ACME challenge route of 19.x certificate-manager.ts, which is built with
 *   `SocketHandlers.httpServer` [member signatures from memory of 19.5/19.6 route-helpers.ts; the
 *   stored copies are readable only from their start].
 * - IRouteContext `clientIp`, `port`, `domain`: unpkg 21.1.3 core/models/route-context.d.ts
 *   (dossier §2c).
 */
import * as net from 'node:net';
import {
  SocketHandlers,
  createSocketHandlerRoute,
  type IRouteConfig,
  type IRouteContext,
  type ISmartProxyOptions,
} from '../../../ts/index.js';

export interface SocketHandlerEnv {
  echoPort: number;
  linePort: number;
  httpServerPort: number;
  proxyPort: number;
  responsePort: number;
  blockPort: number;
  httpBlockPort: number;
  contextPort: number;
  asyncPort: number;
  /** A TCP echo server the proxy handler relays to. */
  echoBackendPort: number;
}

/** A hand-written handler, typed the 19.6 way. */
function greet(socket: net.Socket, context: IRouteContext): void {
  socket.end(`hello ${context.clientIp} on ${context.port}\n`);
}

export function socketHandlerRoutes(env: SocketHandlerEnv): IRouteConfig[] {
  return [
    // plain TCP: '*' must serve every client, with or without a name
    createSocketHandlerRoute('*', env.echoPort, SocketHandlers.echo, { name: 'echo' }),
    createSocketHandlerRoute(
      '*',
      env.linePort,
      SocketHandlers.lineProtocol((line, socket) => {
        socket.write(`you said: ${line}\n`);
      }),
      { name: 'line-protocol' },
    ),
    createSocketHandlerRoute(
      '*',
      env.httpServerPort,
      SocketHandlers.httpServer((req, res) => {
        res.status(200);
        res.header('Content-Type', 'application/json');
        res.send(JSON.stringify({ method: req.method, url: req.url }));
      }),
      { name: 'http-server' },
    ),
    createSocketHandlerRoute('*', env.proxyPort, SocketHandlers.proxy('127.0.0.1', env.echoBackendPort), { name: 'proxy' }),
    {
      name: 'http-response',
      match: { ports: env.responsePort },
      action: {
        type: 'socket-handler',
        socketHandler: SocketHandlers.httpResponse({
          statusCode: 200,
          headers: { 'Content-Type': 'text/plain', 'X-Handler': 'httpResponse' },
          body: 'static hello',
        }),
      },
    },
    {
      name: 'block',
      match: { ports: env.blockPort },
      action: { type: 'socket-handler', socketHandler: SocketHandlers.block('Blocked by policy') },
    },
    {
      name: 'http-block',
      match: { ports: env.httpBlockPort },
      action: { type: 'socket-handler', socketHandler: SocketHandlers.httpBlock(403, 'No entry') },
    },
    {
      name: 'context',
      match: { ports: env.contextPort },
      action: { type: 'socket-handler', socketHandler: greet },
    },
    {
      name: 'async-handler',
      match: { ports: env.asyncPort },
      action: {
        type: 'socket-handler',
        socketHandler: async (socket, context) => {
          await new Promise<void>((resolve) => setTimeout(resolve, 10));
          socket.end(`async ${context.port}\n`);
        },
      },
    },
  ];
}

export function socketHandlerOptions(env: SocketHandlerEnv): ISmartProxyOptions {
  return { routes: socketHandlerRoutes(env) };
}
