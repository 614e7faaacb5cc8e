import type * as net from 'node:net';

/** What every accepted client socket carries: Nagle off always; TCP keep-alive per the options. */
export interface AcceptedSocketOptions {
  keepAlive: boolean;
  /** Milliseconds; the kernel takes whole seconds (as Node's own setKeepAlive rounds them). */
  keepAliveInitialDelay: number;
}

/** The two methods of Node's TCP handle this module uses (both return a libuv status, 0 = ok). */
interface TcpHandle {
  setNoDelay?(enable: boolean): number;
  setKeepAlive?(enable: boolean, delaySeconds: number): number;
}

/**
 * Put the accepted-socket options on the listening socket itself, so the kernel hands every
 * accepted socket over with them already set: on Linux a socket returned by accept() is a
 * clone of the listener and inherits SO_KEEPALIVE, TCP_KEEPIDLE / KEEPINTVL / KEEPCNT and
 * TCP_NODELAY, and its keep-alive timer is armed at birth. That saves five setsockopt calls
 * (and their trips through the socket wrapper) per connection.
 *
 * Node has no public API for options on a listening socket; the listening server's TCP
 * handle has the same two methods as a connected one. Returns false (the caller then sets the
 * options on each accepted socket) off Linux, when the handle is not a TCP handle with those
 * methods, or when the kernel refuses.
 *
 * A net.Socket does not know its options were inherited unless it is told: it would believe
 * Nagle and keep-alive are at their defaults, and its setNoDelay(false) / setKeepAlive(false)
 * would be no-ops. Accepted sockets are therefore built with the options as their own view
 * (accept.ts socketFor); the listener relies on inheritance only where it builds them.
 */
export function setOnListener(server: net.Server, o: AcceptedSocketOptions): boolean {
  if (process.platform !== 'linux') return false;
  const handle = (server as unknown as { _handle?: TcpHandle | null })._handle;
  if (!handle || typeof handle.setNoDelay !== 'function' || typeof handle.setKeepAlive !== 'function') return false;
  if (handle.setNoDelay(true) !== 0) return false;
  if (o.keepAlive && handle.setKeepAlive(true, Math.trunc(o.keepAliveInitialDelay / 1000)) !== 0) return false;
  return true;
}

/** The per-socket way, for listeners whose sockets do not inherit the options. */
export function setOnSocket(socket: net.Socket, o: AcceptedSocketOptions): void {
  socket.setNoDelay(true);
  if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay);
}
