/**
 * The SmartProxy under test, for every benchmark child: the built package (dist_ts/index.js)
 * or the module named by BENCH_SMARTPROXY_MODULE, and a silent logger.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './net-util.js';
import type { ILogger, IMetrics, ISmartProxyOptions } from '../../ts/types.js';

export interface ISmartProxyLike {
  start(): Promise<void>;
  stop(): Promise<void>;
  getStats(): IMetrics;
}
export type SmartProxyCtor = new (options: ISmartProxyOptions) => ISmartProxyLike;

export const silentLogger: ILogger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

export async function loadSmartProxy(): Promise<SmartProxyCtor> {
  const file = process.env.BENCH_SMARTPROXY_MODULE ?? resolve(REPO_ROOT, 'dist_ts/index.js');
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { SmartProxy?: SmartProxyCtor };
  if (typeof mod.SmartProxy !== 'function') throw new Error(`${file} does not export SmartProxy`);
  return mod.SmartProxy;
}
