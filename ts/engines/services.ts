/**
 * What the dispatcher and the engines share of the proxy around them, built once by the
 * facade (the one dependency bag).
 */
import type { Clock } from '../core/clock.js';
import type { Ticker } from '../core/ticker.js';
import type { ResolvedOptions } from '../core/options.js';
import type { ConnectionManager } from '../connection/connection-manager.js';
import type { ConnectionRecord } from '../connection/connection-record.js';
import type { IpMatcher, RouteTable } from '../routing/index.js';
import type { CertStore } from '../tls/cert-store.js';
import type { ILogger } from '../types.js';
import type { UpstreamPool } from './http/upstream-pool.js';

/** What engines report upwards (the facade turns them into events and metrics). */
export interface ProxyEvents {
  routeMiss(record: ConnectionRecord, domain: string | undefined): void;
  opened(record: ConnectionRecord): void;
  /** Bytes that are not what the port speaks (counted, logged at debug, `connection:error`). */
  protocolError(record: ConnectionRecord, what: string): void;
  /** One HTTP request served, or one L4 connection routed. */
  requestServed(routeName: string, clientIp: string): void;
}

export interface Services {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly ticker: Ticker;
  readonly logger: ILogger;
  readonly cm: ConnectionManager;
  table(): RouteTable;
  /** Trusted upstream proxies (PROXY headers, X-Forwarded-For appending). */
  readonly proxyIPs: IpMatcher | undefined;
  readonly certStore: CertStore;
  readonly pool: UpstreamPool;
  readonly events: ProxyEvents;
}
