/**
 * Limits: a request-target over the limit gets 414, a header section over the limit or with
 * too many fields 431, oversized chunk extensions and trailers a 4xx, a head that does not
 * complete within headersTimeout 408 (however steadily it trickles); heads well under the
 * limits are forwarded whole. Vectors: vectors.ts (LIMITS).
 */
import { forwardRoute, runTable } from './kit.js';
import { HOST, LIMITS, SOURCES } from './vectors.js';

runTable(
  'limits: 414, 431, 408, and nothing forwarded past them',
  { routes: ({ port, backends }) => [forwardRoute('app', port, HOST, backends.app!)] },
  LIMITS,
  SOURCES,
);
