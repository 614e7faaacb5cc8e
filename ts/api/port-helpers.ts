/**
 * Port range and port mapping helpers with the signatures of @push.rocks/smartproxy 19.6:
 * a range of listening ports forwarded to a port computed per connection.
 */
import type { IRouteConfig, IRouteContext, IRouteTarget, PortRange, PortSpec } from '../types.js';
import { configError, describeValue } from '../core/errors.js';
import { applyRouteOptions, checkHelperOptions, checkPortArg, ROUTE_OPTION_KEYS, type RouteOptions } from './helper-options.js';
import { routeName } from './route-helpers.js';

/**
 * Listening ports for `match.ports`, in the forms 19.6 took:
 * - `createPortRange(8000, 8100)`: `[{ from: 8000, to: 8100 }]`;
 * - `createPortRange('8000-8100')`: the same; `'80,443'`: `[80, 443]`; `'8080'`: `8080`;
 * - a number, a list or a range object: returned as given (checked).
 */
export function createPortRange(start: number, end: number): PortRange[];
export function createPortRange(ports: number | number[] | string | PortRange | PortRange[]): PortSpec;
export function createPortRange(ports: number | number[] | string | PortRange | PortRange[], end?: number): PortSpec {
  const helper = 'createPortRange';
  if (end !== undefined) {
    checkPortArg(helper, 'start', ports);
    checkPortArg(helper, 'end', end);
    if (end < (ports as number)) throw configError(`${helper}(end)`, `${end} is below start ${String(ports)}`);
    return [{ from: ports as number, to: end }];
  }
  if (typeof ports === 'string') return parsePortText(ports);
  if (typeof ports === 'number') {
    checkPortArg(helper, 'ports', ports);
    return ports;
  }
  if (Array.isArray(ports)) {
    ports.forEach((p: number | PortRange, i) => (typeof p === 'number' ? checkPortArg(helper, `ports[${i}]`, p) : checkRange(p, `ports[${i}]`)));
    return ports as PortSpec;
  }
  checkRange(ports, 'ports');
  return [ports];
}

function checkRange(r: unknown, name: string): void {
  const o = r as PortRange;
  if (typeof r !== 'object' || r === null) throw configError(`createPortRange(${name})`, `must be a port or { from, to }, got ${describeValue(r)}`);
  checkPortArg('createPortRange', `${name}.from`, o.from);
  checkPortArg('createPortRange', `${name}.to`, o.to);
  if (o.to < o.from) throw configError(`createPortRange(${name}).to`, `${o.to} is below from ${o.from}`);
}

/** '8000-8100', '80,443' (items may be ranges: '80,8000-8010') or '8080'. */
function parsePortText(text: string): PortSpec {
  const items = text.split(',').map((s) => s.trim());
  const out: Array<number | PortRange> = items.map((item) => {
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(item);
    if (!m) throw configError('createPortRange(ports)', `'${text}' is not a port list ('8080', '80,443' or '8000-8100')`);
    const from = Number(m[1]);
    checkPortArg('createPortRange', 'ports', from);
    if (m[2] === undefined) return from;
    const to = Number(m[2]);
    checkPortArg('createPortRange', 'ports', to);
    if (to < from) throw configError('createPortRange(ports)', `'${item}': ${to} is below ${from}`);
    return { from, to };
  });
  if (out.length === 1) return typeof out[0] === 'number' ? out[0] : [out[0]!];
  return out;
}

export interface PortMappingRouteOptions extends Omit<RouteOptions, 'match'> {
  /** The listening ports (a port, a list, or ranges such as createPortRange(8000, 8100)). */
  sourcePortRange: PortSpec;
  targetHost: IRouteTarget['host'];
  /** The backend port for a connection (ctx.port is the port it arrived on). */
  portMapper: (ctx: IRouteContext) => number;
  domains?: string | string[];
}

const MAPPING_KEYS = ROUTE_OPTION_KEYS.filter((k) => k !== 'match');

/** Forwards each connection on `sourcePortRange` to `targetHost` at the port `portMapper` picks. */
export function createPortMappingRoute(options: PortMappingRouteOptions): IRouteConfig {
  const helper = 'createPortMappingRoute';
  checkHelperOptions(helper, options, [...MAPPING_KEYS, 'sourcePortRange', 'targetHost', 'portMapper', 'domains']);
  const { sourcePortRange, targetHost, portMapper, domains, ...rest } = options;
  if (sourcePortRange === undefined) throw configError(`${helper}(options).sourcePortRange`, 'is required');
  if (targetHost === undefined) throw configError(`${helper}(options).targetHost`, 'is required');
  if (typeof portMapper !== 'function') throw configError(`${helper}(options).portMapper`, `must be a function (ctx) => port, got ${describeValue(portMapper)}`);
  const route: IRouteConfig = {
    match: domains !== undefined ? { ports: sourcePortRange, domains } : { ports: sourcePortRange },
    action: { type: 'forward', target: { host: targetHost, port: portMapper } },
  };
  const out = applyRouteOptions(route, rest);
  out.name ??= routeName('port-mapping', domains, sourcePortRange);
  return out;
}

export interface OffsetPortMappingRouteOptions extends Omit<RouteOptions, 'match'> {
  ports: PortSpec;
  targetHost: IRouteTarget['host'];
  /** Added to the arrival port: 8000 + 1000 -> 9000. */
  offset: number;
  domains?: string | string[];
}

/** Forwards port N of `ports` to `targetHost` at N + `offset`. */
export function createOffsetPortMappingRoute(options: OffsetPortMappingRouteOptions): IRouteConfig {
  const helper = 'createOffsetPortMappingRoute';
  checkHelperOptions(helper, options, [...MAPPING_KEYS, 'ports', 'targetHost', 'offset', 'domains']);
  const { ports, targetHost, offset, domains, ...rest } = options;
  if (typeof offset !== 'number' || !Number.isInteger(offset)) throw configError(`${helper}(options).offset`, `must be an integer, got ${describeValue(offset)}`);
  const mapped = createPortMappingRoute({
    sourcePortRange: ports,
    targetHost,
    portMapper: (ctx) => ctx.port + offset,
    ...(domains !== undefined ? { domains } : {}),
    ...rest,
  });
  if (rest.name === undefined) mapped.name = routeName(`port-offset${offset >= 0 ? '+' : ''}${offset}`, domains, ports);
  return mapped;
}
