import type * as net from 'node:net';
import type { ConnectionRecord, TerminationReason } from '../connection/connection-record.js';

export function reasonFor(err: NodeJS.ErrnoException): TerminationReason {
  return err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'error';
}

/**
 * Forward a FIN: end `socket`'s writable side. When its peer has already sent its own FIN and
 * nothing is queued, the connection is finished both ways, and close() alone sends the FIN:
 * that skips the shutdown() call, libuv's deferred request for it and the 'finish' callbacks
 * (the socket would be closed right after anyway).
 */
export function endOrClose(socket: net.Socket): void {
  if (socket.writableEnded || socket.destroyed) return;
  if (socket.readableEnded && socket.writableLength === 0) socket.destroy();
  else socket.end();
}

/**
 * Relay bytes both ways between the client and the backend, with backpressure each way.
 *
 * - client -> backend: with a RelayReader (ports where every route relays), the client's
 *   reads are written to the backend as they arrive, like the backend's to the client;
 *   otherwise each 'data' chunk is. Bytes already in the client's stream still come as
 *   'data', before any later read. A full backend stops the client until its 'drain'. The
 *   sniffed bytes go first, exactly once.
 * - backend -> client: the backend socket was connected with `new RelayReader(client)`, so
 *   its reads are already written to the client by the time they surface; a full client
 *   stops the backend's reads, and the client's 'drain' resumes them.
 *
 * Two listeners and a write per chunk instead of `pipe()`'s eight listeners per direction.
 * TCP half-close is honoured (both sockets are allowHalfOpen; a FIN on one side ends the
 * other's writable side only). An error on either side destroys both. `onDone` runs once,
 * when both are closed.
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
    endOrClose(backend);
    closed();
  });
  backend.once('close', () => {
    record.backendTermination ??= 'closed';
    endOrClose(client);
    closed();
  });
  if (initial && initial.length > 0) backend.write(initial);
  // FIN from one side: end the other's writable side after what was read has been written.
  // The client's FIN may have come with its first bytes, before this relay existed.
  const endBackend = (): void => endOrClose(backend);
  if (client.readableEnded) endBackend();
  else client.once('end', endBackend);
  backend.once('end', () => endOrClose(client));
  record.clientReader?.relayTo(backend);
  client.on('data', (chunk: Buffer) => {
    if (!backend.write(chunk)) client.pause();
  });
  backend.on('drain', () => client.resume());
  client.on('drain', () => {
    if (!backend.readableEnded) backend.resume();
  });
  client.resume();
}
