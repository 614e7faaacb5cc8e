import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIpMatcher, normalizeIp } from '../../ts/routing/matchers/ip.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';

// [patterns, address, matches?]
const CASES: Array<[string[], string, boolean]> = [
  [['192.168.1.10'], '192.168.1.10', true],
  [['192.168.1.10'], '192.168.1.11', false],
  [['192.168.1.10'], '::ffff:192.168.1.10', true],
  [['192.168.1.10'], '::FFFF:192.168.1.10', true],
  [['192.168.1.10'], '::ffff:c0a8:10a', true],
  [['::ffff:192.168.1.10'], '192.168.1.10', true],
  [['::ffff:192.168.1.10'], '::ffff:192.168.1.10', true],
  [['10.0.0.0/8'], '10.255.255.255', true],
  [['10.0.0.0/8'], '10.0.0.0', true],
  [['10.0.0.0/8'], '11.0.0.0', false],
  [['10.0.0.0/8'], '9.255.255.255', false],
  [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
  [['10.1.2.3/8'], '10.200.0.1', true],
  [['0.0.0.0/0'], '203.0.113.9', true],
  [['0.0.0.0/0'], '::1', false],
  [['192.168.1.0/24'], '192.168.1.255', true],
  [['192.168.1.0/24'], '192.168.2.0', false],
  [['192.168.1.7/32'], '192.168.1.7', true],
  [['192.168.1.7/32'], '192.168.1.8', false],
  [['192.168.1.*'], '192.168.1.42', true],
  [['192.168.1.*'], '192.168.2.42', false],
  [['192.168.*'], '192.168.200.1', true],
  [['192.168.*.*'], '192.169.0.1', false],
  [['10.*.0.1'], '10.77.0.1', true],
  [['10.*.0.1'], '10.77.0.2', false],
  [['192.168.1.*'], '::ffff:192.168.1.5', true],
  [['10.0.0.1-10.0.0.20'], '10.0.0.20', true],
  [['10.0.0.1-10.0.0.20'], '10.0.0.21', false],
  [['10.0.0.1-10.0.0.20'], '10.0.0.0', false],
  [['10.0.0.250-10.0.1.5'], '10.0.1.0', true],
  [['::1'], '::1', true],
  [['::1'], '0:0:0:0:0:0:0:1', true],
  [['::1'], '::2', false],
  [['::1'], '127.0.0.1', false],
  [['2001:db8::/32'], '2001:db8:1234::1', true],
  [['2001:db8::/32'], '2001:DB8::', true],
  [['2001:db8::/32'], '2001:db9::1', false],
  [['2001:db8::/32'], '10.0.0.1', false],
  [['fe80::/10'], 'fe80::1%eth0', true],
  [['::/0'], '2a00::1', true],
  [['::/0'], '1.2.3.4', true],
  [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
  [['::ffff:10.0.0.0/104'], '11.0.0.0', false],
  [['2001:db8::1-2001:db8::ff'], '2001:db8::80', true],
  [['2001:db8::1-2001:db8::ff'], '2001:db8::100', false],
  [['*'], '8.8.8.8', true],
  [['*'], '::1', true],
  [['*'], 'not-an-ip', false],
  [['10.0.0.0/8', '::1'], '::1', true],
  [['10.0.0.0/8', '::1'], '172.16.0.1', false],
  [['127.0.0.1'], '127.0.0.01', false],
  [['127.0.0.1'], '127.0.0.1.', false],
  [['127.0.0.1'], '', false],
  [['1.2.3.4'], '1.2.3.4:80', false],
  [['::1'], '[::1]', false],
];

describe('IP matcher conformance', () => {
  for (const [patterns, ip, expected] of CASES) {
    test(`${JSON.stringify(patterns)} vs ${JSON.stringify(ip)} -> ${expected}`, () => {
      assert.equal(compileIpMatcher(patterns, 'clientIp').matches(ip), expected);
    });
  }
  test('at least 40 cases', () => assert.ok(CASES.length >= 40));
});

describe('normalizeIp', () => {
  const cases: Array<[string, string]> = [
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::ffff:0102:0304', '1.2.3.4'],
    ['1.2.3.4', '1.2.3.4'],
    ['2001:DB8::1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::1', '::1'],
  ];
  for (const [input, out] of cases) test(`${input} -> ${out}`, () => assert.equal(normalizeIp(input), out));
});

describe('IP pattern validation', () => {
  const bad = ['10.0.0.0/33', '10.0.0/8', '256.1.1.1', '1.2.3', '::1/129', 'fe80::1::2', '10.0.0.9-10.0.0.1', '1.2.3.4-::1x', '10.*.*.256', 'abc', '', '1.2.3.4/', '1.2.*.4.5', '01.2.3.4'];
  for (const p of bad) {
    test(`rejects ${JSON.stringify(p)} naming the index`, () => {
      assert.throws(
        () => compileIpMatcher(['127.0.0.1', p], 'routes[2].match.clientIp'),
        (e: unknown) => e instanceof SmartProxyConfigError && e.path === 'routes[2].match.clientIp[1]',
      );
    });
  }
});
