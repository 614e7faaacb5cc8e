import type * as net from 'node:net';
import type { ConnectionManager, RefusalReason } from '../connection/connection-manager.js';
import type { ConnectionRecord, SniffFacts } from '../connection/connection-record.js';
import type { ResolvedOptions } from '../core/options.js';
import type { Clock } from '../core/clock.js';
import type { ILogger } from '../types.js';
import type { CompiledRoute, RouteTable } from '../routing/index.js';
import type { IpMatcher } from '../routing/index.js';
import { normalizeIp } from '../routing/index.js';
import { readUntilDecided } from '../connection/read-until.js';
import { parseProxyHeader, MAX_PROXY_HEADER_BYTES } from '../protocol/proxy-protocol.js';
import { sniffFirstBytes, type FirstBytes } from '../protocol/first-bytes.js';
import { connectionContext } from '../engines/route-context.js';
import { runSocketHandler } from '../engines/socket-handler.js';
import type { RelayReader } from '../core/node-internals.js';
import { forwardConnection } from '../engines/l4-forward.js';
import { routeRuntime } from '../engines/route-runtime.js';
import { terminateTls } from '../engines/tls-terminate.js';
import type { CertStore } from '../tls/cert-store.js';
import { serveHttp } from '../engines/http/http-session.js';
import type { HttpDeps } from '../engines/http/http-deps.js';

/** Where accepted sockets go. */
export interface AcceptSink {
  /**
   * Every route on the port relays bytes at L4: its sockets then read through a RelayReader
   * (the relay takes their reads straight to the backend). Elsewhere the bytes are read in JS
   * (HTTP layer, socket handlers) and Node's own read path, which hands a large read over
   * without a copy, serves them better.
   */
  relaysOnly(port: number): boolean;
  onSocket(socket: net.Socket, port: number, reader: RelayReader | undefined): void;
}

export interface DispatcherEvents {
  routeMiss(info: { clientIp: string; port: number; domain: string | undefined; connectionId: string }): void;
  opened(record: ConnectionRecord): void;
  protocolError(record: ConnectionRecord, what: string): void;
}

export interface DispatcherDeps {
  options: ResolvedOptions;
  cm: ConnectionManager;
  clock: Clock;
  logger: ILogger;
  table(): RouteTable;
  proxyIPs: IpMatcher | undefined;
  events: DispatcherEvents;
  requestServed(routeName: string, clientIp: string): void;
  certStore: CertStore;
  http: HttpDeps;
}

/**
 * The accept path of one connection, stage by stage:
 * register -> PROXY header (trusted peers only) -> limits on the real IP -> sniff (when a
 * route on the port needs first bytes) -> route match -> route security -> handler.
 */
export class Dispatcher implements AcceptSink {
  constructor(private readonly deps: DispatcherDeps) {}

  relaysOnly(port: number): boolean {
    return this.deps.table().portRelaysOnly(port);
  }

  onSocket(socket: net.Socket, port: number, reader: RelayReader | undefined): void {
    const { options, cm } = this.deps;
    // An error handler from birth: a socket error never becomes an uncaught exception.
    socket.on('error', noop);
    const clientIp = normalizeIp(socket.remoteAddress ?? '');
    const record = cm.create(socket, clientIp, socket.remotePort ?? 0, port);
    record.clientReader = reader;
    socket.once('close', () => {
      if (!record.backend) cm.finalize(record);
    });
    if (socket.destroyed) {
      cm.finalize(record);
      return;
    }
    if (options.acceptProxyProtocol && this.deps.proxyIPs?.matches(clientIp)) {
      this.readProxyHeader(record);
    } else {
      this.admitted(record, undefined, false);
    }
  }

  private readProxyHeader(record: ConnectionRecord): void {
    const { options, cm } = this.deps;
    readUntilDecided(record.client, undefined, parseProxyHeader, { timeoutMs: options.initialDataTimeout, maxBytes: MAX_PROXY_HEADER_BYTES }, (failure, result, buffer) => {
      if (failure || !result || result.kind !== 'ok') {
        this.protocolError(record, failure === 'timeout' ? 'initial_data_timeout' : 'proxy_header');
        return;
      }
      record.proxyHeaderBytes = result.headerLength;
      if (result.command === 'PROXY' && result.source && result.destination) {
        record.clientIp = normalizeIp(result.source.ip);
        record.clientPort = result.source.port;
        record.destIp = normalizeIp(result.destination.ip);
        record.destPort = result.destination.port;
      }
      const rest = buffer.subarray(result.headerLength);
      this.admitted(record, rest.length > 0 ? rest : undefined, true);
    });
  }

  /**
   * `trustedHeader`: the connection came from a trusted proxy with its PROXY header already
   * read. Others are sniffed when acceptProxyProtocol is on, so a PROXY header from an
   * untrusted peer is seen and refused (server-first protocols from such peers wait for
   * initialDataTimeout on those ports).
   */
  private admitted(record: ConnectionRecord, pending: Buffer | undefined, trustedHeader: boolean): void {
    const { cm, options } = this.deps;
    const refusal = cm.admit(record);
    if (refusal) {
      cm.refuse(record, refusal);
      return;
    }
    const table = this.deps.table();
    if (!table.portNeedsSniff(record.localPort) && (trustedHeader || !options.acceptProxyProtocol)) {
      this.route(record, table, pending);
      return;
    }
    readUntilDecided(record.client, pending, sniffFirstBytes, { timeoutMs: options.initialDataTimeout, maxBytes: options.maxSniffBytes }, (failure, result, buffer) => {
      if (record.closed) return;
      if (failure === 'closed') {
        // A client that leaves before a decision: clean when it sent nothing, a truncated
        // ClientHello / request head / PROXY header otherwise.
        if (buffer.length === 0) cm.close(record, 'closed', undefined);
        else this.protocolError(record, buffer[0] === 0x16 ? 'truncated_client_hello' : 'truncated_first_bytes');
        return;
      }
      if (failure || !result) {
        this.protocolError(record, failure === 'timeout' ? 'initial_data_timeout' : 'sniff_too_large');
        return;
      }
      if (result.kind === 'invalid') {
        this.protocolError(record, result.reason);
        return;
      }
      if (result.kind === 'proxy-header') {
        // A PROXY header from a peer that is not a trusted proxy: refuse it.
        this.protocolError(record, 'untrusted_proxy_header');
        return;
      }
      record.facts = factsOf(result);
      const sniffed = buffer.length > 0 ? buffer : undefined;
      const current = this.deps.table();
      if (result.kind === 'http' && current.portHasHttpRoutes(record.localPort)) {
        // Plain HTTP: every request is routed on its own by the HTTP layer.
        this.startHttp(record, record.client, sniffed, false);
        return;
      }
      this.route(record, current, sniffed);
    });
  }

  private route(record: ConnectionRecord, table: RouteTable, sniffed: Buffer | undefined): void {
    const { cm, clock, logger, options } = this.deps;
    const facts = record.facts;
    const domain = facts?.sni ?? facts?.httpHost;
    const match = table.match({
      port: record.localPort,
      clientIp: record.clientIp,
      domain,
      tlsVersion: facts?.tlsVersion,
      phase: 'connection',
    });
    if (!match) {
      this.deps.events.routeMiss({ clientIp: record.clientIp, port: record.localPort, domain, connectionId: record.idText });
      cm.close(record, 'route_miss', undefined);
      return;
    }
    const route = match.route;
    const refusal: RefusalReason | undefined = cm.admitRoute(record, route);
    if (refusal) {
      cm.refuse(record, refusal, route.name);
      return;
    }
    this.announce(record);
    if (facts?.isTls && (route.tlsMode === 'terminate' || route.tlsMode === 'terminate-and-reencrypt')) {
      terminateTls(record, route, sniffed, { certStore: this.deps.certStore, logger, handshakeTimeoutMs: options.initialDataTimeout }, (err, secure) => {
        if (err || !secure) {
          this.protocolError(record, 'tls_handshake');
          return;
        }
        this.startHttp(record, secure, undefined, true);
      });
      return;
    }
    if (route.layer === 'http' && !facts?.isTls) {
      this.startHttp(record, record.client, sniffed, false);
      return;
    }
    const action = route.config.action;
    this.deps.requestServed(route.name, record.clientIp);
    if (action.type === 'socket-handler') {
      runSocketHandler(record.client, record.idText, route.config, connectionContext(record, clock.now()), sniffed, logger, () => cm.close(record, 'handler_error', undefined));
      return;
    }
    const selector = routeRuntime(route).selector;
    const sendProxy = action.sendProxyProtocol ?? options.sendProxyProtocol;
    forwardConnection({ options, cm, clock, logger }, record, selector, () => connectionContext(record, clock.now()), sendProxy, sniffed);
  }

  /** The connection is accepted for serving: OS-level idle limit, and the connection:open event (once). */
  private announce(record: ConnectionRecord): void {
    if (record.announced) return;
    record.announced = true;
    const { options, cm } = this.deps;
    if (options.socketTimeout > 0) {
      // on(), not setTimeout's once-callback: Node re-arms the timer on the next byte, and an
      // in-flight HTTP request is skipped rather than ending the watch.
      record.client.setTimeout(options.socketTimeout);
      record.client.on('timeout', () => {
        if (!record.inFlight) cm.close(record, 'socket_timeout', 'peer_closed');
      });
    }
    this.deps.events.opened(record);
  }

  private startHttp(record: ConnectionRecord, stream: net.Socket, initial: Buffer | undefined, isTls: boolean): void {
    record.exemptFromStuckRule = true;
    this.announce(record);
    serveHttp(record, stream, initial, isTls, this.deps.http);
  }

  private protocolError(record: ConnectionRecord, what: string): void {
    this.deps.events.protocolError(record, what);
    this.deps.cm.close(record, what === 'initial_data_timeout' ? 'initial_data_timeout' : 'protocol_error', undefined);
  }
}

function noop(): void {}

function factsOf(r: FirstBytes): SniffFacts {
  if (r.kind === 'tls') return { isTls: true, sni: r.sni, tlsVersion: r.version, httpHost: undefined };
  if (r.kind === 'http') return { isTls: false, sni: undefined, tlsVersion: undefined, httpHost: r.host };
  return { isTls: false, sni: undefined, tlsVersion: undefined, httpHost: undefined };
}
