/**
 * A route's authentication for one request: security.basicAuth and security.jwtAuth, each
 * skipped on its excludePaths. With both configured a request passes on either (it carries one
 * Authorization header); a refusal names every applicable scheme in its WWW-Authenticate.
 */
import type { RouteRuntime } from '../route-runtime.js';
import type { PathPattern } from '../../routing/index.js';

export type AuthVerdict = { ok: true } | { ok: false; challenge: string };

const exempt = (patterns: readonly PathPattern[], path: string): boolean => patterns.some((p) => p.match(path) !== undefined);

export function authorize(rt: RouteRuntime, authorization: string | undefined, path: string, nowMs: number): AuthVerdict {
  const basic = rt.basicAuth !== undefined && !exempt(rt.basicAuthExempt, path) ? rt.basicAuth : undefined;
  const jwt = rt.jwtAuth !== undefined && !exempt(rt.jwtAuthExempt, path) ? rt.jwtAuth : undefined;
  if (basic === undefined && jwt === undefined) return { ok: true };
  if (basic?.check(authorization)) return { ok: true };
  const token = jwt?.verify(authorization, nowMs);
  if (token?.ok) return { ok: true };
  const challenges: string[] = [];
  if (basic) challenges.push(basic.challenge);
  if (jwt) challenges.push(jwt.challenge(authorization !== undefined && /^Bearer\s/i.test(authorization)));
  return { ok: false, challenge: challenges.join(', ') };
}
