/** IMetrics: what proxy.getStats() returns (live). */

/** Bytes per second in (client to proxy) and out (proxy to client). */
export interface IThroughput {
  in: number;
  out: number;
}

/** Percentiles of a distribution. */
export interface IPercentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Live metrics (`proxy.getStats()`): the object reads current values on every call; see docs/metrics.md. */
export interface IMetrics {
  /** Connections: open now and since start. */
  connections: {
    /** Open now. */
    active(): number;
    /** Accepted since start. */
    total(): number;
    /** Open now per route name. */
    byRoute(): Map<string, number>;
    /** Open now per client IP. */
    byIP(): Map<string, number>;
    /** The client IPs with the most open connections, most first (default 10). */
    topIPs(limit?: number): Array<{ ip: string; count: number }>;
  };
  /** Bytes per second, from per-second samples. */
  throughput: {
    /** The last complete second. */
    instant(): IThroughput;
    /** The last 10 complete seconds. */
    recent(): IThroughput;
    /** The last 60 complete seconds. */
    average(): IThroughput;
    /** The last `seconds` complete seconds (1..retentionSeconds). */
    custom(seconds: number): IThroughput;
    /** One entry per complete second, oldest first, only seconds since start(); `timestamp` is the second's start (ms). */
    history(seconds: number): Array<{ timestamp: number; in: number; out: number }>;
    /** Per route over the last `windowSeconds` (default 1). */
    byRoute(windowSeconds?: number): Map<string, IThroughput>;
    /** Per client IP over the last `windowSeconds` (default 1). */
    byIP(windowSeconds?: number): Map<string, IThroughput>;
  };
  /** HTTP requests served (and L4 connections routed). */
  requests: {
    /** In the last complete second. */
    perSecond(): number;
    /** In the last 60 s. */
    perMinute(): number;
    /** Since start. */
    total(): number;
  };
  /** Totals since start, exact (live, not sampled). */
  totals: {
    bytesIn(): number;
    bytesOut(): number;
    connections(): number;
  };
  /** Distributions over closed connections. */
  percentiles: {
    /** Connection duration (ms). */
    connectionDuration(): IPercentiles;
    /** Bytes per connection, each way. */
    bytesTransferred(): { in: IPercentiles; out: IPercentiles };
  };
}
