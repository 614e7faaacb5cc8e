import { ManualClock } from '../../ts/core/clock.js';
import { Ticker } from '../../ts/core/ticker.js';
import { MetricsCollector, type MetricsCollectorOptions } from '../../ts/metrics/metrics-collector.js';
import { FakeConnection } from './fake-connection.js';

export const MiB = 1024 * 1024;

export function setup(options: Partial<MetricsCollectorOptions> = {}) {
  const clock = new ManualClock(); // starts on a whole second
  const ticker = new Ticker(clock, { manual: true });
  const collector = new MetricsCollector({ clock, ticker, ...options });
  const open = (ip = '10.0.0.1', route?: string): FakeConnection => {
    const conn = new FakeConnection(ip, clock.now());
    collector.connectionOpened(conn);
    if (route !== undefined) collector.connectionRouted(conn, route);
    return conn;
  };
  /** Advance the clock by `ms` and run the ticker (which samples when started). */
  const tick = (ms = 1000): void => {
    clock.advance(ms);
    ticker.runDue();
  };
  return { clock, ticker, collector, stats: collector.getStats(), open, tick };
}
