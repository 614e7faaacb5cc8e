/**
 * Leak checks and bounded waiting. TCP handles are counted from
 * `process.getActiveResourcesInfo()` (TCPSocketWrap, TCPServerWrap, ConnectWrap).
 */

const TCP_RESOURCES = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TCPWrap', 'ConnectWrap', 'PipeConnectWrap']);

/** Active resources of this process, counted by type (e.g. `{ TCPSocketWrap: 2, Timeout: 1 }`). */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** Number of TCP sockets, servers and pending connects alive in this process. */
export function tcpHandleCount(): number {
  let n = 0;
  for (const name of process.getActiveResourcesInfo()) if (TCP_RESOURCES.has(name)) n++;
  return n;
}

export interface IWaitOptions {
  /** Poll interval. Default 10 ms. */
  intervalMs?: number;
  /** Text for the timeout error, or a function producing it at timeout. */
  message?: string | (() => string);
}

/** Polls `predicate` until it holds; rejects after `timeoutMs` (default 5000). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  opts: IWaitOptions = {},
): Promise<void> {
  const interval = opts.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      const m = typeof opts.message === 'function' ? opts.message() : opts.message;
      throw new Error(`waitFor: condition not met within ${timeoutMs} ms${m ? `: ${m}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Waits until the TCP handle count is back at (or below) `baseline`; rejects
 * with the resource breakdown after `timeoutMs` (default 5000).
 */
export function waitForTcpBaseline(baseline: number, timeoutMs = 5000): Promise<void> {
  return waitFor(() => tcpHandleCount() <= baseline, timeoutMs, {
    message: () =>
      `TCP handles ${tcpHandleCount()} > baseline ${baseline}; active: ${JSON.stringify(activeResources())}`,
  });
}

export interface ITcpLeakTracker {
  /** TCP handle count when the tracker was made. */
  readonly baseline: number;
  /** Resolves once the count is back at the baseline; rejects with details after `timeoutMs`. */
  check(timeoutMs?: number): Promise<void>;
}

/** Records the current TCP handle count; `check()` later waits for it to come back. */
export function trackTcpHandles(): ITcpLeakTracker {
  const baseline = tcpHandleCount();
  return { baseline, check: (timeoutMs?: number) => waitForTcpBaseline(baseline, timeoutMs) };
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
