import type * as net from 'node:net';
import { normalizeIp } from '../core/ip.js';
import { systemClock } from '../core/clock.js';
import { DeadlineService } from '../core/deadlines.js';
import { Ticker } from '../core/ticker.js';
import { ConnectionRecord } from './connection-record.js';

let ownDeadlines: DeadlineService | undefined;

/** Deadlines for connections outside any SmartProxy (on their own unref()ed ticker). */
export function detachedDeadlines(): DeadlineService {
  return (ownDeadlines ??= new DeadlineService(systemClock, new Ticker(systemClock)));
}

export interface DetachedOptions {
  deadlines?: DeadlineService;
  /** How long a half-closed connection may stay idle (0 = no limit). */
  halfCloseTimeout?: number;
  onClosed?: (record: ConnectionRecord) => void;
}

let nextId = 1;
const DETACHED_CONNECT = Object.freeze({ timeoutMs: 30_000, noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 });

/**
 * A connection record for a socket no SmartProxy owns (a socket handler's own socket used
 * outside the proxy, a test's relay): the same lifecycle, relay and deadlines, with no limits,
 * metrics or events.
 */
export function detachedRecord(socket: net.Socket, o: DetachedOptions = {}): ConnectionRecord {
  const deadlines = o.deadlines ?? detachedDeadlines();
  const record = new ConnectionRecord(
    nextId++,
    socket,
    normalizeIp(socket.remoteAddress ?? ''),
    socket.remotePort ?? 0,
    socket.localPort ?? 0,
    deadlines.clock.now(),
    { deadlines, halfCloseTimeout: o.halfCloseTimeout ?? 0, connect: DETACHED_CONNECT, released: (r) => o.onClosed?.(r) },
  );
  record.limits(Infinity, Infinity);
  return record;
}
