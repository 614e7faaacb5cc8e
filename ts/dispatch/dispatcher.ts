import type * as net from 'node:net';
import type { RefusalReason } from '../connection/connection-manager.js';
import { Timer, type ConnectionRecord, type SniffFacts } from '../connection/connection-record.js';
import { readUntilDecided } from '../connection/read-until.js';
import type { RelayReader } from '../core/node-internals.js';
import { normalizeIp } from '../core/ip.js';
import type { CompiledRoute, RouteTable } from '../routing/index.js';
import type { ProxyProtocolVersion } from '../types.js';
import { parseProxyHeader, MAX_PROXY_HEADER_BYTES } from '../protocol/proxy-protocol.js';
import { proxySignature, sniffFirstBytes, type FirstBytes } from '../protocol/first-bytes.js';
import { connectionContext } from '../engines/route-context.js';
import { runSocketHandler } from '../engines/socket-handler.js';
import { forwardConnection } from '../engines/l4-forward.js';
import { routeRuntime } from '../engines/route-runtime.js';
import { terminateTls } from '../engines/tls-terminate.js';
import { serveHttp } from '../engines/http/http-session.js';
import { answerAndClose } from '../engines/http/answer.js';
import type { Services } from '../engines/services.js';

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

/**
 * The accept path of one connection, stage by stage:
 * record (owns the socket from birth) -> PROXY header (trusted peers only) -> limits on the
 * real IP -> sniff (only when a route on the port needs first bytes; bounded by the
 * initial-data deadline from accept) -> route match -> route security -> engine.
 * Where no route needs the first bytes the backend is connected at once, so protocols whose
 * server speaks first work; an untrusted client on a PROXY-protocol port then has its first
 * bytes checked by the relay for a PROXY signature.
 */
export class Dispatcher implements AcceptSink {
  constructor(private readonly svc: Services) {}

  relaysOnly(port: number): boolean {
    return this.svc.table().portRelaysOnly(port);
  }

  onSocket(socket: net.Socket, port: number, reader: RelayReader | undefined): void {
    const { options, cm } = this.svc;
    const clientIp = normalizeIp(socket.remoteAddress ?? '');
    // The record installs the socket's error and close listeners now: nothing escapes, nothing leaks.
    const record = cm.create(socket, clientIp, socket.remotePort ?? 0, port);
    record.clientReader = reader;
    if (socket.destroyed) {
      record.close('client', 'closed');
      return;
    }
    if (options.acceptProxyProtocol && this.svc.proxyIPs?.matches(clientIp)) this.readProxyHeader(record);
    else this.admitted(record, undefined, false);
  }

  /** First bytes are read under the initial-data deadline, counted from accept. */
  private readFirst<T extends { kind: string }>(
    record: ConnectionRecord,
    pending: Buffer | undefined,
    parse: (buf: Buffer) => T,
    maxBytes: number,
    /** What a client that leaves halfway sent (counted as a protocol error). */
    truncated: (buffer: Buffer) => string,
    done: (result: T, buffer: Buffer) => void,
  ): void {
    const { options } = this.svc;
    record.startTimer(Timer.InitialData, options.initialDataTimeout, record.now(), record.startTime);
    // A client that leaves before a decision: clean when it sent nothing, a truncated
    // ClientHello / request head / PROXY header otherwise (read-until reports it below).
    record.engine = {
      onSocketClose: noop,
      onTimeout: (reason) => {
        if (reason === 'headers_timeout') {
          // The first request head started but did not end within headersTimeout.
          cancel();
          answerAndClose(record, 408, 'headers_timeout', record.now());
          return true;
        }
        if (reason !== 'initial_data_timeout') return false;
        this.svc.events.protocolError(record, 'initial_data_timeout');
        record.close('proxy', 'initial_data_timeout');
        return true;
      },
    };
    const cancel = readUntilDecided(record.stream, pending, parse, maxBytes, (failure, result, buffer) => {
      if (record.closed) return;
      record.clearTimer(Timer.InitialData);
      record.clearTimer(Timer.Headers);
      record.engine = undefined;
      if (failure === 'closed') {
        if (buffer.length === 0) record.close('client', 'closed');
        else this.protocolError(record, truncated(buffer));
        return;
      }
      if (failure || !result) {
        this.protocolError(record, 'sniff_too_large');
        return;
      }
      done(result, buffer);
    });
  }

  private readProxyHeader(record: ConnectionRecord): void {
    this.readFirst(record, undefined, parseProxyHeader, MAX_PROXY_HEADER_BYTES, () => 'proxy_header', (result, buffer) => {
      if (result.kind !== 'ok') {
        this.protocolError(record, 'proxy_header');
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

  /** `trustedHeader`: the connection came from a trusted proxy with its PROXY header already read. */
  private admitted(record: ConnectionRecord, pending: Buffer | undefined, trustedHeader: boolean): void {
    const { cm, options } = this.svc;
    const refusal = cm.admit(record);
    if (refusal) {
      cm.refuse(record, refusal);
      return;
    }
    const table = this.svc.table();
    if (!table.portNeedsSniff(record.localPort)) {
      // Nothing to wait for: route now (server-speaks-first protocols get their backend at once).
      // An untrusted peer's first bytes must still not be a PROXY header: the relay checks them.
      const guard = options.acceptProxyProtocol && !trustedHeader ? this.proxyGuard(record) : undefined;
      this.route(record, table, pending, guard);
      return;
    }
    // A request head is also bounded by headersTimeout from its first byte, the first one included.
    let headTimed = false;
    const sniff = (buf: Buffer): FirstBytes => {
      const r = sniffFirstBytes(buf);
      if (!headTimed && r.kind === 'need-more' && buf[0]! >= 0x41 && buf[0]! <= 0x5a) {
        headTimed = true;
        record.startTimer(Timer.Headers, options.headersTimeout, record.now());
      }
      return r;
    };
    this.readFirst(record, pending, sniff, options.maxSniffBytes, truncatedFirstBytes, (result, buffer) => {
      if (result.kind === 'need-more') return;
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
      const current = this.svc.table();
      if (result.kind === 'http' && current.portHasHttpRoutes(record.localPort)) {
        // Plain HTTP: every request is routed on its own by the HTTP layer.
        this.startHttp(record, sniffed, false);
        return;
      }
      this.route(record, current, sniffed, undefined);
    });
  }

  private route(record: ConnectionRecord, table: RouteTable, sniffed: Buffer | undefined, guard: ((buf: Buffer) => 'more' | 'pass' | 'reject') | undefined): void {
    const { cm, clock, logger, options, events } = this.svc;
    const facts = record.facts;
    const domain = facts?.sni ?? facts?.httpHost;
    const isHttp = facts?.isHttp === true;
    const match = table.match({
      port: record.localPort,
      clientIp: record.clientIp,
      domain,
      tlsVersion: facts?.tlsVersion,
      phase: 'connection',
    });
    if (!match) {
      // TLS that no route names (no SNI, or another name) on a terminating port, with a default
      // certificate (nginx's default_server): terminate with it; each request is routed by Host.
      if (facts?.isTls && this.svc.certStore.hasDefaultCertificate && table.portTerminatesTls(record.localPort)) {
        this.announce(record);
        this.terminate(record, undefined, sniffed);
        return;
      }
      events.routeMiss(record, domain);
      // A plain HTTP request is answered in HTTP, also on a port whose routes are socket handlers.
      if (isHttp) answerAndClose(record, 404, 'route_miss', clock.now());
      else record.close('proxy', 'route_miss');
      return;
    }
    const route = match.route;
    const refusal: RefusalReason | undefined = cm.admitRoute(record, route);
    if (refusal) {
      if (isHttp) {
        cm.reportRefusal(record, refusal, route.name);
        answerAndClose(record, refusal === 'route_max_connections' || refusal === 'route_max_connections_per_ip' ? 429 : 403, 'blocked', clock.now());
      } else {
        cm.refuse(record, refusal, route.name);
      }
      return;
    }
    this.announce(record);
    if (facts?.isTls && (route.tlsMode === 'terminate' || route.tlsMode === 'terminate-and-reencrypt')) {
      this.terminate(record, route, sniffed);
      return;
    }
    if (route.layer === 'http' && !facts?.isTls) {
      this.startHttp(record, sniffed, false);
      return;
    }
    const action = route.config.action;
    events.requestServed(route.name, record.clientIp);
    if (action.type === 'socket-handler') {
      const run = (first: Buffer | undefined): void => runSocketHandler(record, route.config, connectionContext(record, clock.now(), route.config.id), first, logger);
      if (!guard) return run(sniffed);
      // User code reads the socket itself: an untrusted peer's first bytes are judged before it runs.
      this.readFirst(record, sniffed, judgeProxySignature, 16, truncatedFirstBytes, (r, buffer) => {
        if (r.kind === 'reject') this.protocolError(record, 'untrusted_proxy_header');
        else run(buffer.length > 0 ? buffer : undefined);
      });
      return;
    }
    forwardConnection(this.svc, record, {
      selector: routeRuntime(route).selector,
      ctx: () => connectionContext(record, clock.now(), route.config.id),
      // true was compiled to 'v1'
      sendProxy: (action.sendProxyProtocol as ProxyProtocolVersion | undefined) ?? options.sendProxyProtocol,
      sniffed,
      firstBytes: guard,
    });
  }

  private terminate(record: ConnectionRecord, route: CompiledRoute | undefined, sniffed: Buffer | undefined): void {
    const { clock, options, events } = this.svc;
    terminateTls(
      record,
      route,
      sniffed,
      this.svc.certStore,
      options.initialDataTimeout,
      clock.now(),
      () => this.startHttp(record, undefined, true),
      (why) => events.protocolError(record, why === 'tls_handshake_timeout' ? 'tls_handshake_timeout' : 'tls_handshake'),
    );
  }

  /** The relay's check of an untrusted peer's first bytes, reporting a PROXY header it finds. */
  private proxyGuard(record: ConnectionRecord): (buf: Buffer) => 'more' | 'pass' | 'reject' {
    return (buf) => {
      const verdict = proxySignature(buf);
      if (verdict === 'reject') this.svc.events.protocolError(record, 'untrusted_proxy_header');
      return verdict;
    };
  }

  /** The connection is accepted for serving: the connection:open event (once). */
  private announce(record: ConnectionRecord): void {
    if (record.announced) return;
    record.announced = true;
    this.svc.events.opened(record);
  }

  private startHttp(record: ConnectionRecord, initial: Buffer | undefined, isTls: boolean): void {
    record.exemptFromStuckRule = true;
    this.announce(record);
    serveHttp(this.svc, record, initial, isTls);
  }

  private protocolError(record: ConnectionRecord, what: string): void {
    this.svc.events.protocolError(record, what);
    record.close('client', 'protocol_error');
  }
}

function noop(): void {}

function truncatedFirstBytes(buffer: Buffer): string {
  return buffer[0] === 0x16 ? 'truncated_client_hello' : 'truncated_first_bytes';
}

function judgeProxySignature(buf: Buffer): { kind: 'need-more' | 'pass' | 'reject' } {
  const v = proxySignature(buf);
  return { kind: v === 'more' ? 'need-more' : v };
}

function factsOf(r: FirstBytes): SniffFacts {
  if (r.kind === 'tls') return { isTls: true, isHttp: false, sni: r.sni, tlsVersion: r.version, httpHost: undefined };
  if (r.kind === 'http') return { isTls: false, isHttp: true, sni: undefined, tlsVersion: undefined, httpHost: r.host };
  return { isTls: false, isHttp: false, sni: undefined, tlsVersion: undefined, httpHost: undefined };
}
