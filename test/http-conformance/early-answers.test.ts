/**
 * The proxy's own early answers (401 Basic auth, 417 Expect, 403 blocked, 429 rate limit,
 * 404 no route): the connection is closed unless the whole body was read, and a body is
 * never parsed as a head: a body that looks like a request never reaches the backend nor gets
 * an answer of its own. Vectors: vectors.ts (EARLY_ANSWERS).
 */
import { forwardRoute, runTable } from './kit.js';
import { EARLY_ANSWERS, HOST, SOURCES } from './vectors.js';

runTable(
  'early answers: a refused request\'s body is never read as a request',
  {
    routes: ({ port, backends }) => [
      forwardRoute('app', port, HOST, backends.app!),
      forwardRoute('auth', port, 'auth.test', backends.app!, { security: { basicAuth: { users: [{ username: 'u', password: 'p' }] } } }),
      forwardRoute('blocked', port, 'blocked.test', backends.app!, { security: { ipBlockList: ['127.0.0.1'] } }),
      forwardRoute('limited', port, 'limited.test', backends.app!, { security: { rateLimit: { maxRequests: 1, windowSeconds: 60 } } }),
    ],
  },
  EARLY_ANSWERS,
  SOURCES,
);
