/** Public exports only. */
export * from './types.js';
export { SmartProxy } from './smart-proxy.js';
export type { CloseReason, CloseSide } from './connection/close-reason.js';
export { CLOSE_REASONS } from './connection/close-reason.js';
export type {
  ISmartProxyEvents,
  IConnectionOpenEvent,
  IConnectionCloseEvent,
  IConnectionErrorEvent,
  IRouteMissEvent,
  ISecurityBlockedEvent,
} from './api/events.js';
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
