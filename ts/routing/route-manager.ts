/** Holds the live RouteTable; update() compiles the new routes first and swaps only on success. */
import type { IRouteConfig } from '../types.js';
import { compileRoutes, type CompileOptions, type MatchInput, type MatchResult, type RouteTable } from './route-table.js';

export class RouteManager {
  #table: RouteTable;
  readonly #options: CompileOptions;

  constructor(routes: IRouteConfig[], options: CompileOptions = {}) {
    this.#options = options;
    this.#table = compileRoutes(routes, options);
  }

  get table(): RouteTable {
    return this.#table;
  }

  /** Compiles without installing: for callers that must prepare other state before swap(). */
  compile(routes: IRouteConfig[], options: Partial<CompileOptions> = {}): RouteTable {
    return compileRoutes(routes, { ...this.#options, ...options });
  }

  swap(table: RouteTable): void {
    this.#table = table;
  }

  /** Atomic: throws (and keeps the old table) when the new routes do not compile. */
  update(routes: IRouteConfig[], options: Partial<CompileOptions> = {}): RouteTable {
    const next = compileRoutes(routes, { ...this.#options, ...options });
    this.#table = next;
    return next;
  }

  match(input: MatchInput): MatchResult | undefined {
    return this.#table.match(input);
  }
}
