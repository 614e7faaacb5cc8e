/**
 * Route lookup benchmark: indexed RouteTable.match vs the reference linear scan, same routes,
 * same requests, same run. Not part of npm test. Run: npx tsx benchmarks/route-match.ts
 */
import { compileRoutes, linearMatch, type MatchInput } from '../ts/routing/index.js';
import type { IRouteConfig } from '../ts/types.js';
import { median } from './lib/report.js';

const target = { host: '127.0.0.1', port: 9 };

/** Mixed table: 40% exact domains, 20% wildcards, 20% domain + path, 20% client-IP routes. */
function makeRoutes(n: number): IRouteConfig[] {
  const routes: IRouteConfig[] = [];
  for (let i = 0; i < n; i++) {
    switch (i % 5) {
      case 0:
      case 1:
        routes.push({ match: { ports: 443, domains: `site${i}.example${i % 50}.com` }, action: { type: 'forward', target, tls: { mode: 'passthrough' } } });
        break;
      case 2:
        routes.push({ match: { ports: 443, domains: `*.zone${i}.net` }, action: { type: 'forward', target, tls: { mode: 'passthrough' } } });
        break;
      case 3:
        routes.push({ match: { ports: 80, domains: `api${i % 100}.example.com`, path: `/svc${i}/*` }, action: { type: 'forward', target } });
        break;
      default:
        routes.push({ match: { ports: 10_000 + (i % 5000), clientIp: [`10.${(i >> 8) & 255}.${i & 255}.0/24`] }, action: { type: 'forward', target } });
    }
  }
  // a catch-all per port so most lookups also have a fallback candidate
  routes.push({ match: { ports: [80, 443] }, action: { type: 'forward', target } });
  return routes;
}

function makeInputs(n: number, count: number): MatchInput[] {
  const inputs: MatchInput[] = [];
  let seed = 12345;
  const rnd = (m: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % m;
  };
  for (let k = 0; k < count; k++) {
    const i = rnd(n);
    switch (i % 5) {
      case 0:
      case 1:
        inputs.push({ port: 443, clientIp: '203.0.113.7', domain: `site${i}.example${i % 50}.com`, phase: 'connection' });
        break;
      case 2:
        inputs.push({ port: 443, clientIp: '203.0.113.7', domain: `www.shop.zone${i}.net`, phase: 'connection' });
        break;
      case 3:
        inputs.push({ port: 80, clientIp: '203.0.113.7', domain: `api${i % 100}.example.com`, path: `/svc${i}/items/42`, phase: 'request' });
        break;
      default:
        inputs.push({ port: 10_000 + (i % 5000), clientIp: `10.${(i >> 8) & 255}.${i & 255}.9`, phase: 'connection' });
    }
    if (k % 10 === 9) inputs[k] = { port: 443, clientIp: '203.0.113.7', domain: `miss${k}.nowhere.org`, phase: 'connection' };
  }
  return inputs;
}

/** Median ns per lookup over `batches` batches of the given inputs. */
function measure(fn: (input: MatchInput) => unknown, inputs: MatchInput[], batches: number): number {
  let sink = 0;
  for (const input of inputs) if (fn(input)) sink++; // warm up
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inputs.length; i++) if (fn(inputs[i]!)) sink++;
    per.push(Number(process.hrtime.bigint() - t0) / inputs.length);
  }
  if (sink < 0) console.log(sink);
  return median(per);
}

const rows: string[] = [];
const results: Array<{ n: number; indexed: number }> = [];
for (const n of [10, 1_000, 10_000]) {
  const table = compileRoutes(makeRoutes(n));
  const inputs = makeInputs(n, 2_000);
  // sanity: both agree on every input
  for (const input of inputs) {
    if (table.match(input)?.route.index !== linearMatch(table.routes, input)?.route.index) throw new Error(`mismatch at n=${n}`);
  }
  const indexed = measure((i) => table.match(i), inputs, 51);
  const linearInputs = inputs.slice(0, n >= 10_000 ? 200 : 2_000);
  const linear = measure((i) => linearMatch(table.routes, i), linearInputs, n >= 10_000 ? 7 : 21);
  results.push({ n, indexed });
  rows.push(`| ${n.toLocaleString('en-US')} | ${indexed.toFixed(0)} ns | ${linear.toFixed(0)} ns | ${(linear / indexed).toFixed(1)}x |`);
}

const base = results[0]!.indexed;
const last = results[results.length - 1]!.indexed;
process.stdout.write(
  [
    `Route lookup, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
    '',
    '| routes | indexed match (median) | linear scan (median) | linear / indexed |',
    '|---:|---:|---:|---:|',
    ...rows,
    '',
    `10,000 routes vs 10 routes: ${(last / base).toFixed(2)}x (target <= 2x); 10,000-route lookup ${(last / 1000).toFixed(2)} us (target < 2 us)`,
    '',
  ].join('\n'),
);
