/**
 * A minimal TLS-terminating echo server built from the proxy's own pieces, for tests of
 * terminateTls and CertStore without the rest of the proxy: accept (paused) -> sniff the
 * ClientHello -> match the route table -> terminateTls -> echo over the TLSSocket.
 */
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { TestContext } from 'node:test';
import type { ConnectionRecord } from '../../ts/connection/connection-record.js';
import { detachedRecord } from '../../ts/connection/detached.js';
import { terminateTls } from '../../ts/engines/tls-terminate.js';
import { readUntilDecided } from '../../ts/connection/read-until.js';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../../ts/protocol/client-hello.js';
import { compileRoutes, type RouteTable } from '../../ts/routing/route-table.js';
import { CertStore } from '../../ts/tls/cert-store.js';
import type { IRouteConfig, ISmartProxyOptions } from '../../ts/types.js';
import { waitFor } from '../helpers/leaks.js';

/** Port named in test routes (the table is matched with it, whatever port the server got). */
export const ROUTE_PORT = 443;

import { silentLogger } from '../integration/harness.js';
export { silentLogger };

export interface Terminator {
  port: number;
  store: CertStore;
  table: () => RouteTable;
  setTable(table: RouteTable): Promise<void>;
  records: ConnectionRecord[];
  /** Handshake failures (the record closed with tls_error / tls_handshake_timeout; each cost its own connection only). */
  failures: Error[];
  secured: tls.TLSSocket[];
  /** Resolves when every accepted raw socket has closed. */
  allClosed(timeoutMs?: number): Promise<void>;
}

export function terminateRoute(name: string, domains: string | string[] | undefined, certificate: 'auto' | { key: string; cert: string }): IRouteConfig {
  const match: IRouteConfig['match'] = { ports: ROUTE_PORT };
  if (domains !== undefined) match.domains = domains;
  if (certificate !== 'auto') certificate = { key: certificate.key, cert: certificate.cert };
  return {
    name,
    match,
    action: { type: 'forward', target: { host: '127.0.0.1', port: 9 }, tls: { mode: 'terminate', certificate } },
  };
}

export function compile(routes: IRouteConfig[], provider = true): RouteTable {
  return compileRoutes(routes, { hasCertificateProvider: provider });
}

export async function startTerminator(
  t: TestContext,
  routes: IRouteConfig[],
  opts: {
    handshakeTimeoutMs?: number;
    certProvisionFunction?: ISmartProxyOptions['certProvisionFunction'];
    /** 'echo' (default) writes every byte back; 'http' answers one request with `200 ok` and closes. */
    respond?: 'echo' | 'http';
  } = {},
): Promise<Terminator> {
  const store = new CertStore({ logger: silentLogger, certProvisionFunction: opts.certProvisionFunction });
  let table = compile(routes);
  await store.prepare(table);
  const records: ConnectionRecord[] = [];
  const failures: Error[] = [];
  const secured: tls.TLSSocket[] = [];
  const open = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true }, (raw) => {
    raw.on('error', () => {});
    open.add(raw);
    raw.once('close', () => open.delete(raw));
    const record = detachedRecord(raw, {
      onClosed: (r) => {
        if (r.closeReason === 'tls_error' || r.closeReason === 'tls_handshake_timeout') {
          failures.push(new Error(r.closeError ? `${r.closeReason}: ${r.closeError.message}` : r.closeReason));
        }
      },
    });
    records.push(record);
    readUntilDecided(raw, undefined, parseClientHello, MAX_CLIENT_HELLO_BYTES, (failure, result, buffer) => {
      if (failure !== undefined || result === undefined || result.kind !== 'ok') {
        raw.destroy();
        return;
      }
      record.facts = { isTls: true, isHttp: false, sni: result.sni, tlsVersion: result.version, httpHost: undefined };
      const m = table.match({ port: ROUTE_PORT, clientIp: record.clientIp, domain: result.sni, phase: 'connection' });
      const route = m?.route ?? table.routes[0]!;
      terminateTls(
        record,
        route,
        buffer,
        store,
        opts.handshakeTimeoutMs ?? 5000,
        record.now(),
        (secure) => {
          secured.push(secure);
          if (opts.respond === 'http') {
            secure.once('data', () => secure.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'));
            secure.resume();
            return;
          }
          secure.on('data', (d: Buffer) => secure.write(d));
          secure.on('end', () => secure.end());
        },
        () => {},
      );
    });
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    store,
    table: () => table,
    async setTable(next) {
      await store.prepare(next);
      table = next;
    },
    records,
    failures,
    secured,
    allClosed: (timeoutMs = 5000) => waitFor(() => open.size === 0, timeoutMs),
  };
}
