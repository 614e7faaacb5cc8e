/**
 * One client connection at the HTTP level. Parses request heads only; bodies are relayed
 * with their framing, never buffered. Each request is admitted on its own
 * (request-admission.ts) and sent over a keep-alive upstream socket; the response head is
 * rewritten and its body relayed the same way. Requests on one connection are served in
 * order (pipelined ones wait).
 */
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { ConnectionRecord } from '../../connection/connection-record.js';
import { sniffHttpRequest, parseResponseHead, MAX_HTTP_HEAD_BYTES } from '../../protocol/http-head.js';
import { BodyTracker, responseFraming } from '../../protocol/http-framing.js';
import { buildResponseHead, connectionTokens, hasNoHopByHop } from './headers.js';
import { localResponse } from './responses.js';
import { admitRequest } from './request-admission.js';
import { Exchange } from './exchange.js';
import { runSocketHandler } from '../socket-handler.js';
import type { CompiledRoute } from '../../routing/index.js';
import type { IRouteContext } from '../../types.js';
import { upstreamKey, type PooledSocket, type UpstreamOwner, type UpstreamTls } from './upstream-pool.js';
import { isIP } from 'node:net';
import type { HttpDeps } from './http-deps.js';
import { relayWebSocket } from './websocket-relay.js';

type ClientStream = net.Socket | tls.TLSSocket;
const EMPTY = Buffer.alloc(0);
/** Client bytes held while a request waits for its backend or response, before reading pauses. */
const MAX_PENDING_BYTES = 4 * MAX_HTTP_HEAD_BYTES;
/** A complete response up to this size is copied behind its head and written once. */
const SMALL_RESPONSE_BYTES = 16 * 1024;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export function serveHttp(record: ConnectionRecord, stream: ClientStream, initial: Buffer | undefined, isTls: boolean, deps: HttpDeps): void {
  new HttpSession(record, stream, isTls, deps).start(initial);
}

class HttpSession implements UpstreamOwner {
  private buf: Buffer = EMPTY;
  private ex: Exchange | undefined;
  private phase: 'head' | 'body' | 'waiting' | 'done' = 'head';

  constructor(
    private readonly record: ConnectionRecord,
    private readonly stream: ClientStream,
    private readonly isTls: boolean,
    private readonly deps: HttpDeps,
  ) {}

  start(initial: Buffer | undefined): void {
    const s = this.stream;
    s.on('data', this.onClientData);
    s.on('end', this.onClientEnd);
    s.on('close', this.onClientClose);
    s.on('error', this.onClientClose);
    if (initial && initial.length > 0) this.onClientData(initial);
    if (this.phase !== 'done') s.resume();
  }

  private readonly onClientData = (chunk: Buffer): void => {
    if (this.phase === 'body') {
      this.relayRequestBody(chunk, 0);
      return;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.phase === 'head') this.nextRequest();
    else if (this.buf.length > MAX_PENDING_BYTES) this.stream.pause();
  };

  private readonly onClientEnd = (): void => {
    // Half-close: a client that sent its request and FIN still gets the whole response;
    // one that stops in the middle of a request head gets 400.
    if (this.phase !== 'head') return;
    if (this.buf.length === 0) this.finish();
    else this.reject(400);
  };

  private readonly onClientClose = (): void => {
    if (this.phase === 'done') return;
    this.phase = 'done';
    const up = this.ex?.upstream;
    if (up) this.deps.pool.discard(up);
    this.ex = undefined;
  };

  private finish(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.stream.end();
  }

  /** Answer locally and close the connection. */
  private reject(status: number, headers?: Record<string, string>): void {
    const up = this.ex?.upstream;
    if (up) this.deps.pool.discard(up);
    this.ex = undefined;
    this.phase = 'done';
    this.stream.pause();
    this.stream.end(localResponse(status, headers));
  }

  private nextRequest(): void {
    const r = sniffHttpRequest(this.buf);
    if (r.kind === 'need-more') return;
    if (r.kind !== 'ok') {
      this.deps.protocolError(this.record, 'http_request');
      this.reject(r.kind === 'invalid' && /exceeds/.test(r.reason) ? 431 : 400);
      return;
    }
    const decision = admitRequest(r, this.record, this.isTls, this.deps);
    if ('status' in decision) {
      this.reject(decision.status, decision.headers);
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
    // While a request is in flight the backend's timeout governs (the client's idle timer ignores it).
    this.record.inFlight = true;
    // The client keeps being read (pausing costs a readStop/readStart pair per request):
    // bytes that arrive before the backend is connected are buffered, bounded below.
    if (rest.length > 0) this.buf = rest;
    this.acquireUpstream(this.ex);
  }

  private acquireUpstream(ex: Exchange): void {
    const { deps } = this;
    const host = ex.hosts[ex.hostIndex]!;
    const tls = ex.route.tlsMode === 'terminate-and-reencrypt' ? this.upstreamTls(ex, host) : undefined;
    const pooled = ex.isUpgrade || ex.retried ? undefined : deps.pool.take(upstreamKey(host, ex.port, tls), this);
    if (pooled) {
      ex.rt.selector.acquired(host);
      this.attach(ex, pooled);
      return;
    }
    deps.pool.connect(host, ex.port, tls, this, (r, p) => {
      if (this.ex !== ex) {
        if (p) deps.pool.discard(p);
        return;
      }
      if (!r.ok || !p) {
        ex.rt.selector.failed(host, deps.clock.now());
        if (ex.hostIndex + 1 < ex.hosts.length) {
          ex.hostIndex++;
          this.acquireUpstream(ex);
          return;
        }
        deps.logger.warn({ conn: this.record.idText, host, port: ex.port, err: r.ok ? undefined : r.error.message }, 'backend connect failed');
        this.reject(!r.ok && r.reason === 'connect_timeout' ? 504 : 502);
        return;
      }
      ex.rt.selector.succeeded(host);
      ex.rt.selector.acquired(host);
      this.attach(ex, p);
    });
  }

  /** Re-encryption settings: SNI is the client's SNI, else the target host when it is a name. */
  private upstreamTls(ex: Exchange, host: string): UpstreamTls {
    const t = ex.route.config.action.tls;
    const sni = this.record.facts?.sni ?? (isIP(host) === 0 ? host : undefined);
    return { servername: sni, verify: t?.verifyBackend === true, ca: t?.backendCa };
  }

  private attach(ex: Exchange, up: PooledSocket): void {
    ex.upstream = up;
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
      if (this.buf.length > MAX_PENDING_BYTES) this.stream.pause();
      return;
    }
    const end = ex.reqBody.advance(chunk, start);
    if (ex.reqBody.error) {
      this.deps.protocolError(this.record, 'http_body_framing');
      this.reject(400);
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
  }

  readonly onUpstreamData = (chunk: Buffer): void => {
    const ex = this.ex;
    if (!ex) return;
    ex.resStarted = true;
    if (ex.resBody === undefined) {
      ex.resBuf = ex.resBuf ? Buffer.concat([ex.resBuf, chunk]) : chunk;
      this.parseResponse(ex);
      return;
    }
    this.relayResponseBody(ex, chunk, 0);
  };

  private parseResponse(ex: Exchange): void {
    for (;;) {
      const buf = ex.resBuf!;
      const r = parseResponseHead(buf);
      if (r.kind === 'need-more') return;
      if (r.kind === 'invalid') {
        this.deps.logger.warn({ conn: this.record.idText, reason: r.reason }, 'malformed response from backend');
        this.reject(502);
        return;
      }
      const rest = buf.subarray(r.headLength);
      const { rt, vars } = ex;
      if (r.status === 101 && ex.isUpgrade) {
        this.stream.write(buildResponseHead(101, r.reason, r.headers, rt.responseHeaders, vars, false, true, false), 'latin1');
        this.upgrade(ex, rest);
        return;
      }
      if (r.status >= 100 && r.status < 200) {
        // 100 Continue and other interim responses pass through; the final one follows.
        this.stream.write(buildResponseHead(r.status, r.reason, r.headers, undefined, undefined, false, false, false), 'latin1');
        ex.resBuf = rest;
        if (rest.length === 0) return;
        continue;
      }
      const framing = responseFraming(r.status, ex.method, r.headers);
      if (framing.kind === 'error') {
        this.reject(502);
        return;
      }
      const resTokens = connectionTokens(r.headers);
      ex.upstreamReusable = ex.upstreamReusable && !resTokens.close && r.httpVersion === '1.1' && framing.kind !== 'close';
      // A body delimited by the backend closing can only reach the client the same way.
      if (framing.kind === 'close') ex.clientClose = true;
      ex.resFraming = framing;
      ex.resBody = new BodyTracker(framing);
      ex.resBuf = undefined;
      const client = this.stream;
      // A head this proxy would rebuild unchanged (HTTP/1.1, no hop-by-hop field, no rules, nothing
      // to add) goes on as the backend sent it; a complete small response then leaves in one write.
      const verbatim = r.httpVersion === '1.1' && rt.responseHeaders === undefined && !ex.clientClose && !ex.clientHttp10 && hasNoHopByHop(r.headers);
      if (verbatim && framing.kind === 'length' && rest.length === framing.length) {
        ex.resBody.advance(rest, 0);
        client.write(buf);
        this.responseDone(ex);
        return;
      }
      const head = verbatim ? buf.toString('latin1', 0, r.headLength) : buildResponseHead(r.status, r.reason, r.headers, rt.responseHeaders, vars, ex.clientClose, false, ex.clientHttp10);
      if (framing.kind === 'length' && rest.length === framing.length && rest.length <= SMALL_RESPONSE_BYTES) {
        // The whole (small) response is here: one buffer, one plain write.
        const out = Buffer.allocUnsafe(head.length + rest.length);
        out.write(head, 0, 'latin1');
        rest.copy(out, head.length);
        ex.resBody.advance(rest, 0);
        client.write(out);
        this.responseDone(ex);
        return;
      }
      client.cork();
      client.write(head, 'latin1');
      if (rest.length > 0) this.relayResponseBody(ex, rest, 0);
      else if (ex.resBody.done) this.responseDone(ex);
      client.uncork();
      return;
    }
  }

  private relayResponseBody(ex: Exchange, chunk: Buffer, start: number): void {
    const body = ex.resBody!;
    const end = body.advance(chunk, start);
    if (body.error) {
      this.deps.logger.warn({ conn: this.record.idText, reason: body.error }, 'malformed response body framing from backend');
      this.stream.destroy();
      return;
    }
    if (end > start) {
      const part = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
      if (!this.stream.write(part)) {
        // Client backpressure: stop reading the backend until the client drains, unless the
        // socket has moved on by then (responseDone resumes it before pooling).
        const up = ex.upstream!;
        up.socket.pause();
        this.stream.once('drain', () => {
          if (this.ex === ex && ex.upstream === up) up.socket.resume();
        });
      }
    }
    if (body.done) {
      if (end < chunk.length) ex.upstreamReusable = false; // bytes beyond the response: not a clean socket
      this.responseDone(ex);
    }
  }

  private responseDone(ex: Exchange): void {
    const up = ex.upstream!;
    ex.rt.selector.released(ex.hosts[ex.hostIndex]!);
    // A socket paused for client backpressure has nothing more to send: never pool it paused.
    if (up.socket.isPaused()) up.socket.resume();
    if (ex.upstreamReusable && ex.reqBody.done) this.deps.pool.release(up);
    else this.deps.pool.discard(up);
    this.ex = undefined;
    if (ex.clientClose) {
      this.finish();
      return;
    }
    this.record.inFlight = false;
    this.phase = 'head';
    if (this.stream.readableEnded && this.buf.length === 0) {
      this.finish();
      return;
    }
    if (this.buf.length > 0) this.nextRequest();
    if (this.phase === 'head') this.stream.resume();
  }

  private detachUpstream(up: PooledSocket): void {
    up.owner = undefined;
  }

  readonly onUpstreamEnd = (): void => {
    const ex = this.ex;
    if (!ex) return;
    if (ex.resBody && ex.resFraming?.kind === 'close') {
      ex.upstreamReusable = false;
      ex.resBody.done = true;
      this.responseDone(ex);
    }
  };

  readonly onUpstreamClose = (): void => {
    const ex = this.ex;
    if (!ex || !ex.upstream) return;
    const up = ex.upstream;
    this.detachUpstream(up);
    ex.rt.selector.released(ex.hosts[ex.hostIndex]!);
    if (ex.resBody === undefined && !ex.resStarted) {
      // A pooled socket the backend had closed: retry once on a fresh connection when safe.
      if (up.reused && !ex.retried && IDEMPOTENT.has(ex.method) && ex.reqBody.done && !ex.hasBody) {
        ex.retried = true;
        ex.upstream = undefined;
        this.phase = 'body';
        this.acquireUpstream(ex);
        return;
      }
      this.reject(502);
      return;
    }
    // Truncated response: the client cannot be told more than a closed connection.
    this.ex = undefined;
    this.phase = 'done';
    this.stream.destroy();
  };

  readonly onUpstreamTimeout = (): void => {
    const ex = this.ex;
    if (!ex) return;
    if (!ex.resStarted) this.reject(504);
    else {
      this.phase = 'done';
      if (ex.upstream) this.deps.pool.discard(ex.upstream);
      this.stream.destroy();
    }
  };

  /** Give the connection, this request's bytes included, to a socket-handler route. */
  private handOff(route: CompiledRoute, ctx: IRouteContext): void {
    this.detachClient();
    this.phase = 'done';
    const pending = this.buf;
    this.buf = EMPTY;
    this.stream.pause();
    runSocketHandler(this.stream, this.record.idText, route.config, ctx, pending, this.deps.logger, () => this.stream.destroy());
  }

  private detachClient(): void {
    const s = this.stream;
    s.removeListener('data', this.onClientData);
    s.removeListener('end', this.onClientEnd);
    s.removeListener('close', this.onClientClose);
    s.removeListener('error', this.onClientClose);
  }

  private upgrade(ex: Exchange, backendRest: Buffer): void {
    const backend = this.deps.pool.detach(ex.upstream!);
    const s = this.stream;
    this.detachClient();
    this.ex = undefined;
    this.phase = 'done';
    const ws = ex.route.config.action.websocket;
    const clientRest = this.buf.length > 0 ? this.buf : undefined;
    this.buf = EMPTY;
    relayWebSocket(
      s,
      backend,
      clientRest,
      backendRest.length > 0 ? backendRest : undefined,
      { pingIntervalMs: ws?.pingIntervalMs, pingTimeoutMs: ws?.pingTimeoutMs, clock: this.deps.clock, ticker: this.deps.ticker },
      () => ex.rt.selector.released(ex.hosts[ex.hostIndex]!),
    );
  }
}
