/**
 * The heap of the application a proxy is embedded in. A benchmark child that holds nothing but
 * the proxy has an old generation of a few MB, just above V8's 8 MB incremental-marking
 * threshold, where V8's limit heuristics fall into back-to-back major GCs (measured: 85-96
 * mark-compacts in 5 s of 64 KiB responses instead of 1) and the figure measures that heuristic,
 * not the proxy. Every Node HTTP target gets the same retained heap (env BENCH_APP_HEAP_MB,
 * default 24; 0 for none), as it would have inside an application.
 */
import { getHeapStatistics } from 'node:v8';

const held: unknown[] = [];

export function holdAppHeap(mb = Number(process.env.BENCH_APP_HEAP_MB ?? 24)): void {
  if (!(mb > 0)) return;
  const target = getHeapStatistics().used_heap_size + mb * 2 ** 20;
  let n = 0;
  while (getHeapStatistics().used_heap_size < target) {
    const block: Array<{ id: number; name: string }> = [];
    for (let i = 0; i < 10_000; i++, n++) block.push({ id: n, name: `entry-${n}` });
    held.push(block);
  }
}
