/**
 * Request framing through the proxy: CL.TE, TE.CL and TE.TE (PortSwigger's obfuscations and
 * Burp's permutations), the Content-Length and chunked grammars, and head syntax (line
 * endings, folding, control bytes, field names, the request line), vectors from the HTTP
 * Garden's findings included. Each row: the client's answer, the close, and exactly what the
 * backend got, re-read by llhttp. Vectors: vectors.ts (REQUEST_FRAMING).
 */
import { forwardRoute, runTable } from './kit.js';
import { HOST, REQUEST_FRAMING, SOURCES } from './vectors.js';

runTable(
  'request framing: smuggling vectors are refused or normalised, never passed on ambiguous',
  { routes: ({ port, backends }) => [forwardRoute('app', port, HOST, backends.app!)] },
  REQUEST_FRAMING,
  SOURCES,
);
