import type * as net from 'node:net';
import type { ConnectionRecord, TerminationReason } from '../connection/connection-record.js';

export function reasonFor(err: NodeJS.ErrnoException): TerminationReason {
  return err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'error';
}

/**
 * Relay bytes both ways between the client and the backend: the sniffed bytes are written
 * once first, then `pipe()` moves the rest with backpressure. TCP half-close is honoured
 * (both sockets are allowHalfOpen; a FIN on one side ends the other's writable side only).
 * An error or timeout on either side destroys both. `onDone` runs once, when both are closed.
 */
export function pump(record: ConnectionRecord, backend: net.Socket, initial: Buffer | undefined, onDone: () => void): void {
  const client = record.client;
  let open = 2;
  const closed = (): void => {
    if (--open === 0) onDone();
  };
  client.on('error', (err: NodeJS.ErrnoException) => {
    record.clientTermination ??= reasonFor(err);
    record.backendTermination ??= 'peer_closed';
    backend.destroy();
  });
  backend.on('error', (err: NodeJS.ErrnoException) => {
    record.backendTermination ??= reasonFor(err);
    record.clientTermination ??= 'peer_closed';
    client.destroy();
  });
  client.once('close', () => {
    record.clientTermination ??= 'closed';
    // The client is gone in both directions: nothing more can reach it.
    if (!backend.writableEnded) backend.end();
    closed();
  });
  backend.once('close', () => {
    record.backendTermination ??= 'closed';
    if (!client.writableEnded) client.end();
    closed();
  });
  if (initial && initial.length > 0) backend.write(initial);
  client.pipe(backend);
  backend.pipe(client);
  client.resume();
}
