import { BodyTracker, type Framing } from '../../protocol/http-framing.js';
import type { RequestPlan } from './request-admission.js';
import type { PooledSocket } from './upstream-pool.js';

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
}

