/** Public exports only. */
export * from './types.js';
export { SmartProxy } from './smart-proxy.js';
export { SmartProxyError, SmartProxyConfigError, type SmartProxyErrorCode } from './core/errors.js';
export {
  createHttpRoute,
  createHttpsTerminateRoute,
  createHttpsPassthroughRoute,
  createHttpToHttpsRedirect,
  createCompleteHttpsServer,
  createLoadBalancerRoute,
  createSocketHandlerRoute,
} from './api/route-helpers.js';
export { SocketHandlers } from './api/socket-handlers.js';
export type { ICertificateStatus, ICertificateEventInfo, CertificateSource } from './tls/cert-store.js';
