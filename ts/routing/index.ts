/** Routing: matchers, route compilation, the indexed route table and route helpers. */
export { compileRoutes, RouteTable, type CompileOptions, type CompiledRoute, type MatchInput, type MatchResult } from './route-table.js';
export { RouteManager } from './route-manager.js';
export { linearMatch, compareRoutes } from './selection.js';
export { compileIpMatcher, normalizeIp, type IpMatcher, type ParsedIpMatcher } from './matchers/ip.js';
export { normalizeDomain, compileDomainMatcher, type DomainMatcher } from './matchers/domain.js';
export { compilePathPattern, type PathPattern, type PathMatch } from './matchers/path.js';
export { compilePorts, portsMatch, type PortRanges } from './matchers/port.js';
export { compileHeaderMatcher, type HeaderMatcher } from './matchers/header.js';
export { compileTlsVersions, TLS_VERSIONS } from './matchers/tls-version.js';
