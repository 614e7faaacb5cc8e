import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { ChallengeStore, challengeToken } from '../../ts/acme/challenge-store.js';
import { ACME_CHALLENGE_ROUTE_NAME, createChallengeRoute, usesAutoCertificate, withChallengeRoute } from '../../ts/acme/challenge-route.js';
import { SmartProxyConfigError } from '../../ts/core/errors.js';
import { compileRoutes } from '../../ts/routing/route-table.js';
import type { IRouteConfig } from '../../ts/types.js';

describe('challengeToken', () => {
  const cases: Array<[string, string | undefined]> = [
    ['/.well-known/acme-challenge/abc-DEF_123', 'abc-DEF_123'],
    ['/.well-known/acme-challenge/tok?x=1', 'tok'],
    ['/.well-known/acme-challenge/', undefined],
    ['/.well-known/acme-challenge/a/b', undefined],
    ['/.well-known/acme-challenge/a.b', undefined],
    ['/.well-known/acme-challenge/%2e%2e', undefined],
    ['/.well-known/acme-challengex/tok', undefined],
    ['/other/tok', undefined],
    ['*', undefined],
    [`/.well-known/acme-challenge/${'a'.repeat(257)}`, undefined],
  ];
  for (const [path, token] of cases) test(`${path.slice(0, 60)} -> ${token}`, () => assert.equal(challengeToken(path), token));
});

/** Send one request head to the store's handler over a real socket pair; the response text. */
async function ask(store: ChallengeStore, head: string): Promise<string> {
  const server = net.createServer((s) => store.handler(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    c.on('error', () => {});
    c.end(head);
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    await once(c, 'close');
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    server.close();
  }
}

describe('ChallengeStore handler', () => {
  const store = new ChallengeStore();
  store.set('tok1', 'tok1.thumb');
  const cases: Array<[string, string, RegExp]> = [
    ['known token', 'GET /.well-known/acme-challenge/tok1 HTTP/1.1\r\nHost: a.test\r\n\r\n', /^HTTP\/1\.1 200 [\s\S]*\r\n\r\ntok1\.thumb$/],
    ['known token, HTTP/1.0 without Host', 'GET /.well-known/acme-challenge/tok1 HTTP/1.0\r\n\r\n', /^HTTP\/1\.1 200 [\s\S]*tok1\.thumb$/],
    ['unknown token', 'GET /.well-known/acme-challenge/nope HTTP/1.1\r\nHost: a.test\r\n\r\n', /^HTTP\/1\.1 404 /],
    ['not a challenge path', 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n', /^HTTP\/1\.1 404 /],
    ['POST to a known token', 'POST /.well-known/acme-challenge/tok1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n', /^HTTP\/1\.1 405 [\s\S]*Allow: GET, HEAD/],
    ['garbage', 'HELLO\r\n\r\n', /^HTTP\/1\.1 400 /],
  ];
  for (const [what, head, expected] of cases) test(what, async () => assert.match(await ask(store, head), expected));
  test('a deleted token is gone', async () => {
    const s = new ChallengeStore();
    s.set('t', 't.k');
    s.delete('t');
    assert.equal(s.size, 0);
    assert.match(await ask(s, 'GET /.well-known/acme-challenge/t HTTP/1.1\r\nHost: a\r\n\r\n'), /^HTTP\/1\.1 404 /);
  });
});

describe('withChallengeRoute', () => {
  const route = createChallengeRoute(8080, new ChallengeStore());
  const auto: IRouteConfig = { match: { ports: 443, domains: 'a.test' }, action: { type: 'forward', target: { host: 'h', port: 1 }, tls: { mode: 'terminate', certificate: 'auto' } } };
  const cases: Array<[string, unknown, boolean]> = [
    ["certificate 'auto'", auto, true],
    ['no certificate (means auto)', { ...auto, action: { ...auto.action, tls: { mode: 'terminate-and-reencrypt' } } }, true],
    ['static certificate', { ...auto, action: { ...auto.action, tls: { mode: 'terminate', certificate: { key: 'k', cert: 'c' } } } }, false],
    ['passthrough', { ...auto, action: { ...auto.action, tls: { mode: 'passthrough' } } }, false],
    ['disabled', { ...auto, enabled: false }, false],
    ['plain http', { match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: 1 } } }, false],
    ['not an object', 42, false],
  ];
  for (const [what, r, uses] of cases) test(`${what}: ${uses ? 'needs' : 'does not need'} ACME`, () => assert.equal(usesAutoCertificate(r), uses));

  test('appended after the user routes (their generated names stay), only when needed, only when ACME is configured', () => {
    const plain: IRouteConfig = { match: { ports: 80 }, action: { type: 'forward', target: { host: 'h', port: 1 } } };
    const withIt = withChallengeRoute([plain, auto], route);
    assert.equal(withIt.length, 3);
    assert.equal(withIt[2], route);
    const table = compileRoutes(withIt);
    assert.deepEqual(table.routes.map((r) => r.name), ['route-0', 'route-1', ACME_CHALLENGE_ROUTE_NAME]);
    const challenge = table.routes[2]!;
    assert.equal(challenge.layer, 'http');
    assert.deepEqual(table.ports, [80, 443, 8080]);
    assert.equal(withChallengeRoute([plain], route).length, 1);
    assert.equal(withChallengeRoute([plain, auto], undefined).length, 2);
  });

  test('the reserved name in a user route is a config error naming the route', () => {
    assert.throws(
      () => withChallengeRoute([{ ...auto, name: ACME_CHALLENGE_ROUTE_NAME }], route),
      (err: unknown) => err instanceof SmartProxyConfigError && err.path === 'routes[0].name' && /reserved/.test(err.message),
    );
  });

  test('challenge paths on the port go to the challenge route, everything else to the user routes', () => {
    const redirect: IRouteConfig = { name: 'redirect', priority: 1000, match: { ports: 8080, domains: 'a.test' }, action: { type: 'socket-handler', socketHandler: () => {} } };
    const table = compileRoutes(withChallengeRoute([auto, redirect], route));
    const m = (path: string, domain?: string): string | undefined =>
      table.match({ port: 8080, clientIp: '1.2.3.4', domain, path, phase: 'request' })?.route.name;
    assert.equal(m('/.well-known/acme-challenge/tok', 'a.test'), ACME_CHALLENGE_ROUTE_NAME);
    assert.equal(m('/.well-known/acme-challenge/tok'), ACME_CHALLENGE_ROUTE_NAME);
    assert.equal(m('/index.html', 'a.test'), 'redirect');
    assert.equal(m('/.well-known/other', 'a.test'), 'redirect');
    assert.equal(m('/index.html', 'b.test'), undefined);
    assert.ok(table.portHasHttpRoutes(8080));
  });
});
