import type * as net from 'node:net';

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
