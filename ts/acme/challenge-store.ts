/**
 * HTTP-01 challenge answers: token -> key authorization, set while an order's challenge is
 * being validated, and the socket handler that answers `GET /.well-known/acme-challenge/<token>`.
 */
import type * as net from 'node:net';
import { withRequestHead, writeHttpResponse } from '../engines/http/one-shot.js';

export const CHALLENGE_PATH_PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** The token of a challenge request path (`?query` ignored), or undefined when the path is not one. */
export function challengeToken(target: string): string | undefined {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (!path.startsWith(CHALLENGE_PATH_PREFIX)) return undefined;
  const token = path.slice(CHALLENGE_PATH_PREFIX.length);
  return TOKEN.test(token) ? token : undefined;
}

export class ChallengeStore {
  readonly #answers = new Map<string, string>();

  set(token: string, keyAuthorization: string): void {
    this.#answers.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#answers.delete(token);
  }

  get(token: string): string | undefined {
    return this.#answers.get(token);
  }

  get size(): number {
    return this.#answers.size;
  }

  /** Socket handler: 200 with the key authorization for a known token (GET/HEAD), else 404 / 405. */
  readonly handler = (socket: net.Socket): void => {
    withRequestHead(socket, (head) => {
      const token = challengeToken(head.path);
      const answer = token === undefined ? undefined : this.#answers.get(token);
      if (answer === undefined) {
        writeHttpResponse(socket, 404, { 'Content-Type': 'text/plain' }, 'Not Found');
      } else if (head.method !== 'GET' && head.method !== 'HEAD') {
        writeHttpResponse(socket, 405, { Allow: 'GET, HEAD' });
      } else {
        writeHttpResponse(socket, 200, { 'Content-Type': 'text/plain' }, head.method === 'HEAD' ? '' : answer);
      }
    });
  };
}
