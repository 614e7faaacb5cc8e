import type * as net from 'node:net';

/**
 * Node's default read path allocates a fresh 64 KiB buffer for every read, shrinks it to the
 * bytes read, wraps it in a Buffer and pushes it through the Readable machinery ('data',
 * then the relay's listener) before the relay writes it. With `onread`, the kernel's bytes
 * land in a buffer we own and reach us as a plain callback.
 *
 * One buffer serves every socket in the process: reads are delivered one at a time on the JS
 * thread, and the callback copies the bytes out before it returns, so nothing ever points
 * into the shared buffer after a callback (a write that does not finish at once keeps its
 * own copy). Small reads copy into Node's pooled slab, which is cheaper than the default
 * path's allocation; large ones cost one memcpy and save the stream bookkeeping.
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
 * One read relayed to `to`. A destination that is gone (or already ended) takes nothing more:
 * false stops the reading socket. Otherwise false means `to` is full: Node then calls
 * readStop on the reading socket, and the relay resumes it on `to`'s 'drain'.
 */
function relayRead(to: net.Socket, nread: number, buf: Uint8Array): boolean {
  if (to.destroyed || to.writableEnded) return false;
  return to.write(copyOut(nread, buf));
}

/** The `onread` option for a backend socket whose bytes all go to `to`. */
export function directReadInto(to: net.Socket): net.OnReadOpts {
  return { buffer: sharedBuffer(), callback: (nread, buf) => relayRead(to, nread, buf) };
}

/**
 * The `onread` option of an accepted client socket (see listener/accept.ts), for ports where
 * every route relays bytes. Until a relay takes the socket over, each read is pushed into the
 * socket's own Readable stream, so the sniffer (or anything else that reads it first) sees an
 * ordinary socket: 'data', pause() and resume() keep their meaning, and push()'s false stops
 * the reads exactly as Node's own read path does. Once `relayTo` names a destination, reads
 * are written straight to it, as a backend's are to the client.
 */
export class ClientReader implements net.OnReadOpts {
  readonly buffer: Uint8Array = sharedBuffer();
  readonly callback: (nread: number, buf: Uint8Array) => boolean;
  private socket: net.Socket | undefined = undefined;
  private to: net.Socket | undefined = undefined;

  constructor() {
    this.callback = (nread, buf) => {
      const to = this.to;
      if (to !== undefined) return relayRead(to, nread, buf);
      return this.socket?.push(copyOut(nread, buf)) ?? false;
    };
  }

  /** The socket this reader serves (set once, right after the socket is built around it). */
  attach(socket: net.Socket): void {
    this.socket = socket;
  }

  /** From the next read on, the bytes go to `to` and no longer surface as 'data'. */
  relayTo(to: net.Socket): void {
    this.to = to;
  }
}
