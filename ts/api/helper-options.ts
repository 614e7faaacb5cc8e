/**
 * Validation of route helper arguments: every option a helper takes is listed; anything else
 * (a typo, an option of another helper, one this proxy would ignore) is a config error naming
 * the helper and the field, with the nearest known one suggested. The routes a helper builds
 * are validated again by the route compiler like any other.
 */
import type { IRouteAction, IRouteConfig, IRouteMatch } from '../types.js';
import { configError, describeValue, unknownFieldProblem } from '../core/errors.js';

/**
 * The fields of a route a helper's options may carry (19.x helpers took `Partial<IRouteConfig>`):
 * merged into the route built, `match` and `action` one level deep.
 */
export type RouteOptions = Partial<Omit<IRouteConfig, 'match' | 'action'>> & {
  match?: Partial<IRouteMatch>;
  action?: Partial<IRouteAction>;
};

export const ROUTE_OPTION_KEYS = ['name', 'id', 'description', 'tags', 'priority', 'enabled', 'match', 'action', 'security', 'headers'] as const;

/** Throws for the first key of `options` that `helper` does not take. */
export function checkHelperOptions(helper: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(`${helper}(options)`, `must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw configError(`${helper}(options).${key}`, unknownFieldProblem(key, allowed));
  }
}

/** A number argument (a port) given as something else says what it got. */
export function checkPortArg(helper: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw configError(`${helper}(${name})`, `must be a port (an integer 1..65535), got ${describeValue(v)}`);
  }
}

/** The route-config fields of `options`, merged over a helper's route. */
export function applyRouteOptions(route: IRouteConfig, options: RouteOptions): IRouteConfig {
  const out: IRouteConfig = { ...route, match: { ...route.match, ...options.match }, action: { ...route.action, ...options.action } };
  for (const k of ['name', 'id', 'description', 'tags', 'priority', 'enabled', 'security', 'headers'] as const) {
    if (options[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = options[k];
  }
  return out;
}
