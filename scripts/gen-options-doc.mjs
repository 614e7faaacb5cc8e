#!/usr/bin/env node
// Generates docs/options.md from the public types (ts/model/*.ts): every option and route
// field with its type, default (the `@default` tag) and meaning (the comment). The test
// test/docs/options-doc.test.ts fails when the committed file differs from what this prints,
// so the reference cannot drift from the types.
// Usage: node scripts/gen-options-doc.mjs          (write docs/options.md)
//        node scripts/gen-options-doc.mjs --check  (exit 1 when it is stale)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Sections of the page: a title, a lead, and the interfaces shown under it (with the path prefix users write). */
export const SECTIONS = [
  {
    title: 'Options',
    lead: '`new SmartProxy(options)`. Every field is validated: a wrong type or an unknown field is a `SmartProxyConfigError` naming it (`acme.email`, `routes[2].match.ports[1]`), with the nearest known field suggested. Timers are in ms and clamped to 2^31-1.',
    interfaces: [
      ['ISmartProxyOptions', ''],
      ['IAcmeOptions', 'acme.'],
      ['ITlsOptions', 'tls.'],
      ['IMetricsOptions', 'metrics.'],
      ['IZombieOptions', 'zombie.'],
      ['INodeInternalsOptions', 'nodeInternals.'],
    ],
  },
  {
    title: 'Routes',
    lead: 'An entry of `routes` (`IRouteConfig`). Route helpers (`createHttpsTerminateRoute`, ...) build these; see docs/routing.md for selection and layers.',
    interfaces: [
      ['IRouteConfig', ''],
      ['IRouteMatch', 'match.'],
      ['IRouteAction', 'action.'],
      ['IRouteTarget', 'action.target.'],
      ['IRouteTls', 'action.tls.'],
      ['IRouteAcme', 'action.tls.acme.'],
      ['IRouteWebSocket', 'action.websocket.'],
      ['ILoadBalancing', 'action.loadBalancing.'],
      ['IHealthCheck', 'action.loadBalancing.healthCheck.'],
      ['IRouteHeaders', 'action.headers.'],
      ['IRouteAdvanced', 'action.advanced.'],
      ['INfTablesOptions', 'action.nftables.'],
      ['IRouteSecurity', 'security.'],
      ['IBasicAuth', 'security.basicAuth.'],
      ['IRateLimit', 'security.rateLimit.'],
      ['IJwtAuth', 'security.jwtAuth.'],
    ],
  },
  {
    title: 'Route context',
    lead: 'What target functions, socket handlers and templates see of a connection or request (`IRouteContext`, read-only).',
    interfaces: [['IRouteContext', 'ctx.']],
  },
];

/** Header template variables (ts/routing/template-vars.ts), in its order. */
function templateVars(src) {
  const m = /HEADER_TEMPLATE_VARS = \[([^\]]+)\]/.exec(src);
  if (!m) throw new Error('HEADER_TEMPLATE_VARS not found');
  return [...m[1].matchAll(/'(\w+)'/g)].map((x) => x[1]);
}

/** Comment text of a JSDoc block: lines joined, the `@default` tag split off. */
function parseDoc(raw) {
  const text = raw
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, '').trim())
    .filter((l, i, a) => l !== '' || (i > 0 && i < a.length - 1));
  let dflt;
  const out = [];
  for (const l of text) {
    const d = /^@default\s+(.*)$/.exec(l);
    if (d) dflt = d[1];
    else out.push(l);
  }
  return { text: out.join(' ').replace(/\s+/g, ' ').trim(), default: dflt };
}

/** Every `export interface` of the sources: name -> { doc, fields: [{ name, optional, type, doc, default }] }. */
export function parseInterfaces(sources) {
  const out = new Map();
  for (const src of sources) {
    const lines = src.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const head = /^export interface (\w+)[^{]*\{$/.exec(lines[i]);
      if (!head) continue;
      const fields = [];
      let doc;
      let j = i + 1;
      for (; j < lines.length && lines[j] !== '}'; j++) {
        const line = lines[j];
        if (/^ {2}\/\*\*/.test(line)) {
          let raw = line.trim();
          while (!raw.endsWith('*/')) raw += `\n${lines[++j].trim()}`;
          doc = parseDoc(raw);
          continue;
        }
        const f = /^ {2}(?:readonly )?(\w+)(\?)?(\(|: )(.*)$/.exec(line);
        if (!f) continue;
        let type = f[3] === '(' ? `(${f[4]}` : f[4];
        // a type over several lines ends with ';' once its brackets are balanced
        const balance = (s) => [...s].reduce((n, c) => n + ('{(['.includes(c) ? 1 : ')}]'.includes(c) ? -1 : 0), 0);
        while (!(type.trimEnd().endsWith(';') && balance(type) === 0) && j + 1 < lines.length) type += ` ${lines[++j].trim()}`;
        type = type.trim().replace(/;$/, '').replace(/\s+/g, ' ');
        if (f[3] === '(') type = `method ${type}`;
        fields.push({ name: f[1], optional: f[2] === '?', type, doc: doc?.text ?? '', default: doc?.default });
        doc = undefined;
      }
      out.set(head[1], { fields });
      i = j;
    }
  }
  return out;
}

const cell = (s) => String(s).replace(/\|/g, '\\|');

export function renderOptionsDoc(sources, templateSource) {
  const ifaces = parseInterfaces(sources);
  const lines = [
    '# Options and route fields',
    '',
    '<!-- Generated by scripts/gen-options-doc.mjs from ts/model/*.ts: edit the comments there, then run',
    '     `node scripts/gen-options-doc.mjs`. test/docs/options-doc.test.ts fails when this page is stale. -->',
    '',
    'Every option and route field, with its type, its default and what it does. Fields marked',
    '**19.x** are accepted for route tables and options written for `@push.rocks/smartproxy` 19.x;',
    'docs/migrating-from-smartproxy-19.md says what happens to each. Fields marked **deprecated**',
    'are accepted and logged once as a warning naming what to use instead.',
    '',
  ];
  for (const section of SECTIONS) {
    lines.push(`## ${section.title}`, '', section.lead, '');
    for (const [name, prefix] of section.interfaces) {
      const iface = ifaces.get(name);
      if (!iface) throw new Error(`interface ${name} not found in ts/model`);
      lines.push(`### \`${name}\`${prefix ? ` (\`${prefix.replace(/\.$/, '')}\`)` : ''}`, '');
      lines.push('| field | type | default | meaning |', '| --- | --- | --- | --- |');
      for (const f of iface.fields) {
        const req = f.optional ? '' : ' (required)';
        const meaning = f.doc.replace(/^@deprecated\s*/, '**deprecated** ').replace(/^19\.x\b:?\s*/, '**19.x** ');
        lines.push(`| \`${prefix}${f.name}\`${req} | \`${cell(f.type)}\` | ${f.default !== undefined ? cell(f.default) : ''} | ${cell(meaning)} |`);
      }
      lines.push('');
    }
  }
  const vars = templateVars(templateSource);
  lines.push(
    '## Template variables',
    '',
    'Values of `action.headers.request` / `.response` are templates: `{name}` is replaced per request.',
    'A name not in this list is a config error that lists these (`{clientIP}`: did you mean `{clientIp}`?).',
    '`action.target.path` takes `{path}`, `{remainder}` and the `:params` of `match.path`.',
    '',
    `${vars.map((v) => `\`{${v}}\``).join(', ')}, and \`{headers.<name>}\` (the request's header of that name, '' when absent).`,
    '',
  );
  return lines.join('\n');
}

export function readSources() {
  const dir = join(ROOT, 'ts/model');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
  return { sources, templateSource: readFileSync(join(ROOT, 'ts/routing/template-vars.ts'), 'utf8') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { sources, templateSource } = readSources();
  const doc = renderOptionsDoc(sources, templateSource);
  const file = join(ROOT, 'docs/options.md');
  if (process.argv.includes('--check')) {
    const current = readFileSync(file, 'utf8');
    if (current !== doc) {
      console.error('docs/options.md is stale: run node scripts/gen-options-doc.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(file, doc);
  }
}
