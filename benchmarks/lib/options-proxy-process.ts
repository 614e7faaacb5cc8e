/** A SmartProxy with caller-chosen options in its own process (options-proxy-child). */
import type { BenchProxyOptions } from './smartproxy-module.js';
import { forkProxyChild, type IChildProxyUnderTest } from './proxy-process.js';
import { siblingScript } from './net-util.js';

export type IConfiguredProxy = IChildProxyUnderTest;

const CHILD = siblingScript(import.meta.dirname, 'options-proxy-child');

/** Starts SmartProxy (one forward route to targetPort) with `options` in a child process. */
export function startConfiguredSmartProxy(targetPort: number, options: BenchProxyOptions, name: string, protocol?: 'tcp' | 'http'): Promise<IConfiguredProxy> {
  return forkProxyChild(CHILD, { targetPort, options, protocol }, name);
}
