export { ThroughputTracker, type SecondBucket } from './throughput-tracker.js';
export {
  MetricsCollector,
  METRICS_DEFAULTS,
  type MetricsCollectorOptions,
  type TrackedConnection,
} from './metrics-collector.js';
export { OTHER_IP_KEY } from './ip-table.js';
export { UNROUTED_LABEL } from './prometheus.js';
export {
  startPrometheusServer,
  PROMETHEUS_CONTENT_TYPE,
  type PrometheusServerHandle,
  type PrometheusServerOptions,
} from './prometheus-server.js';
