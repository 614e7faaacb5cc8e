import type { TrackedConnection } from '../../ts/metrics/metrics-collector.js';

/** A connection record stand-in whose byte counters the test moves by hand. */
export class FakeConnection implements TrackedConnection {
  routeName: string | undefined = undefined;
  metricsSampledIn = 0;
  metricsSampledOut = 0;
  in = 0;
  out = 0;
  reads = 0;
  constructor(
    readonly clientIp: string,
    readonly startTime: number,
  ) {}
  bytesIn(): number {
    this.reads++;
    return this.in;
  }
  bytesOut(): number {
    this.reads++;
    return this.out;
  }
  move(bytesIn: number, bytesOut: number): void {
    this.in += bytesIn;
    this.out += bytesOut;
  }
}
