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
