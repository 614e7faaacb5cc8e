/**
 * The public shapes of ../shared/api-contract.md, one file per part under model/: options,
 * routes, the route context, metrics. Every field's comment is its documentation
 * (docs/options.md is generated from them: scripts/gen-options-doc.mjs).
 */
export * from './model/route-basics.js';
export * from './model/route-action.js';
export * from './model/route-security.js';
export * from './model/route.js';
export * from './model/option-parts.js';
export * from './model/options.js';
export * from './model/metrics.js';
