/**
 * Captures real ClientHellos: runs a real TLS client (curl, openssl s_client, Node's tls.connect)
 * against a raw net.Server on 127.0.0.1:0 that records the first bytes and then hangs up.
 * Completeness is judged by independent record framing here, not by the parser under test.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import type { TlsVersionName } from '../../../ts/protocol/client-hello.js';

export interface HelloExpectation {
  sni: string | undefined;
  alpn: string[];
  version: TlsVersionName;
}

export interface HelloClient {
  id: string;
  tool: 'curl' | 'openssl' | 'node';
  expect: HelloExpectation;
  /** Starts the client against 127.0.0.1:port and returns a function that stops it. */
  start(port: number): () => void;
}

function spawnTool(cmd: string, args: string[]): () => void {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  child.on('error', () => {});
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
}

function nodeClient(opts: tls.ConnectionOptions): (port: number) => () => void {
  return (port) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    s.on('error', () => {});
    return () => s.destroy();
  };
}

export const HELLO_CLIENTS: HelloClient[] = [
  {
    id: 'curl-sni-h2-tls13',
    tool: 'curl',
    expect: { sni: 'a.example.com', alpn: ['h2', 'http/1.1'], version: 'TLSv1.3' },
    start: (port) =>
      spawnTool('curl', ['-sk', '--max-time', '3', '--resolve', `a.example.com:${port}:127.0.0.1`, `https://a.example.com:${port}/`]),
  },
  {
    id: 'curl-nosni-http11-tls12',
    tool: 'curl',
    expect: { sni: undefined, alpn: ['http/1.1'], version: 'TLSv1.2' },
    start: (port) =>
      spawnTool('curl', ['-sk', '--max-time', '3', '--http1.1', '--tlsv1.2', '--tls-max', '1.2', `https://127.0.0.1:${port}/`]),
  },
  {
    id: 'openssl-sni-tls13',
    tool: 'openssl',
    expect: { sni: 'b.example.com', alpn: [], version: 'TLSv1.3' },
    start: (port) => spawnTool('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'b.example.com']),
  },
  {
    id: 'openssl-nosni-alpn-tls13',
    tool: 'openssl',
    expect: { sni: undefined, alpn: ['h2', 'http/1.1'], version: 'TLSv1.3' },
    start: (port) =>
      spawnTool('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-noservername', '-alpn', 'h2,http/1.1']),
  },
  {
    id: 'openssl-sni-tls12',
    tool: 'openssl',
    expect: { sni: 'b.example.com', alpn: [], version: 'TLSv1.2' },
    start: (port) =>
      spawnTool('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'B.Example.COM', '-tls1_2']),
  },
  {
    id: 'node-sni-alpn-tls13',
    tool: 'node',
    expect: { sni: 'c.example.com', alpn: ['h2', 'http/1.1'], version: 'TLSv1.3' },
    start: nodeClient({ servername: 'c.example.com', ALPNProtocols: ['h2', 'http/1.1'] }),
  },
  {
    id: 'node-nosni-http11-tls12',
    tool: 'node',
    expect: { sni: undefined, alpn: ['http/1.1'], version: 'TLSv1.2' },
    start: nodeClient({ maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }),
  },
];

const available = new Map<string, boolean>();
export function toolAvailable(tool: HelloClient['tool']): boolean {
  if (tool === 'node') return true;
  let ok = available.get(tool);
  if (ok === undefined) {
    const r = spawnSync(tool, [tool === 'curl' ? '--version' : 'version'], { stdio: 'ignore', timeout: 5000 });
    ok = r.status === 0;
    available.set(tool, ok);
  }
  return ok;
}

/** Length of the leading handshake flight if the ClientHello in it is complete, else -1. */
export function completeFlightLength(buf: Buffer): number {
  let p = 0;
  let have = 0;
  let need = -1;
  const head: number[] = [];
  while (p + 5 <= buf.length && buf[p] === 0x16) {
    const len = buf.readUInt16BE(p + 3);
    if (p + 5 + len > buf.length) return -1;
    for (let i = 0; i < len && head.length < 4; i++) head.push(buf[p + 5 + i]!);
    have += len;
    p += 5 + len;
    if (need === -1 && head.length === 4) need = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
    if (need !== -1 && have >= need) return p;
  }
  return -1;
}

/** Runs the client and resolves with the exact bytes of its first handshake flight. */
export async function captureClientHello(client: HelloClient, timeoutMs = 8000): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  let stop: (() => void) | undefined;
  const sockets = new Set<net.Socket>();
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${client.id}: no complete ClientHello within ${timeoutMs} ms`)), timeoutMs);
      server.on('connection', (sock) => {
        sockets.add(sock);
        let got = Buffer.alloc(0);
        sock.on('error', () => {});
        sock.on('data', (chunk: Buffer) => {
          got = Buffer.concat([got, chunk]);
          const n = completeFlightLength(got);
          if (n > 0) {
            clearTimeout(timer);
            sock.destroy();
            resolve(got.subarray(0, n));
          }
        });
      });
      stop = client.start(port);
    });
  } finally {
    stop?.();
    server.close();
    for (const s of sockets) s.destroy();
  }
}
