/**
 * Kind 9 — port ranges and the port-mapping helpers, written as a 19.6 user writes them.
 *
 * Every backend here answers with its own address and port, so the run test sees which backend a
 * listening port reached.
 *
 * Shapes and sources:
 * - `match.ports: TPortRange = number | number[] | Array<{ from: number; to: number }>`, each port
 *   one listener, ranges expanded: unpkg 21.1.3 route-types.ts (confirmed text) and dossier §2b.
 * - `target.port: 'preserve'` = the port the client connected to: dossier §2c (confirmed in the
 *   helper signatures `port: number | 'preserve' | ((ctx) => number)` of unpkg 21.1.3
 *   route-patterns.d.ts); `target.port` as a function of IRouteContext: same source.
 * - `createPortRange(ports: number | number[] | string | Array<{ from, to }>): Array<{ from, to }>`
 *   (strings like '8000-8010' or '80,443'), `createPortMappingRoute({ sourcePortRange, targetHost,
 *   portMapper, name?, domains?, priority? })`, `createOffsetPortMappingRoute({ ports, targetHost,
 *   offset, name?, domains?, priority? })`: [from memory of 19.x route-helpers.ts; the names are in
 *   the dossier §2e as "recalled from the readme, presence in 19.6.7 unverified"].
 */
import {
  createOffsetPortMappingRoute,
  createPortMappingRoute,
  createPortRange,
  type IRouteConfig,
  type IRouteContext,
  type ISmartProxyOptions,
} from '../../../ts/index.js';

export interface PortRangeEnv {
  /** First port of a 3-port range forwarded with port 'preserve' to 127.0.0.2 (same port). */
  preserveFrom: number;
  /** First port of a 2-port range written with createPortRange('a-b'), all to `fixedBackend`. */
  helperFrom: number;
  /** A backend for the createPortRange route. */
  fixedBackend: number;
  /** First port of a 2-port range mapped with offset +1 onto 127.0.0.2. */
  offsetFrom: number;
  /** A single port mapped by a portMapper function (+1) onto 127.0.0.2. */
  mappedPort: number;
  /** Two single ports listed as a number[] with a target port function (port + 1, on 127.0.0.2). */
  listPorts: [number, number];
}

export function portRangeRoutes(env: PortRangeEnv): IRouteConfig[] {
  return [
    {
      name: 'range-preserve',
      match: { ports: [{ from: env.preserveFrom, to: env.preserveFrom + 2 }] },
      action: { type: 'forward', target: { host: '127.0.0.2', port: 'preserve' } },
    },
    {
      name: 'range-helper',
      match: { ports: createPortRange(`${env.helperFrom}-${env.helperFrom + 1}`) },
      action: { type: 'forward', target: { host: '127.0.0.1', port: env.fixedBackend } },
    },
    createOffsetPortMappingRoute({
      name: 'range-offset',
      ports: [{ from: env.offsetFrom, to: env.offsetFrom + 1 }],
      targetHost: '127.0.0.2',
      offset: 1,
    }),
    createPortMappingRoute({
      name: 'range-mapper',
      sourcePortRange: env.mappedPort,
      targetHost: '127.0.0.2',
      portMapper: (context: IRouteContext) => context.port + 1,
    }),
    {
      name: 'port-list',
      match: { ports: env.listPorts },
      action: { type: 'forward', target: { host: '127.0.0.2', port: (context) => context.port + 1 } },
    },
  ];
}

export function portRangeOptions(env: PortRangeEnv): ISmartProxyOptions {
  return { routes: portRangeRoutes(env) };
}
