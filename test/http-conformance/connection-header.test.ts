/**
 * Fields listed in Connection (RFC 9110 7.6.1) are hop-by-hop and removed, except the ones
 * whose removal would change the message: a listed Content-Length or Transfer-Encoding is
 * never stripped (its body would be read as the next request: Burp's "connection"
 * permutation), and a listed Host never leaves the request without one. Vectors: vectors.ts
 * (CONNECTION_HEADER).
 */
import { forwardRoute, runTable } from './kit.js';
import { CONNECTION_HEADER, HOST, SOURCES } from './vectors.js';

runTable(
  'Connection header: listed framing fields and Host survive, other listed fields go',
  { routes: ({ port, backends }) => [forwardRoute('app', port, HOST, backends.app!)] },
  CONNECTION_HEADER,
  SOURCES,
);
