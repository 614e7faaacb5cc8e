/**
 * One client connection at the HTTP level: the connection record's engine while it speaks
 * HTTP/1.x. Parses request heads only; bodies are relayed with their framing, never buffered.
 * Each request is admitted on its own (request-admission.ts) and sent over a keep-alive
 * upstream socket; the response head is rewritten and its body relayed the same way. Requests
 * on one connection are served in order (pipelined ones wait).
 *
 * Deadlines are the record's: a request head must be complete within headersTimeout of its
 * first byte (408), the backend connect within connectionTimeout (504), the response head
 * within responseTimeout of the request's last byte (504). A backend that ends, resets or
 * sends garbage before its response head becomes a 502 at once (one retry on a fresh socket
 * for a stale keep-alive socket and an idempotent bodiless request); one that stops inside a
 * body closes the client connection. Every local answer closes the connection (answer.ts).
 */
import type * as net from 'node:net';
import { Timer, type CloseReason, type ConnectionEngine, type ConnectionRecord } from '../../connection/connection-record.js';
import { sniffHttpRequest, refusalStatus } from '../../protocol/http-head.js';
import type { PendingConnect } from '../../forwarding/upstream-connector.js';
import type { CompiledRoute } from '../../routing/index.js';
import type { IRouteContext } from '../../types.js';
import { runSocketHandler } from '../socket-handler.js';
import type { Services } from '../services.js';
import { responseData, type ResponseReader } from './response-relay.js';
import { admitRequest } from './request-admission.js';
import { Exchange } from './exchange.js';
import type { PooledSocket, UpstreamOwner } from './upstream-pool.js';
import { acquireUpstream } from './upstream-acquire.js';
import { relayWebSocket } from './websocket-relay.js';
import { answerAndClose, lingerAfterFin } from './answer.js';

const EMPTY = Buffer.alloc(0);

export function serveHttp(svc: Services, record: ConnectionRecord, initial: Buffer | undefined, isTls: boolean): void {
  new HttpSession(svc, record, isTls).start(initial);
}

class HttpSession implements UpstreamOwner, ConnectionEngine {
  private buf: Buffer = EMPTY;
  private ex: Exchange | undefined;
  private phase: 'head' | 'body' | 'waiting' | 'done' = 'head';
  /** A request head has started arriving (its headersTimeout runs). */
  private headTimed = false;
  private pending: PendingConnect | undefined;
  private readonly stream: net.Socket;
  /** What the response side (response-relay.ts) needs of this session. */
  private readonly reader: ResponseReader;

  constructor(
    private readonly svc: Services,
    private readonly record: ConnectionRecord,
    private readonly isTls: boolean,
  ) {
    this.stream = record.stream;
    this.reader = {
      client: this.stream,
      record,
      logger: svc.logger,
      serving: (ex) => this.ex === ex,
      refuse: (status, reason) => this.reject(status, reason),
      upgrade: (ex, rest) => this.upgrade(ex, rest),
      done: (ex) => this.responseDone(ex),
    };
  }

  start(initial: Buffer | undefined): void {
    const s = this.stream;
    this.record.engine = this;
    s.on('data', this.onClientData);
    s.on('end', this.onClientEnd);
    if (initial && initial.length > 0) this.onClientData(initial);
    if (this.phase !== 'done' && !this.record.closed) s.resume();
  }

  // ---- ConnectionEngine ----

  onSocketClose(side: 'client' | 'backend'): void {
    // The client is gone: an exchange in progress is abandoned (its upstream socket is destroyed by the close).
    this.record.close(side, 'closed');
  }

  onTimeout(reason: CloseReason): boolean {
    const ex = this.ex;
    switch (reason) {
      case 'headers_timeout':
        if (this.phase !== 'head') return false;
        this.reject(408, 'headers_timeout');
        return true;
      case 'connect_timeout':
        if (!this.pending) return false;
        this.pending.abort('connect_timeout', `connect not complete after ${this.svc.options.connectionTimeout} ms`);
        return true;
      case 'response_timeout':
        if (!ex) return false;
        if (!ex.resStarted) this.reject(504, 'response_timeout');
        else this.record.close('proxy', 'response_timeout');
        return true;
      default:
        return false;
    }
  }

  onClosed(): void {
    this.phase = 'done';
    this.pending?.abort('closed', 'client connection closed');
    this.pending = undefined;
    const up = this.ex?.upstream;
    this.ex = undefined;
    if (up) this.svc.pool.discard(up);
  }

  // ---- client side ----

  private readonly onClientData = (chunk: Buffer): void => {
    if (this.phase === 'body') {
      this.relayRequestBody(chunk, 0);
      return;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.phase === 'head') this.nextRequest();
    else if (this.buf.length > this.svc.options.maxPendingDataSize) this.stream.pause();
  };

  private readonly onClientEnd = (): void => {
    // Half-close: a client that sent its request and FIN still gets the whole response;
    // one that stops in the middle of a request head gets 400, in the middle of a body loses the exchange.
    if (this.phase === 'head') {
      if (this.buf.length === 0) this.finish();
      else this.reject(400, 'protocol_error');
    } else if (this.phase === 'body' && this.ex && !this.ex.reqBody.done) {
      this.record.close('client', 'closed');
    }
  };

  /** Nothing more to serve: end our side; the socket closes once both sides have ended. */
  private finish(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.detachClient();
    const s = this.stream;
    if (s.readableEnded) {
      s.end(() => this.record.close('client', 'closed'));
    } else {
      // Our FIN first (Connection: close): the client ends its side; halfCloseTimeout bounds one that does not.
      s.on('data', noop);
      s.once('end', () => this.record.close('client', 'closed'));
      s.end();
      lingerAfterFin(this.record, 'closed', this.svc.clock.now());
      s.resume();
    }
  }

  /** Answer locally and close the connection. */
  private reject(status: number, reason: CloseReason, headers?: Record<string, string>, body?: string): void {
    this.dropExchange();
    this.phase = 'done';
    this.detachClient();
    answerAndClose(this.record, status, reason, this.svc.clock.now(), headers, body);
  }

  private dropExchange(): void {
    this.pending?.abort('closed', 'exchange dropped');
    this.pending = undefined;
    const up = this.ex?.upstream;
    if (up) {
      this.record.useBackend(undefined);
      this.svc.pool.discard(up);
    }
    this.ex = undefined;
    this.record.clearTimer(Timer.Response);
    this.record.clearTimer(Timer.Connect);
  }

  private nextRequest(): void {
    const { record, svc } = this;
    if (!this.headTimed) {
      this.headTimed = true;
      record.startTimer(Timer.Headers, svc.options.headersTimeout, svc.clock.now());
    }
    const r = sniffHttpRequest(this.buf);
    if (r.kind === 'need-more') return;
    this.headTimed = false;
    record.clearTimer(Timer.Headers);
    if (r.kind !== 'ok') {
      svc.events.protocolError(record, 'http_request');
      this.reject(r.kind === 'invalid' ? refusalStatus(r.reason) : 400, 'protocol_error');
      return;
    }
    const decision = admitRequest(r, record, this.isTls, svc);
    if ('status' in decision) {
      this.reject(decision.status, decision.reason, decision.headers, decision.body);
      return;
    }
    if ('handoff' in decision) {
      this.handOff(decision.handoff, decision.ctx);
      return;
    }
    this.ex = new Exchange(decision);
    const rest = this.buf.subarray(r.headLength);
    this.buf = EMPTY;
    this.phase = 'body';
    // While a request is in flight the response deadline governs (the client's idle limit pauses).
    record.setInFlight(true, svc.clock.now());
    // The client keeps being read (pausing costs a readStop/readStart pair per request):
    // bytes that arrive before the backend is connected are buffered, bounded below.
    if (rest.length > 0) this.buf = rest;
    this.acquireUpstream(this.ex);
  }

  // ---- upstream ----

  private acquireUpstream(ex: Exchange): void {
    this.pending = acquireUpstream(this.svc, this.record, ex, this, {
      wanted: () => this.ex === ex,
      done: (r) => {
        this.pending = undefined;
        if (r.ok) this.attach(ex, r.up);
        else this.reject(r.status, r.reason);
      },
    });
  }

  private attach(ex: Exchange, up: PooledSocket): void {
    ex.upstream = up;
    this.record.useBackend(up.socket);
    const s = up.socket;
    // Head and the body bytes that arrived with it leave in one write (cork -> writev).
    s.cork();
    s.write(ex.head, 'latin1');
    const pending = this.buf;
    this.buf = EMPTY;
    if (pending.length > 0) this.relayRequestBody(pending, 0);
    else if (ex.reqBody.done) this.requestSent();
    s.uncork();
    if (this.phase === 'body') this.stream.resume();
  }

  private relayRequestBody(chunk: Buffer, start: number): void {
    const ex = this.ex;
    const up = ex?.upstream;
    if (!ex || !up) {
      this.buf = this.buf.length === 0 ? chunk.subarray(start) : Buffer.concat([this.buf, chunk.subarray(start)]);
      if (this.buf.length > this.svc.options.maxPendingDataSize) this.stream.pause();
      return;
    }
    const end = ex.reqBody.advance(chunk, start);
    if (ex.reqBody.error) {
      this.svc.events.protocolError(this.record, 'http_body_framing');
      this.reject(400, 'protocol_error');
      return;
    }
    if (end > start && !up.socket.write(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end))) {
      this.stream.pause();
      up.socket.once('drain', () => {
        if (this.phase === 'body') this.stream.resume();
      });
    }
    if (end < chunk.length) this.buf = chunk.subarray(end);
    if (ex.reqBody.done) this.requestSent();
  }

  private requestSent(): void {
    if (this.phase !== 'body') return;
    // Further client bytes (a pipelined request) wait in `buf` until this response is done.
    this.phase = 'waiting';
    this.record.startTimer(Timer.Response, this.svc.options.responseTimeout, this.svc.clock.now());
  }

  readonly onUpstreamData = (chunk: Buffer): void => {
    const ex = this.ex;
    if (ex) responseData(this.reader, ex, chunk);
  };

  private responseDone(ex: Exchange): void {
    const up = ex.upstream!;
    const { record, svc } = this;
    ex.rt.selector.released(ex.hosts[ex.hostIndex]!);
    record.useBackend(undefined);
    // A socket paused for client backpressure has nothing more to send: never pool it paused.
    if (up.socket.isPaused()) up.socket.resume();
    if (ex.upstreamReusable && ex.reqBody.done) svc.pool.release(up);
    else svc.pool.discard(up);
    this.ex = undefined;
    record.setInFlight(false, svc.clock.now());
    if (ex.clientClose) {
      this.finish();
      return;
    }
    this.phase = 'head';
    if (this.buf.length > 0) this.nextRequest();
    if (this.phase !== 'head') return;
    // A client that has ended its side sends nothing more: done, or a request head it never finished.
    if (this.stream.readableEnded) {
      if (this.buf.length === 0) this.finish();
      else this.reject(400, 'protocol_error');
      return;
    }
    this.stream.resume();
  }

  /** The backend ended or closed before its exchange finished. */
  private upstreamGone(ex: Exchange, up: PooledSocket): void {
    ex.rt.selector.released(ex.hosts[ex.hostIndex]!);
    up.owner = undefined;
    if (ex.resBody === undefined) {
      if (ex.mayRetryOnFresh(up)) {
        // A pooled socket the backend had closed: retry once on a fresh connection.
        ex.retried = true;
        ex.upstream = undefined;
        this.record.useBackend(undefined);
        this.record.clearTimer(Timer.Response);
        up.socket.destroy();
        this.phase = 'body';
        this.acquireUpstream(ex);
        return;
      }
      this.reject(502, 'backend_closed');
      return;
    }
    // Inside a body: the client cannot be told more than a closed connection.
    this.record.close('backend', 'backend_closed');
  }

  readonly onUpstreamEnd = (): void => {
    const ex = this.ex;
    if (!ex || !ex.upstream) return;
    if (ex.resBody && ex.resFraming?.kind === 'close') {
      ex.upstreamReusable = false;
      ex.resBody.done = true;
      this.responseDone(ex);
      return;
    }
    this.upstreamGone(ex, ex.upstream);
  };

  readonly onUpstreamClose = (): void => {
    const ex = this.ex;
    if (!ex || !ex.upstream) return;
    this.upstreamGone(ex, ex.upstream);
  };

  // ---- leaving HTTP ----

  /** Give the connection, this request's bytes included, to a socket-handler route. */
  private handOff(route: CompiledRoute, ctx: IRouteContext): void {
    this.detachClient();
    this.phase = 'done';
    const pending = this.buf;
    this.buf = EMPTY;
    this.stream.pause();
    this.record.engine = undefined;
    runSocketHandler(this.record, route.config, ctx, pending, this.svc.logger);
  }

  private detachClient(): void {
    const s = this.stream;
    s.removeListener('data', this.onClientData);
    s.removeListener('end', this.onClientEnd);
  }

  private upgrade(ex: Exchange, backendRest: Buffer): void {
    const { record, svc } = this;
    const backend = svc.pool.detach(ex.upstream!);
    this.detachClient();
    this.ex = undefined;
    this.phase = 'done';
    record.setInFlight(false, svc.clock.now());
    record.useBackend(undefined);
    record.attachBackend(backend);
    const ws = ex.route.config.action.websocket;
    const clientRest = this.buf.length > 0 ? this.buf : undefined;
    this.buf = EMPTY;
    relayWebSocket(
      record,
      backend,
      clientRest,
      backendRest.length > 0 ? backendRest : undefined,
      { pingIntervalMs: ws?.pingIntervalMs, pingTimeoutMs: ws?.pingTimeoutMs, clock: svc.clock },
      () => ex.rt.selector.released(ex.hosts[ex.hostIndex]!),
    );
  }
}

function noop(): void {}
