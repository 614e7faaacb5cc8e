/**
 * A minimal, fast Node reverse proxy: node:http in front, an undici Pool of
 * kept-alive connections behind, driven through undici's lowest-level API
 * (`pool.dispatch` with a handler that writes straight into the ServerResponse,
 * honouring back-pressure), so no intermediate stream or promise per request.
 * It forwards method, path, headers and body, drops hop-by-hop headers and
 * answers 502 on upstream errors. This is the bar the benchmark holds SmartProxy to.
 */
import type * as http from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { createFrontServer, listenFront } from './node-server.js';
import { UPSTREAM_SOCKETS, type IPeerOptions, type IRunningPeer } from './types.js';

type Headers = Record<string, string | string[] | undefined>;

/** Hop-by-hop headers (RFC 9110 7.6.1) that must not be forwarded (undici also rejects most of them). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/** The client's headers as undici's flat [name, value, ...] list, hop-by-hop ones left out. */
function forwardHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

function responseHeaders(h: Headers): Headers {
  for (const k of HOP_BY_HOP) if (h[k] !== undefined) delete h[k];
  return h;
}

function fail(res: http.ServerResponse): void {
  if (res.headersSent) res.destroy();
  else {
    res.writeHead(502, { 'content-length': 0 });
    res.end();
  }
}

/** Streams one upstream response into `res`. */
class RelayHandler implements Dispatcher.DispatchHandler {
  constructor(private readonly res: http.ServerResponse) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.res.once('close', () => {
      if (!this.res.writableFinished) controller.abort(new Error('client went away'));
    });
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    this.res.writeHead(statusCode, responseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, _e: Error): void {
    fail(this.res);
  }
}

export async function startUndiciProxy(o: IPeerOptions): Promise<IRunningPeer> {
  const pool = new Pool(`http://127.0.0.1:${o.targetPort}`, {
    connections: UPSTREAM_SOCKETS,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
  });
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
    const hasBody = method !== 'GET' && method !== 'HEAD';
    pool.dispatch(
      { path: req.url ?? '/', method, headers: forwardHeaders(req.rawHeaders), body: hasBody ? req : null },
      new RelayHandler(res),
    );
  };
  return listenFront(createFrontServer(handler, o.tls), () => pool.close());
}
