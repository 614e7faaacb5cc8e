/** ACME as the proxy facade wires it: the service and the internal challenge route sharing one ChallengeStore. */
import type { Clock } from '../core/clock.js';
import type { ResolvedAcmeOptions } from '../core/options.js';
import type { Ticker } from '../core/ticker.js';
import type { IRouteConfig, ILogger } from '../types.js';
import { AcmeService, type AcmeOutcome } from './acme-service.js';
import { createChallengeRoute } from './challenge-route.js';
import { ChallengeStore } from './challenge-store.js';

export { withChallengeRoute, ACME_CHALLENGE_ROUTE_NAME } from './challenge-route.js';
export type { AcmeService, AcmeOutcome };

export interface Acme {
  readonly service: AcmeService;
  /** Appended to the user's routes while any of them needs an ACME certificate (withChallengeRoute). */
  readonly challengeRoute: IRouteConfig;
}

export function createAcme(deps: {
  options: ResolvedAcmeOptions;
  logger: ILogger;
  clock: Clock;
  ticker: Ticker;
  onUpdate(key: string, outcome: AcmeOutcome): void;
}): Acme {
  const challenges = new ChallengeStore();
  return {
    service: new AcmeService({ ...deps, challenges }),
    challengeRoute: createChallengeRoute(deps.options.port, challenges),
  };
}
