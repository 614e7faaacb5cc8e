import type * as net from 'node:net';
import type { ConnectionManager, RefusalReason } from '../connection/connection-manager.js';
import type { ConnectionRecord, SniffFacts } from '../connection/connection-record.js';
import type { ResolvedOptions } from '../core/options.js';
import type { Clock } from '../core/clock.js';
import type { ILogger } from '../types.js';
import type { CompiledRoute, RouteTable } from '../routing/index.js';
import type { IpMatcher } from '../routing/index.js';
import { normalizeIp } from '../routing/index.js';
import { readUntilDecided } from '../listener/sniffer.js';
import { parseProxyHeader, MAX_PROXY_HEADER_BYTES } from '../protocol/proxy-protocol.js';
import { sniffFirstBytes, type FirstBytes } from './first-bytes.js';
import { connectionContext } from './route-context.js';
import { runSocketHandler } from './socket-handler.js';
import { forwardConnection } from './forward.js';
import { TargetSelector } from '../forwarding/target-selector.js';

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
}

/**
 * The accept path of one connection, stage by stage:
 * register -> PROXY header (trusted peers only) -> limits on the real IP -> sniff (when a
 * route on the port needs first bytes) -> route match -> route security -> handler.
 */
export class Dispatcher {
  private readonly selectors = new WeakMap<CompiledRoute, TargetSelector>();

  constructor(private readonly deps: DispatcherDeps) {}

  onSocket = (socket: net.Socket, port: number): void => {
    const { options, cm } = this.deps;
    // An error handler from birth: a socket error never becomes an uncaught exception.
    socket.on('error', noop);
    const clientIp = normalizeIp(socket.remoteAddress ?? '');
    const localIp = normalizeIp(socket.localAddress ?? '');
    const record = cm.create(socket, clientIp, socket.remotePort ?? 0, port, localIp);
    socket.once('close', () => {
      if (!record.backend) cm.finalize(record);
    });
    if (options.keepAlive) socket.setKeepAlive(true, options.keepAliveInitialDelay);
    if (socket.destroyed) {
      cm.finalize(record);
      return;
    }
    if (options.acceptProxyProtocol && this.deps.proxyIPs?.matches(clientIp)) {
      this.readProxyHeader(record);
    } else {
      this.admitted(record, undefined);
    }
  };

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
      this.admitted(record, rest.length > 0 ? rest : undefined);
    });
  }

  private admitted(record: ConnectionRecord, pending: Buffer | undefined): void {
    const { cm, options } = this.deps;
    const refusal = cm.admit(record);
    if (refusal) {
      cm.refuse(record, refusal);
      return;
    }
    const table = this.deps.table();
    if (!table.portNeedsSniff(record.localPort) && !options.acceptProxyProtocol) {
      this.route(record, table, pending);
      return;
    }
    readUntilDecided(record.client, pending, sniffFirstBytes, { timeoutMs: options.initialDataTimeout, maxBytes: options.maxSniffBytes }, (failure, result, buffer) => {
      if (record.closed) return;
      if (failure === 'closed') {
        cm.close(record, 'closed', undefined);
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
      this.route(record, this.deps.table(), buffer.length > 0 ? buffer : undefined);
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
      cm.refuse(record, refusal);
      return;
    }
    const socket = record.client;
    if (options.socketTimeout > 0) socket.setTimeout(options.socketTimeout, () => cm.close(record, 'socket_timeout', 'peer_closed'));
    this.deps.events.opened(record);
    const ctx = connectionContext(record, clock.now());
    const action = route.config.action;
    if (route.layer === 'http' && (facts === undefined || !facts.isTls || route.tlsMode !== undefined)) {
      logger.error({ conn: record.idText, route: route.name }, 'HTTP-level route reached but the HTTP layer is not available in this build');
      cm.close(record, 'protocol_error', undefined);
      return;
    }
    this.deps.requestServed(route.name, record.clientIp);
    if (action.type === 'socket-handler') {
      runSocketHandler(record, route.config, ctx, sniffed, logger, () => cm.close(record, 'handler_error', undefined));
      return;
    }
    let selector = this.selectors.get(route);
    if (!selector) {
      selector = new TargetSelector(action);
      this.selectors.set(route, selector);
    }
    const sendProxy = action.sendProxyProtocol ?? options.sendProxyProtocol;
    forwardConnection({ options, cm, clock, logger }, record, selector, ctx, sendProxy, sniffed);
  }

  private protocolError(record: ConnectionRecord, what: string): void {
    this.deps.events.protocolError(record, what);
    this.deps.cm.close(record, what === 'initial_data_timeout' ? 'initial_data_timeout' : 'protocol_error', undefined);
  }
}

function noop(): void {}

function factsOf(r: FirstBytes): SniffFacts {
  if (r.kind === 'tls') return { isTls: true, sni: r.sni, tlsVersion: r.version, alpn: r.alpn, httpHost: undefined };
  if (r.kind === 'http') return { isTls: false, sni: undefined, tlsVersion: undefined, alpn: undefined, httpHost: r.host };
  return { isTls: false, sni: undefined, tlsVersion: undefined, alpn: undefined, httpHost: undefined };
}
