/**
 * Header rules and templates (`action.headers.request/response`: {path}, {query}, {url},
 * {host}, {domain}, {method}) never put CR, LF or NUL into a forwarded head, whatever the
 * client sent: percent-encoded bytes stay percent-encoded, raw ones are refused, and rule
 * values configured with them are refused by validation (or cleaned). Vectors: vectors.ts
 * (HEADER_INJECTION).
 */
import { forwardRoute, runTable } from './kit.js';
import { HEADER_INJECTION, REQUEST_RULES, RESPONSE_RULES, SOURCES } from './vectors.js';

runTable(
  'header injection: templates render client input without line breaks',
  {
    routes: ({ port, backends }) => [
      forwardRoute('app', port, '*', backends.app!, {}),
    ].map((r) => ({ ...r, action: { ...r.action, headers: { request: REQUEST_RULES, response: RESPONSE_RULES } } })),
  },
  HEADER_INJECTION,
  SOURCES,
);
