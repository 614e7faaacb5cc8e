export * from './types.js'; export { SmartProxyError, SmartProxyConfigError } from './core/errors.js';
