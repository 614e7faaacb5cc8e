import * as net from 'node:net';
import { channel } from 'node:diagnostics_channel';
import { getSystemErrorName } from 'node:util';
import type { AcceptedSocketOptions } from './socket-options.js';

/** Where net.Server announces each accepted socket to diagnostics subscribers (APM agents). */
const serverSocketChannel = channel('net.server.socket');

/** A connected TCP handle as libuv hands it to the listening handle (opaque here). */
export type AcceptedHandle = object;

/** Node's listening TCP handle, as far as this module uses it. */
interface ListeningHandle {
  onconnection?: (status: number, handle: AcceptedHandle | undefined) => void;
}

/**
 * Build the net.Socket of each accepted connection ourselves, so it can have options that
 * net.Server never passes, `onread` above all: net.Server builds every socket with Node's
 * default read path, which allocates a 64 KiB buffer and runs the Readable machinery per read.
 *
 * Node calls its listening handle's `onconnection(status, handle)` for every accept; net.Server
 * installs its own there, which wraps the handle in a net.Socket and emits 'connection'. This
 * replaces it for one server with `accepted`; a failed accept (status < 0: EMFILE, ENFILE...)
 * is emitted as the server's 'error', as Node does, and each socket is published on the
 * 'net.server.socket' diagnostics channel, as Node does. What net.Server's version does besides
 * is left out on purpose: its connection count (server.close()'s callback and getConnections()
 * would wait on sockets it does not know; nothing here uses either), maxConnections (unset) and
 * the 'drop' event that goes with it.
 *
 * Call it once the server listens. Returns false, leaving the server as it was, when its
 * handle does not have the expected shape (the 'connection' event then keeps working).
 */
export function takeOverAccept(server: net.Server, accepted: (handle: AcceptedHandle) => void): boolean {
  const listening = (server as unknown as { _handle?: ListeningHandle | null })._handle;
  if (!listening || typeof listening.onconnection !== 'function') return false;
  listening.onconnection = (status, handle) => {
    if (status < 0 || handle === undefined) {
      server.emit('error', acceptError(status));
      return;
    }
    accepted(handle);
  };
  return true;
}

/**
 * The net.Socket of an accepted handle: half-open capable and paused (not reading until its
 * first resume()), as net.createServer({ allowHalfOpen: true, pauseOnConnect: true }) builds it,
 * reading through `onread` when given. `inherited`: the options the kernel already set on the
 * socket (see socket-options.ts setOnListener). The constructor only records them, so Node's
 * own view matches the kernel and a later setNoDelay(false) / setKeepAlive(false) by user
 * code takes effect, at no syscall now.
 */
export function socketFor(handle: AcceptedHandle, onread: net.OnReadOpts | undefined, inherited: AcceptedSocketOptions | undefined): net.Socket {
  // `handle`, `pauseOnCreate` and `onread` are read by the constructor (net.Server passes the first
  // two the same way) but are missing from its published option type; so are `noDelay`,
  // `keepAlive` and `keepAliveInitialDelay`, which it reads to set its view of the options.
  const options: net.SocketConstructorOpts & {
    handle: AcceptedHandle;
    pauseOnCreate: boolean;
    onread: net.OnReadOpts | undefined;
    noDelay?: boolean;
    keepAlive?: boolean;
    keepAliveInitialDelay?: number;
  } = { handle, allowHalfOpen: true, pauseOnCreate: true, readable: true, writable: true, onread };
  if (inherited) {
    options.noDelay = true;
    options.keepAlive = inherited.keepAlive;
    options.keepAliveInitialDelay = inherited.keepAliveInitialDelay;
  }
  const socket = new net.Socket(options);
  if (serverSocketChannel.hasSubscribers) serverSocketChannel.publish({ socket });
  return socket;
}

function acceptError(status: number): NodeJS.ErrnoException {
  let code = 'UNKNOWN';
  try {
    code = getSystemErrorName(status);
  } catch {
    // not a libuv error number
  }
  const err: NodeJS.ErrnoException = new Error(`accept ${code}`);
  err.code = code;
  err.errno = status;
  err.syscall = 'accept';
  return err;
}
