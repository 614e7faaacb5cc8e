import type * as net from 'node:net';

/**
 * Node's default read path allocates a fresh 64 KiB buffer for every read, shrinks it to the
 * bytes read, wraps it in a Buffer and pushes it through the Readable machinery ('data',
 * then pipe's ondata) before the relay writes it. With `onread`, the kernel's bytes land in
 * a buffer we own and reach us as a plain callback.
 *
 * One buffer serves every socket in the process: reads are delivered one at a time on the JS
 * thread, and the callback copies the bytes out before it returns, so nothing ever points
 * into the shared buffer after a callback (a write that does not finish at once keeps its
 * own copy). Small reads copy into Node's pooled slab, which is cheaper than the default
 * path's allocation; large ones cost one memcpy and save the stream bookkeeping.
 */
const READ_BUFFER_BYTES = 64 * 1024;
let shared: Buffer | undefined;

/**
 * The `onread` option for a backend socket whose bytes all go to `to`: each read is written to
 * `to` at once; when `to` is full the read side stops (Node calls readStop on a false return)
 * until the caller resumes the socket on `to`'s 'drain'.
 */
export function directReadInto(to: net.Socket): net.OnReadOpts {
  shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  return {
    buffer: shared,
    callback(nread: number, buf: Uint8Array): boolean {
      // A client that is gone (or already ended) takes nothing more: stop reading.
      if (to.destroyed || to.writableEnded) return false;
      const out = Buffer.allocUnsafe(nread);
      out.set(nread === buf.length ? buf : buf.subarray(0, nread));
      return to.write(out);
    },
  };
}
