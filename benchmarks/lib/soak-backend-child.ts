/**
 * Backends of the soak benchmark, each kind in a child process of its own, on 127.0.0.1:
 *   stable: the app HTTP server (node:http, keep-alive, WebSocket echo on /ws through `ws`),
 *           a TLS echo server (certificate for pass.soak, for the passthrough route) and a
 *           TCP echo server; ports picked by the kernel (port 0) and reported.
 *   flaky:  the same HTTP app (no WebSocket) and a TCP echo, on ports fixed by the parent,
 *           which SIGKILLs this process periodically and forks it again on the same ports.
 * HTTP paths: /small (3 bytes), /large (64 KiB), POST /echo-len (answers the body's length),
 * /slow (256 KiB in 16 KiB pieces, one every 25 ms: a response clients abort in the middle).
 * Usage: node soak-backend-child.js '<SoakBackendConfig as JSON>'
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { WebSocketServer } from 'ws';
import type { SoakBackendConfig, SoakBackendToParent, SoakParentToBackend } from './soak-protocol.js';

const SMALL = Buffer.from('ok\n');
const LARGE = Buffer.alloc(64 * 1024, 0x6c);
const SLOW_PIECE = Buffer.alloc(16 * 1024, 0x73);
const SLOW_PIECES = 16;

const send = (m: SoakBackendToParent): void => {
  process.send?.(m);
};

function app(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.on('error', () => {});
  req.on('error', () => {});
  const path = req.url ?? '/';
  if (path === '/echo-len') {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      const body = `${n}\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  req.resume();
  if (path === '/large') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': LARGE.length });
    res.end(LARGE);
  } else if (path === '/slow') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SLOW_PIECE.length * SLOW_PIECES });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent >= SLOW_PIECES) {
        clearInterval(timer);
        return;
      }
      res.write(SLOW_PIECE);
      if (++sent === SLOW_PIECES) {
        clearInterval(timer);
        res.end();
      }
    }, 25);
    res.once('close', () => clearInterval(timer));
  } else {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length });
    res.end(SMALL);
  }
}

function httpServer(withWs: boolean): http.Server {
  const server = http.createServer(app);
  // Longer than the proxy's upstream pool keeps idle sockets (30 s), so the backend does not
  // race the pool closing idle keep-alive sockets: errors in the soak then come from the
  // planned faults only.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.on('clientError', (_e, s) => s.destroy());
  if (withWs) {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
    server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => {});
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => {});
        ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      });
    });
  }
  return server;
}

function echo(s: net.Socket): void {
  s.on('error', () => {});
  s.pipe(s);
}

/** Listens on 127.0.0.1:port, retrying while the port is still taken (a restart on a fixed port). */
async function listen(server: net.Server, port: number): Promise<number> {
  server.on('connection', (s: net.Socket) => s.on('error', () => {}));
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', rej);
          res();
        });
      });
      server.on('error', () => {});
      return (server.address() as net.AddressInfo).port;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as SoakBackendConfig;
  const servers: net.Server[] = [];
  if (cfg.kind === 'stable') {
    const appServer = httpServer(true);
    const tlsEcho = tls.createServer({ key: cfg.passCert.key, cert: cfg.passCert.cert }, echo);
    tlsEcho.on('tlsClientError', () => {});
    const echoServer = net.createServer({ allowHalfOpen: true }, echo);
    servers.push(appServer, tlsEcho, echoServer);
    const [appPort, tlsPort, echoPort] = await Promise.all([listen(appServer, 0), listen(tlsEcho, 0), listen(echoServer, 0)]);
    send({ type: 'ready', targets: { app: appPort, tlsEcho: tlsPort, echo: echoPort } });
  } else {
    const appServer = httpServer(false);
    const echoServer = net.createServer({ allowHalfOpen: true }, echo);
    servers.push(appServer, echoServer);
    await Promise.all([listen(appServer, cfg.httpPort), listen(echoServer, cfg.echoPort)]);
    send({ type: 'ready', targets: { flakyHttp: cfg.httpPort, flakyEcho: cfg.echoPort } });
  }
  process.on('message', (m: SoakParentToBackend) => {
    if (m.type === 'stop') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((e: unknown) => {
  send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
  process.disconnect?.();
});
