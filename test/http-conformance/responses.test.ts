/**
 * What a client gets from a backend's response: Content-Length next to Transfer-Encoding is
 * dropped (chunked wins, RFC 9112 6.3), chunked never reaches an HTTP/1.0 client, 1xx / 204 /
 * 304 and HEAD responses carry no body (their stray bytes never become the next response),
 * an unsolicited or mismatched 101 becomes 502, malformed response heads become 502.
 * Vectors: vectors.ts (RESPONSES), each with the backend's scripted answer.
 */
import { forwardRoute, runTable } from './kit.js';
import { HOST, RESPONSES, SOURCES } from './vectors.js';

runTable(
  'responses: framing the client can trust',
  { routes: ({ port, backends }) => [forwardRoute('app', port, HOST, backends.app!)] },
  RESPONSES,
  SOURCES,
);
