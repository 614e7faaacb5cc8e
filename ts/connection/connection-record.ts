import type * as net from 'node:net';
import { normalizeIp } from '../core/ip.js';
import type { RelayReader } from '../core/node-internals.js';

/** Why one side of a connection ended; counted by side in the termination statistics. */
export type TerminationReason =
  | 'closed'
  | 'error'
  | 'reset'
  | 'inactivity'
  | 'lifetime'
  | 'socket_timeout'
  | 'zombie'
  | 'route_miss'
  | 'blocked'
  | 'initial_data_timeout'
  | 'protocol_error'
  | 'connect_refused'
  | 'connect_timeout'
  | 'handler_error'
  | 'shutdown'
  | 'peer_closed';

/** Facts learnt from the first bytes. */
export interface SniffFacts {
  isTls: boolean;
  sni: string | undefined;
  tlsVersion: string | undefined;
  httpHost: string | undefined;
}

/**
 * One accepted client connection. Plain data plus the two sockets; all policy lives in the
 * ConnectionManager and the pure timeout/zombie functions. Byte counts come from the client
 * socket's own counters (so they are exact and cost nothing per chunk).
 */
export class ConnectionRecord {
  readonly idText: string;
  routeName: string | undefined = undefined;
  routeIndex: number | undefined = undefined;
  backend: net.Socket | undefined = undefined;
  /** The client socket's reader, on ports where every route relays (see forwarding/direct-read.ts). */
  clientReader: RelayReader | undefined = undefined;
  backendHost: string | undefined = undefined;
  backendPort: number | undefined = undefined;
  facts: SniffFacts | undefined = undefined;
  /** Bytes of an accepted PROXY header: read from the client but never counted. */
  proxyHeaderBytes = 0;
  /** The destination port the client connected to (from a PROXY header, else the local port). */
  destPort: number;
  /** Set from a PROXY header; otherwise the local address is read lazily (one syscall saved per connection). */
  private destIpValue: string | undefined = undefined;
  /** TCP keep-alive probes on: keepAliveTreatment applies. */
  keepAlive = false;
  /** Limits fixed when the connection is admitted (jitter applied once). */
  inactivityLimit = 0;
  lifetimeLimit = 0;
  lastActivity: number;
  inactivityWarned = false;
  /** Sum of all socket byte counters at the last sweep: a change means activity. */
  seenBytes = 0;
  /** When a sweep first saw exactly one side destroyed. */
  halfDeadSince = 0;
  clientTermination: TerminationReason | undefined = undefined;
  backendTermination: TerminationReason | undefined = undefined;
  closed = false;
  /** HTTP sessions wait on slow backends legitimately: the "data in, nothing out" zombie rule does not apply. */
  exemptFromStuckRule = false;
  /** An HTTP request is waiting on its backend: the client's OS-level idle timer does not apply. */
  inFlight = false;
  /** connection:open was emitted. */
  announced = false;
  /** Counted against the per-IP limits (released exactly once). */
  countedForIp = false;
  /** Counted against its route's maxConnections (released exactly once). */
  countedForRoute: string | undefined = undefined;
  metricsSampledIn = 0;
  metricsSampledOut = 0;

  constructor(
    readonly id: number,
    readonly client: net.Socket,
    public clientIp: string,
    public clientPort: number,
    readonly localPort: number,
    readonly startTime: number,
  ) {
    this.idText = id.toString(36);
    this.destPort = localPort;
    this.lastActivity = startTime;
  }

  /** The address the client connected to: from a PROXY header, else this socket's local address (plain form). */
  get destIp(): string {
    this.destIpValue ??= normalizeIp(this.client.localAddress ?? '');
    return this.destIpValue;
  }

  set destIp(ip: string) {
    this.destIpValue = ip;
  }

  get isTls(): boolean {
    return this.facts?.isTls ?? false;
  }

  bytesIn(): number {
    return Math.max(0, this.client.bytesRead - this.proxyHeaderBytes);
  }

  bytesOut(): number {
    return this.client.bytesWritten;
  }

  /** All traffic on both sockets so far, the activity signal for timeouts. */
  trafficCounter(): number {
    const b = this.backend;
    return this.client.bytesRead + this.client.bytesWritten + (b ? b.bytesRead + b.bytesWritten : 0);
  }
}
