import type { Clock } from '../../core/clock.js';
import type { Ticker } from '../../core/ticker.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { ConnectionManager } from '../../connection/connection-manager.js';
import type { ConnectionRecord } from '../../connection/connection-record.js';
import type { IpMatcher, RouteTable } from '../../routing/index.js';
import type { ILogger } from '../../types.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What the HTTP layer needs from the proxy around it. */
export interface HttpDeps {
  options: ResolvedOptions;
  cm: ConnectionManager;
  clock: Clock;
  ticker: Ticker;
  logger: ILogger;
  pool: UpstreamPool;
  proxyIPs: IpMatcher | undefined;
  table(): RouteTable;
  requestServed(routeName: string, clientIp: string): void;
  routeMiss(record: ConnectionRecord, domain: string | undefined): void;
  protocolError(record: ConnectionRecord, what: string): void;
}
