import { BodyTracker, type Framing } from '../../protocol/http-framing.js';
import type { RequestPlan } from './request-admission.js';
import { isIP } from 'node:net';
import type { PooledSocket, UpstreamTls } from './upstream-pool.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** One request/response exchange; a class so every exchange shares one shape. */
export class Exchange {
  readonly method: string;
  readonly route: RequestPlan['route'];
  readonly rt: RequestPlan['rt'];
  readonly vars: RequestPlan['vars'];
  readonly head: string;
  readonly framing: Framing;
  clientClose: boolean;
  readonly clientHttp10: boolean;
  readonly isUpgrade: boolean;
  readonly hosts: string[];
  readonly port: number;
  readonly reqBody: BodyTracker;
  readonly hasBody: boolean;
  hostIndex = 0;
  upstream: PooledSocket | undefined = undefined;
  retried = false;
  /** Bytes of the response read so far (head phase). */
  resBuf: Buffer | undefined = undefined;
  resStarted = false;
  /** Interim (1xx) responses relayed so far. */
  interim = 0;
  /** The response body goes to the client without its chunk framing (an HTTP/1.0 client). */
  dechunked = false;
  resBody: BodyTracker | undefined = undefined;
  resFraming: Framing | undefined = undefined;
  upstreamReusable = true;

  constructor(plan: RequestPlan) {
    this.method = plan.method;
    this.route = plan.route;
    this.rt = plan.rt;
    this.vars = plan.vars;
    this.head = plan.head;
    this.framing = plan.framing;
    this.clientClose = plan.clientClose;
    this.clientHttp10 = plan.clientHttp10;
    this.isUpgrade = plan.isUpgrade;
    this.hosts = plan.hosts;
    this.port = plan.port;
    this.reqBody = new BodyTracker(plan.framing);
    this.hasBody = plan.framing.kind !== 'none';
  }

  /** TLS towards `host` for 'terminate-and-reencrypt' (SNI: the client's, else the host when it is a name); undefined for plain. */
  upstreamTls(host: string, clientSni: string | undefined): UpstreamTls | undefined {
    if (this.route.tlsMode !== 'terminate-and-reencrypt') return undefined;
    const t = this.route.config.action.tls;
    return { servername: clientSni ?? (isIP(host) === 0 ? host : undefined), verify: t?.verifyBackend === true, ca: t?.backendCa };
  }

  /**
   * The retry rule: a keep-alive socket that closed before any response byte was probably stale;
   * an idempotent bodiless request is sent again, once, on a fresh connection.
   */
  mayRetryOnFresh(up: PooledSocket): boolean {
    return !this.resStarted && up.reused && !this.retried && IDEMPOTENT.has(this.method) && this.reqBody.done && !this.hasBody;
  }
}
