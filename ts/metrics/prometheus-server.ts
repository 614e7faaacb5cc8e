/**
 * A small HTTP endpoint serving the Prometheus text format (GET/HEAD `path`,
 * default `/metrics`, bound to `host`, default 127.0.0.1). Anything else is 404/405.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PrometheusServerOptions {
  port: number;
  path?: string;
  host?: string;
}

export interface PrometheusServerHandle {
  readonly port: number;
  close(): Promise<void>;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function startPrometheusServer(
  collector: { prometheusText(): Promise<string> },
  opts: PrometheusServerOptions,
): Promise<PrometheusServerHandle> {
  const path = opts.path ?? '/metrics';
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    collector.prometheusText().then(
      (body) => {
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('metrics unavailable\n');
      },
    );
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {
    /* a listening server's later errors must not crash the host */
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
