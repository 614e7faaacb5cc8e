import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpLimiter } from '../../ts/connection/ip-limiter.js';

test('per-IP concurrency limit', () => {
  const l = new IpLimiter(2, 0);
  assert.equal(l.admit('1.1.1.1', 0), undefined);
  assert.equal(l.admit('1.1.1.1', 0), undefined);
  assert.equal(l.admit('1.1.1.1', 0), 'max_connections_per_ip');
  assert.equal(l.admit('2.2.2.2', 0), undefined);
  l.release('1.1.1.1', 0);
  assert.equal(l.admit('1.1.1.1', 0), undefined);
});

test('rolling-minute rate limit', () => {
  const l = new IpLimiter(0, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(l.admit('1.1.1.1', i * 1000), undefined);
    l.release('1.1.1.1', i * 1000);
  }
  assert.equal(l.admit('1.1.1.1', 59_000), 'rate_limit');
  assert.equal(l.admit('1.1.1.1', 60_000), undefined, 'the first admission left the window');
});

test('state is pruned when an IP has no connections and no recent history', () => {
  const l = new IpLimiter(10, 10);
  l.admit('1.1.1.1', 0);
  l.admit('2.2.2.2', 0);
  assert.equal(l.trackedIps, 2);
  l.release('1.1.1.1', 1000);
  assert.equal(l.trackedIps, 2, 'still inside the rate window');
  l.prune(61_000);
  assert.equal(l.trackedIps, 1);
  l.release('2.2.2.2', 61_000);
  assert.equal(l.trackedIps, 0);
  const unlimited = new IpLimiter(0, 0);
  unlimited.admit('3.3.3.3', 0);
  unlimited.release('3.3.3.3', 0);
  assert.equal(unlimited.trackedIps, 0);
});
