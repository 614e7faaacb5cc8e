/**
 * The template language of route fields (header values, target.path): `{name}` is a variable,
 * everything else literal. Which names exist is decided here, once, for the validator and
 * for the engines that render them; a name that does not exist is a config error that lists
 * the known ones (`{clientIP}` -> did you mean `{clientIp}`?), never a literal left in a header.
 */
import { configError, nearest } from '../core/errors.js';

/** Variables of header templates (action.headers.request / .response values). */
export const HEADER_TEMPLATE_VARS = [
  'clientIp',
  'clientPort',
  'serverIp',
  'domain',
  'host',
  'path',
  'query',
  'url',
  'method',
  'port',
  'protocol',
  'tlsVersion',
  'routeName',
  'routeId',
  'connectionId',
  'targetHost',
  'targetPort',
  'timestamp',
] as const;

export type HeaderTemplateVar = (typeof HEADER_TEMPLATE_VARS)[number];

/** `{name}` occurrences: a letter or `_`, then letters, digits, `_`; or `{headers.<field-name>}`. */
export const TEMPLATE_VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)?)\}/g;

/** Header templates also take `{headers.<name>}`: the request's header of that name ('' when absent). */
export const HEADER_FIELD_PREFIX = 'headers.';

/**
 * Throws a config error at `path` for the first variable of `text` not in `known` (and, with
 * `headerFields`, not a `{headers.<name>}`).
 */
export function checkTemplate(text: string, known: readonly string[], path: string, headerFields = false): void {
  for (const m of text.matchAll(TEMPLATE_VARIABLE)) {
    const name = m[1]!;
    if (known.includes(name)) continue;
    if (headerFields && name.startsWith(HEADER_FIELD_PREFIX) && name.length > HEADER_FIELD_PREFIX.length) continue;
    const near = nearest(name, known);
    const all = [...known.map((k) => `{${k}}`), ...(headerFields ? ['{headers.<name>}'] : [])];
    throw configError(path, `uses {${name}}, which is not a template variable${near !== undefined ? ` (did you mean {${near}}?)` : ''}; known: ${all.join(', ')}`);
  }
}
