/**
 * Everything that touches Node's private surface, in one module. Each trick is behind a named
 * option (`nodeInternals` in the options, all resolved in core/options.ts) and has a fallback
 * that uses public APIs only:
 *
 * | option                  | what it touches                                   | fallback                         |
 * |-------------------------|---------------------------------------------------|----------------------------------|
 * | `acceptTakeover`        | the listening handle's `onconnection`, `new net.Socket({ handle })` | net.Server's 'connection' event |
 * | `directRead`            | socket `onread` (accepted sockets via the handle; backends via net.connect) | the Readable stream ('data') |
 * | `listenerSocketOptions` | the listening server's `_handle.setNoDelay/setKeepAlive` | setNoDelay/setKeepAlive per socket |
 * | `raiseMallocThresholds` | glibc's dynamic trim threshold (the host process!) | none: glibc's defaults           |
 *
 * The first three are on by default: the suite runs them, and their fallbacks, on every
 * supported Node line (test/core/node-internals.test.ts). The last changes the host process's
 * allocator and is off unless asked for.
 */
import * as net from 'node:net';
import { channel } from 'node:diagnostics_channel';
import { getSystemErrorName } from 'node:util';
import type { INodeInternalsOptions } from '../types.js';

/** Which of the tricks below are in use (see the table above). */
export type NodeInternalsOptions = Required<INodeInternalsOptions>;

export const NODE_INTERNALS_DEFAULTS: Readonly<NodeInternalsOptions> = Object.freeze({
  acceptTakeover: true,
  directRead: true,
  listenerSocketOptions: true,
  raiseMallocThresholds: false,
});

/** What every accepted client socket carries: Nagle off always; TCP keep-alive per the options. */
export interface AcceptedSocketOptions {
  /** TCP_NODELAY (options noDelay). */
  noDelay: boolean;
  keepAlive: boolean;
  /** Milliseconds; the kernel takes whole seconds (as Node's own setKeepAlive rounds them). */
  keepAliveInitialDelay: number;
}

// ---- accepted sockets built from the handle (acceptTakeover) ----

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
    options.noDelay = inherited.noDelay;
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

// ---- socket options set once on the listener (listenerSocketOptions) ----

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
  if (o.noDelay && handle.setNoDelay(true) !== 0) return false;
  if (o.keepAlive && handle.setKeepAlive(true, Math.trunc(o.keepAliveInitialDelay / 1000)) !== 0) return false;
  return true;
}

// ---- reads through onread (directRead) ----

/**
 * Node's default read path allocates a fresh 64 KiB buffer for every read, shrinks it to the
 * bytes read, wraps it in a Buffer and pushes it through the Readable machinery ('data',
 * then the relay's listener) before the relay writes it. With `onread`, the kernel's bytes
 * land in a buffer we choose and reach us as a plain callback.
 *
 * Where reads land:
 * - **The shared buffer.** One 64 KiB buffer serves every socket in the process: reads are
 *   delivered one at a time on the JS thread, and the callback copies the bytes out before it
 *   returns, so nothing points into it after a callback. Small reads (requests, responses,
 *   the tail of a transfer) copy into Node's pooled slab, cheaper than the default path's
 *   allocation.
 * - **A buffer of the socket's own, while a stream flows.** A read that fills the shared
 *   buffer means more is waiting. The socket's next reads then land in a 64 KiB buffer of
 *   its own, which is handed to the write as it is: no copy. When that write completes at
 *   once (the usual case), nothing holds the buffer and the next read reuses it; when the
 *   write is queued, the buffer belongs to it and a new one is made for the next full read.
 *   The first read that does not fill the buffer sends the socket back to the shared one.
 *   A socket whose last read before a long silence happened to fill the buffer keeps its
 *   64 KiB until its next read.
 */
const READ_BUFFER_BYTES = 64 * 1024;
let shared: Buffer | undefined;

function sharedBuffer(): Buffer {
  return (shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
}

/** The `nread` bytes the kernel put at the start of `buf`, in a Buffer of their own. */
function copyOut(nread: number, buf: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(nread);
  out.set(nread === buf.length ? buf : buf.subarray(0, nread));
  return out;
}

/**
 * The `onread` option of one socket of a relay.
 *
 * - A backend socket's reader is made with its destination (the client): every read is
 *   written there at once.
 * - An accepted client socket's reader (ports where every route relays, see
 *   listener/accept.ts) starts without one. Until `relayTo` names the backend, each read is
 *   pushed into the socket's own Readable stream, so the sniffer (or a socket handler or the
 *   HTTP layer, after a route change) sees an ordinary socket: 'data', pause() and resume()
 *   keep their meaning, and push()'s false stops the reads as Node's own read path does.
 *
 * When relaying, a destination that is gone (or already ended) takes nothing more: false stops
 * the reading socket. Otherwise false means the destination is full: Node then calls readStop
 * on the reading socket, and the relay resumes it on the destination's 'drain'.
 */
export class RelayReader implements net.OnReadOpts {
  /** Called by Node for the first read's buffer and again after every read. */
  readonly buffer: () => Uint8Array;
  readonly callback: (nread: number, buf: Uint8Array) => boolean;
  /** This socket's own read buffer while a stream flows; undefined: the shared one. */
  private own: Buffer | undefined = undefined;
  private socket: net.Socket | undefined = undefined;

  constructor(private to?: net.Socket) {
    this.buffer = () => this.own ?? sharedBuffer();
    this.callback = (nread, buf) => {
      const dest = this.to;
      if (dest === undefined) return this.socket?.push(copyOut(nread, buf)) ?? false;
      return this.relay(dest, nread, buf);
    };
  }

  /** The socket this reader serves, for reads before a relay takes it (set once, at accept). */
  attach(socket: net.Socket): void {
    this.socket = socket;
  }

  /** From the next read on, the bytes go to `to` and no longer surface as 'data'. */
  relayTo(to: net.Socket): void {
    this.to = to;
  }

  private relay(to: net.Socket, nread: number, buf: Uint8Array): boolean {
    if (to.destroyed || to.writableEnded) return false;
    const full = nread === buf.length;
    const own = this.own;
    if (buf !== own) {
      // In the shared buffer: copy out; after a full read, read on into a buffer of our own.
      if (full) this.own = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      return to.write(copyOut(nread, buf));
    }
    const ok = to.write(full ? own : own.subarray(0, nread));
    // Queued bytes are still in `own`: it belongs to that write now.
    const held = to.writableLength !== 0;
    if (!full) this.own = undefined;
    else if (held) this.own = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    return ok;
  }
}

// ---- glibc's trim threshold (raiseMallocThresholds) ----

/**
 * Keep glibc from handing relay buffers back to the kernel after every burst.
 *
 * Every socket read in Node gets a fresh buffer from malloc (64 KiB while data streams), freed
 * when V8 collects it. glibc returns free memory at the top of its heap to the kernel once it
 * exceeds M_TRIM_THRESHOLD (128 KiB by default), so a relay under load can trim after one batch
 * of freed buffers and fault the pages back in, one by one, for the next. Measured on the L4
 * bulk benchmark: 100,000-250,000 minor page faults per GiB relayed instead of ~10,000, and
 * 20-40 % more CPU, in runs where the heap happened to fall into that pattern.
 *
 * glibc raises the threshold by itself when a block it had to mmap is freed: M_MMAP_THRESHOLD
 * becomes that block's size and M_TRIM_THRESHOLD twice that (up to 32 MiB / 64 MiB on 64-bit).
 * Freeing one 31 MiB block therefore gives the same effect as
 * `GLIBC_TUNABLES=glibc.malloc.trim_threshold=...`, from inside the process. Nothing else
 * changes: the block is never written, so it never takes real memory. The cost is that up to
 * ~62 MiB of freed heap may stay mapped instead of being returned at once.
 *
 * A process that sets malloc thresholds itself (GLIBC_TUNABLES or mallopt) has glibc's
 * dynamic adjustment switched off, and this is then a no-op; other allocators ignore it.
 * The block goes back to malloc when V8 next collects it.
 */
const BLOCK_BYTES = 31 * 1024 * 1024;
let done = false;

export function raiseMallocThresholds(): void {
  if (done || process.platform !== 'linux') return;
  done = true;
  // Allocated uninitialised and dropped at once: free() runs when V8 collects the wrapper.
  Buffer.allocUnsafeSlow(BLOCK_BYTES);
}
