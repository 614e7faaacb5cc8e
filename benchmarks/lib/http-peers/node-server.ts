/** The node:http / node:https front end the Node peers share: keep-alive, no per-request timeouts. */
import * as http from 'node:http';
import * as https from 'node:https';
import { listenTracked } from '../net-util.js';
import type { IPemPairLike, IRunningPeer } from './types.js';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function createFrontServer(handler: Handler, tls?: IPemPairLike): http.Server {
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;
  server.on('clientError', (_e, s) => s.destroy());
  return server;
}

/** Listens on 127.0.0.1:0; close() destroys open sockets and runs `extra` (agents, pools). */
export async function listenFront(server: http.Server, extra?: () => Promise<void> | void): Promise<IRunningPeer> {
  const l = await listenTracked(server);
  return {
    port: l.port,
    close: async () => {
      await l.close();
      await extra?.();
    },
  };
}
