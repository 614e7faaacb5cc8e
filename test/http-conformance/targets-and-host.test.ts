/**
 * Request targets and Host as a routing-bypass surface. Three routes on one port:
 * public.test (open), admin.test (ipBlockList blocks the test client: every request that
 * reaches it gets 403) and auth.test (Basic auth: 401 without credentials), each with its own
 * recording backend. An absolute-form target is routed by its authority and forwarded with
 * that authority as Host (RFC 9112 3.2.2), so Host can never steer a request past the admin
 * route's guards; userinfo, CONNECT, a missing/duplicate/invalid Host are refused.
 * Vectors: vectors.ts (TARGETS_AND_HOST).
 */
import { forwardRoute, runTable } from './kit.js';
import { SOURCES, TARGETS_AND_HOST } from './vectors.js';

runTable(
  'targets and Host: routed by the authority, forwarded with it, guards never bypassed',
  {
    backends: ['public', 'admin', 'auth'],
    routes: ({ port, backends }) => [
      forwardRoute('public', port, 'public.test', backends.public!),
      forwardRoute('admin', port, 'admin.test', backends.admin!, { security: { ipBlockList: ['127.0.0.1'] } }),
      forwardRoute('auth', port, 'auth.test', backends.auth!, { security: { basicAuth: { users: [{ username: 'u', password: 'p' }] } } }),
    ],
  },
  TARGETS_AND_HOST,
  SOURCES,
);
