import type { ConnectionRecord } from '../connection/connection-record.js';
import type { IRouteContext } from '../types.js';

/** The read-only context user code sees for a connection (L4 decisions). */
export function connectionContext(record: ConnectionRecord, now: number, routeId?: string): IRouteContext {
  const f = record.facts;
  return Object.freeze({
    connectionId: record.idText,
    port: record.localPort,
    domain: f?.sni ?? f?.httpHost,
    clientIp: record.clientIp,
    clientPort: record.clientPort,
    serverIp: record.destIp,
    isTls: f?.isTls ?? false,
    tlsVersion: f?.tlsVersion,
    routeName: record.routeName,
    routeIndex: record.routeIndex,
    ...(routeId !== undefined ? { routeId } : {}),
    timestamp: now,
  });
}
