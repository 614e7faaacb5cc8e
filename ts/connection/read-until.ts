import type * as net from 'node:net';

export type ReadFailure = 'timeout' | 'closed' | 'too_large';

/**
 * Read the first bytes of a connection until `parse` reaches a decision, bounded by
 * `timeoutMs` (initialDataTimeout: also for a client that sent some bytes but not enough)
 * and by `maxBytes`. The socket is paused again afterwards with nothing consumed but the
 * returned buffer, which the caller replays exactly once. Listeners are removed on every path.
 */
export function readUntilDecided<T extends { kind: string }>(
  socket: net.Socket,
  initial: Buffer | undefined,
  parse: (buf: Buffer) => T,
  opts: { timeoutMs: number; maxBytes: number },
  done: (failure: ReadFailure | undefined, result: T | undefined, buffer: Buffer) => void,
): void {
  let buffer = initial ?? Buffer.alloc(0);
  let finished = false;
  const finish = (failure: ReadFailure | undefined, result: T | undefined): void => {
    if (finished) return;
    finished = true;
    socket.pause();
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onEnd);
    socket.removeListener('timeout', onTimeout);
    socket.setTimeout(0);
    done(failure, result, buffer);
  };
  const decide = (): boolean => {
    if (buffer.length === 0) return false;
    const r = parse(buffer);
    if (r.kind !== 'need-more') {
      finish(undefined, r);
      return true;
    }
    if (buffer.length >= opts.maxBytes) {
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
  const onTimeout = (): void => finish('timeout', undefined);
  if (decide()) return;
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.setTimeout(opts.timeoutMs);
  socket.once('timeout', onTimeout);
  socket.resume();
}
