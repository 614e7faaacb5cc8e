/**
 * Shared pieces of the HTTP-level integration tests (TLS termination, WebSockets, metrics,
 * uploads): route builders, a `ws` echo backend that records each upgrade request, an
 * `openssl s_client` wrapper that returns the served certificate, and small waiters.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { WebSocketServer, WebSocket } from 'ws';
import { runOpenssl } from '../helpers/clients.js';
import { testCaFile, type ITestCert } from '../helpers/certs.js';
import type { IRouteConfig } from '../../ts/index.js';
import type { TestContextLike } from './harness.js';

/** A plain HTTP-level route (domains on a non-TLS port). */
export function httpRoute(name: string, port: number, domains: string | string[], target: number, extra: Partial<IRouteConfig> = {}): IRouteConfig {
  return { name, match: { ports: port, domains }, action: { type: 'forward', target: { host: '127.0.0.1', port: target } }, ...extra };
}

export interface ITlsRouteOptions {
  path?: string;
  mode?: 'terminate' | 'terminate-and-reencrypt';
  websocket?: NonNullable<IRouteConfig['action']['websocket']>;
  priority?: number;
}

/** A TLS-terminating route with a static certificate (or 'auto'). */
export function tlsRoute(
  name: string,
  port: number,
  domains: string | string[],
  target: number,
  certificate: ITestCert | 'auto',
  o: ITlsRouteOptions = {},
): IRouteConfig {
  const route: IRouteConfig = {
    name,
    match: { ports: port, domains },
    action: {
      type: 'forward',
      target: { host: '127.0.0.1', port: target },
      tls: { mode: o.mode ?? 'terminate', certificate: certificate === 'auto' ? 'auto' : { key: certificate.key, cert: certificate.cert } },
    },
  };
  if (o.path !== undefined) route.match.path = o.path;
  if (o.websocket !== undefined) route.action.websocket = o.websocket;
  if (o.priority !== undefined) route.priority = o.priority;
  return route;
}

/** curl arguments for https://<host>:<port><path> resolved to 127.0.0.1, verification on with the test CA. */
export function curlHttpsArgs(host: string, port: number, path = '/'): string[] {
  return ['--cacert', testCaFile(), '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}${path}`];
}

export interface IUpgradeSeen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface IWsEcho {
  port: number;
  name: string;
  /** Upgrade requests that reached this server, in order. */
  upgrades: IUpgradeSeen[];
  /** Server-side sockets, in order. */
  peers: WebSocket[];
}

/**
 * A `ws` server (plain, or TLS when `cert` is given) that echoes every message with the same
 * type and answers a text message 'who' with its name. Closed after the test.
 */
export async function startWsEcho(t: TestContextLike, name: string, cert?: ITestCert): Promise<IWsEcho> {
  const server = cert ? https.createServer({ key: cert.key, cert: cert.cert }) : http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  const upgrades: IUpgradeSeen[] = [];
  const peers: WebSocket[] = [];
  wss.on('connection', (ws, req) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    peers.push(ws);
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'who') ws.send(name);
      else ws.send(data as Buffer, { binary: isBinary });
    });
  });
  server.on('clientError', (_e, s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, name, upgrades, peers };
}

/** ws passes TLS options through to tls.connect; `servername` is missing from its types. */
export type WsClientOptions = WebSocket.ClientOptions & Pick<tls.ConnectionOptions, 'servername'>;

/** Opens a ws client; resolves on 'open', rejects with the unexpected response status or error. */
export function openWs(t: TestContextLike, url: string, options: WsClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 5000, ...options });
  ws.on('error', () => {});
  t.after(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      reject(new Error(`unexpected response ${res.statusCode ?? 0}`));
    });
    ws.once('error', reject);
  });
}

/** The next message on `ws` (bounded). */
export function nextWsMessage(ws: WebSocket, timeoutMs = 5000): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ws message in time')), timeoutMs);
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      resolve({ data: data as Buffer, isBinary });
    });
  });
}

/** Resolves with the close code once `ws` is closed (bounded). */
export function wsClosed(ws: WebSocket, timeoutMs = 5000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ws not closed in time')), timeoutMs);
    ws.once('close', (code: number) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Resolve when `cond()` holds (polling every 5 ms); reject after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface ISClientResult {
  ok: boolean;
  /** The leaf certificate the server sent (undefined when the handshake failed). */
  cert: X509Certificate | undefined;
  protocol: string;
  alpn: string;
  verify: string;
  output: string;
}

/** `openssl s_client -connect 127.0.0.1:port -CAfile <test CA> ...args`; parses what was negotiated. */
export async function sClient(port: number, args: readonly string[]): Promise<ISClientResult> {
  const r = await runOpenssl(['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', testCaFile(), ...args], { timeoutMs: 8000 });
  const out = r.stdout + r.stderr;
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  return {
    ok: r.code === 0 && !r.timedOut && pem !== undefined,
    cert: pem ? new X509Certificate(pem) : undefined,
    protocol: /^New, (TLSv[\d.]+), Cipher/m.exec(out)?.[1] ?? '',
    alpn: /ALPN protocol: (\S+)/.exec(out)?.[1] ?? (/No ALPN negotiated/.test(out) ? 'none' : ''),
    verify: /Verify return code: (\d+)/.exec(out)?.[1] ?? '',
    output: out,
  };
}
