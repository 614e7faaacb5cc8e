/** The `IMetrics` of a disabled collector: every member returns zeros or empty collections. */
import type { IMetrics, IPercentiles, IThroughput } from '../types.js';

const zeroRate = (): IThroughput => ({ in: 0, out: 0 });
const zeroPercentiles = (): IPercentiles => ({ p50: 0, p95: 0, p99: 0 });
const zero = (): number => 0;

export function createZeroStats(): IMetrics {
  return {
    connections: {
      active: zero,
      total: zero,
      byRoute: () => new Map(),
      byIP: () => new Map(),
      topIPs: () => [],
    },
    throughput: {
      instant: zeroRate,
      recent: zeroRate,
      average: zeroRate,
      custom: zeroRate,
      history: () => [],
      byRoute: () => new Map(),
      byIP: () => new Map(),
    },
    requests: { perSecond: zero, perMinute: zero, total: zero },
    totals: { bytesIn: zero, bytesOut: zero, connections: zero },
    percentiles: {
      connectionDuration: zeroPercentiles,
      bytesTransferred: () => ({ in: zeroPercentiles(), out: zeroPercentiles() }),
    },
  };
}
