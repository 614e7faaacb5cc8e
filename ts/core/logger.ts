import { pino } from 'pino';
import type { ILogger } from '../types.js';

/** The default logger: pino at `info` to stderr, `silent` when NODE_ENV=test. */
export function createDefaultLogger(): ILogger {
  const level = process.env.NODE_ENV === 'test' ? 'silent' : 'info';
  return pino({ name: 'smartproxy', level }, pino.destination(2)) as unknown as ILogger;
}
