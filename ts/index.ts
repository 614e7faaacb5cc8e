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
  createWebSocketRoute,
  type Domains,
  type RouteCertificate,
  type RouteOptions,
  type HttpsTerminateOptions,
  type HttpsPassthroughOptions,
  type RedirectRouteOptions,
  type CompleteHttpsServerOptions,
  type LoadBalancerOptions,
  type SocketHandler,
  type SocketHandlerRouteOptions,
  type WebSocketRouteOptions,
} from './api/route-helpers.js';
export {
  createPortRange,
  createPortMappingRoute,
  createOffsetPortMappingRoute,
  type PortMappingRouteOptions,
  type OffsetPortMappingRouteOptions,
} from './api/port-helpers.js';
export { SocketHandlers, type SocketHandlerFn, type IHttpServerRequest, type IHttpServerResponse } from './api/socket-handlers.js';
export {
  createCertificateAuthority,
  createSignedCertificate,
  createSelfSignedCertificate,
  type IPemPair,
  type ICertificateAuthorityOptions,
  type ISignedCertificateOptions,
} from './tls/self-signed.js';
export type { ICertificateStatus, ICertificateEventInfo, CertificateSource } from './tls/cert-store.js';
