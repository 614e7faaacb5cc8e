import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../../ts/engines/http/request-guards.js';
import { pruneRouteRuntimes, routeRuntime } from '../../../ts/engines/route-runtime.js';
import { compileRoutes } from '../../../ts/routing/index.js';

test('rate limiter: a fixed window per key; a key over the limit is refused until its window ends', () => {
  const rl = new RateLimiter({ maxRequests: 2, windowSeconds: 1 });
  assert.equal(rl.allow('a', 0), true);
  assert.equal(rl.allow('a', 10), true);
  assert.equal(rl.allow('a', 20), false);
  assert.equal(rl.allow('b', 20), true, 'keys are independent');
  assert.equal(rl.retryAfter('a', 20), 1);
  assert.equal(rl.allow('a', 1000), true, 'a new window');
});

test('rate limiter: keys chosen by an attacker cannot grow memory past the cap; the oldest window goes first', () => {
  const rl = new RateLimiter({ maxRequests: 1, windowSeconds: 60 }, 1000);
  for (let i = 0; i < 50_000; i++) rl.allow(`attacker-${i}`, i);
  assert.equal(rl.size, 1000);
  // the newest windows are the ones kept
  assert.equal(rl.allow('attacker-49999', 50_000), false);
  assert.equal(rl.allow('attacker-0', 50_000), true, 'an evicted key starts over');
});

test('rate limiter: expired windows are dropped by prune() (the ticker) and as new windows start', () => {
  const rl = new RateLimiter({ maxRequests: 5, windowSeconds: 1 });
  for (let i = 0; i < 100; i++) rl.allow(`k${i}`, i);
  assert.equal(rl.size, 100);
  rl.prune(1050);
  assert.equal(rl.size, 49, 'windows started before 50 ms have expired at 1050 ms');
  rl.allow('k0', 1050); // restarts k0's window at the end of the map
  rl.prune(2049);
  assert.deepEqual([rl.size, rl.allow('k0', 2049)], [1, true]);
  rl.prune(5000);
  assert.equal(rl.size, 0);
  for (let i = 0; i < 10; i++) rl.allow(`n${i}`, 10_000 + i);
  rl.allow('late', 20_000); // each new window also drops expired ones from the front
  assert.ok(rl.size <= 9);
});

test("pruneRouteRuntimes prunes the live table's rate limiters", () => {
  const table = compileRoutes([
    { name: 'rl', match: { ports: 8080, domains: 'a.test' }, action: { type: 'forward', target: { host: '127.0.0.1', port: 1 } }, security: { rateLimit: { maxRequests: 1, windowSeconds: 1 } } },
  ]);
  const rt = routeRuntime(table.routes[0]!);
  for (let i = 0; i < 10; i++) rt.rateLimiter!.allow(`ip${i}`, 0);
  assert.equal(rt.rateLimiter!.size, 10);
  pruneRouteRuntimes(table.routes, 5000);
  assert.equal(rt.rateLimiter!.size, 0);
});
