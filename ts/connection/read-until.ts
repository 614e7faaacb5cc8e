import type * as net from 'node:net';

export type ReadFailure = 'closed' | 'too_large';

/** Stops a read in progress (its deadline fired): no callback follows. */
export type CancelRead = () => void;

/**
 * Read the first bytes of a connection until `parse` reaches a decision, bounded by `maxBytes`.
 * The socket is paused again afterwards with nothing consumed but the returned buffer, which
 * the caller replays exactly once. Listeners are removed on every path. There is no timer here:
 * the caller's deadline (a connection record's initial-data or head deadline) bounds the wait
 * and cancels the read when it fires.
 */
export function readUntilDecided<T extends { kind: string }>(
  socket: net.Socket,
  initial: Buffer | undefined,
  parse: (buf: Buffer) => T,
  maxBytes: number,
  done: (failure: ReadFailure | undefined, result: T | undefined, buffer: Buffer) => void,
): CancelRead {
  let buffer = initial ?? Buffer.alloc(0);
  let finished = false;
  const stop = (): void => {
    finished = true;
    socket.pause();
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onEnd);
  };
  const finish = (failure: ReadFailure | undefined, result: T | undefined): void => {
    if (finished) return;
    stop();
    done(failure, result, buffer);
  };
  const decide = (): boolean => {
    if (buffer.length === 0) return false;
    const r = parse(buffer);
    if (r.kind !== 'need-more') {
      finish(undefined, r);
      return true;
    }
    if (buffer.length >= maxBytes) {
      finish('too_large', undefined);
      return true;
    }
    return false;
  };
  const onData = (chunk: Buffer): void => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    decide();
  };
  const onEnd = (): void => finish('closed', undefined);
  if (decide()) return stop;
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.resume();
  return () => {
    if (!finished) stop();
  };
}
