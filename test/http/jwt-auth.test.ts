/**
 * security.jwtAuth: the verifier (ts/engines/http/jwt-auth.ts) against jose as an oracle, one row
 * per token, and end to end through a SmartProxy route in front of a real HTTP backend.
 *
 * Every token is signed by jose (or, where jose refuses to sign it, by hand with node:crypto) and
 * verified both by JwtAuth.verify and by jose's jwtVerify with the route's rules (algorithm,
 * issuer, audience, maxTokenAge = expiresIn, the same clock). Known, intended differences:
 * - `exp` is REQUIRED here; jose accepts a token without it (RFC 7519 makes it optional).
 * - every part must be strict base64url here; jose tolerates '=' padding and whitespace inside
 *   a part (its decoder strips them), so such a token verifies in jose and is refused here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { CompactSign, SignJWT, exportSPKI, generateKeyPair, jwtVerify, type JWTPayload } from 'jose';
import { JwtAuth } from '../../ts/engines/http/jwt-auth.js';
import { SmartProxy, SmartProxyConfigError, type IJwtAuth, type IRouteConfig } from '../../ts/index.js';
import { startProxy, freePort, silentLogger } from '../integration/harness.js';
import { startHttpServer } from '../helpers/backends.js';
import { httpRequest } from '../helpers/clients.js';

const NOW_MS = 1_700_000_000_000;
const NOW = NOW_MS / 1000;
const SECRET = 'hs256-shared-secret-for-tests';
const HS_KEY = new TextEncoder().encode(SECRET);
const ISS = 'https://auth.test';
const AUD = 'api';

const rs = await generateKeyPair('RS256', { extractable: true });
const other = await generateKeyPair('RS256');
const RS_PEM = await exportSPKI(rs.publicKey);

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A HS256-signed token built by hand (for shapes jose refuses to produce). */
function handHs(header: unknown, payload: unknown, secret: string | Buffer = SECRET): string {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
}

function hs(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(HS_KEY);
}

function rsSigned(claims: JWTPayload, key = rs.privateKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(key);
}

const good = (extra: JWTPayload = {}): JWTPayload => ({ sub: 'u1', iss: ISS, aud: AUD, iat: NOW - 10, exp: NOW + 600, ...extra });

/** Replace one character in the middle of part `i` with a different base64url character. */
function flipChar(token: string, i: number): string {
  const parts = token.split('.');
  const p = parts[i]!;
  const at = Math.floor(p.length / 2);
  parts[i] = p.slice(0, at) + (p[at] === 'A' ? 'B' : 'A') + p.slice(at + 1);
  return parts.join('.');
}

/** What jose says about `token` under the same rules; 'ok' or its error code. */
async function joseVerdict(token: string, cfg: IJwtAuth): Promise<string> {
  const alg = cfg.algorithm ?? (cfg.publicKey !== undefined ? 'RS256' : 'HS256');
  const key = alg === 'HS256' ? new TextEncoder().encode(cfg.secret) : rs.publicKey;
  try {
    await jwtVerify(token, key, {
      algorithms: [alg],
      currentDate: new Date(NOW_MS),
      ...(cfg.issuer !== undefined ? { issuer: cfg.issuer } : {}),
      ...(cfg.audience !== undefined ? { audience: cfg.audience } : {}),
      ...(cfg.expiresIn !== undefined ? { maxTokenAge: cfg.expiresIn } : {}),
    });
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

const HS: IJwtAuth = { secret: SECRET, issuer: ISS, audience: AUD };
const HS_PLAIN: IJwtAuth = { secret: SECRET };
const HS_AGE: IJwtAuth = { secret: SECRET, expiresIn: 300 };
const RS: IJwtAuth = { publicKey: RS_PEM };
const RS_19: IJwtAuth = { secret: RS_PEM, algorithm: 'RS256' };

interface Row {
  name: string;
  cfg: IJwtAuth;
  token: () => Promise<string> | string;
  /** undefined: accepted; else a pattern of our error. */
  refused?: RegExp;
  /** jose's verdict differs from ours (documented above): what jose says instead. */
  joseDiffers?: 'ok';
}

const rows: Row[] = [
  { name: 'HS256 valid', cfg: HS, token: () => hs(good()) },
  { name: 'HS256 valid, no iss/aud rules', cfg: HS_PLAIN, token: () => hs({ exp: NOW + 60 }) },
  { name: 'expired', cfg: HS, token: () => hs(good({ exp: NOW - 1 })), refused: /expired/ },
  { name: 'exp exactly now is expired', cfg: HS, token: () => hs(good({ exp: NOW })), refused: /expired/ },
  { name: 'nbf in the future', cfg: HS, token: () => hs(good({ nbf: NOW + 60 })), refused: /not yet valid/ },
  { name: 'nbf in the past', cfg: HS, token: () => hs(good({ nbf: NOW - 60 })) },
  { name: 'wrong issuer', cfg: HS, token: () => hs(good({ iss: 'https://evil.test' })), refused: /issuer/ },
  { name: 'no issuer while the route wants one', cfg: HS, token: () => hs({ aud: AUD, exp: NOW + 60 }), refused: /issuer/ },
  { name: 'wrong audience', cfg: HS, token: () => hs(good({ aud: 'other' })), refused: /audience/ },
  { name: 'audience array listing ours', cfg: HS, token: () => hs(good({ aud: ['x', AUD] })) },
  { name: 'audience array without ours', cfg: HS, token: () => hs(good({ aud: ['x', 'y'] })), refused: /audience/ },
  { name: 'expiresIn: iat recent enough', cfg: HS_AGE, token: () => hs({ iat: NOW - 100, exp: NOW + 600 }) },
  { name: 'expiresIn: iat too old (exp still future)', cfg: HS_AGE, token: () => hs({ iat: NOW - 301, exp: NOW + 600 }), refused: /expiresIn/ },
  { name: 'expiresIn: no iat', cfg: HS_AGE, token: () => hs({ exp: NOW + 600 }), refused: /iat/ },
  { name: 'exp as a string', cfg: HS_PLAIN, token: () => handHs({ alg: 'HS256' }, { exp: String(NOW + 60) }), refused: /exp/ },
  { name: 'missing exp (jose accepts: exp is optional in RFC 7519)', cfg: HS_PLAIN, token: () => hs({ sub: 'x' }), refused: /no exp/, joseDiffers: 'ok' },
  { name: "alg 'none', empty signature", cfg: HS_PLAIN, token: () => `${b64({ alg: 'none' })}.${b64({ exp: NOW + 60 })}.`, refused: /malformed/ },
  { name: "alg 'none' with a signature part", cfg: HS_PLAIN, token: () => `${b64({ alg: 'none' })}.${b64({ exp: NOW + 60 })}.AAAA`, refused: /algorithm none/ },
  { name: "alg 'hs256' (case matters)", cfg: HS_PLAIN, token: () => handHs({ alg: 'hs256' }, { exp: NOW + 60 }), refused: /algorithm/ },
  { name: 'RS256 token on a HS256 route', cfg: HS_PLAIN, token: () => rsSigned({ exp: NOW + 60 }), refused: /algorithm RS256/ },
  {
    name: 'algorithm confusion: HS256 token keyed with the RS256 public key PEM',
    cfg: RS,
    token: () => handHs({ alg: 'HS256' }, { exp: NOW + 60 }, RS_PEM),
    refused: /algorithm HS256/,
  },
  { name: 'algorithm confusion on a 19.x RS256 route (PEM in secret)', cfg: RS_19, token: () => handHs({ alg: 'HS256' }, { exp: NOW + 60 }, RS_PEM), refused: /algorithm HS256/ },
  { name: 'RS256 valid (publicKey)', cfg: RS, token: () => rsSigned({ exp: NOW + 60 }) },
  { name: 'RS256 valid (19.x: PEM in secret)', cfg: RS_19, token: () => rsSigned({ exp: NOW + 60 }) },
  { name: 'RS256 signed by another key', cfg: RS, token: () => rsSigned({ exp: NOW + 60 }, other.privateKey), refused: /signature/ },
  { name: 'RS256 tampered payload', cfg: RS, token: async () => { const t = (await rsSigned({ sub: 'a', exp: NOW + 60 })).split('.'); return `${t[0]}.${b64({ sub: 'admin', exp: NOW + 60 })}.${t[2]}`; }, refused: /signature/ },
  { name: 'HS256 tampered payload', cfg: HS, token: async () => { const t = (await hs(good())).split('.'); return `${t[0]}.${b64(good({ sub: 'admin' }))}.${t[2]}`; }, refused: /signature/ },
  { name: 'HS256 tampered signature', cfg: HS, token: async () => flipChar(await hs(good()), 2), refused: /signature/ },
  { name: 'HS256 wrong secret', cfg: HS, token: () => new SignJWT(good()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('other-secret')), refused: /signature/ },
  { name: "'+' instead of '-' (base64, not base64url)", cfg: HS_PLAIN, token: () => `${b64({ alg: 'HS256' })}.${b64({ exp: NOW + 60 })}.ab+cd`, refused: /malformed/ },
  {
    name: "'=' padding on the signature (jose strips it and accepts)",
    cfg: HS_PLAIN,
    token: async () => `${await hs({ exp: NOW + 60 })}=`,
    refused: /malformed/,
    joseDiffers: 'ok',
  },
  { name: '2 parts', cfg: HS_PLAIN, token: async () => (await hs({ exp: NOW + 60 })).split('.').slice(0, 2).join('.'), refused: /malformed/ },
  { name: '4 parts', cfg: HS_PLAIN, token: async () => `${await hs({ exp: NOW + 60 })}.AAAA`, refused: /malformed/ },
  { name: 'header not JSON', cfg: HS_PLAIN, token: () => `${b64('not json')}.${b64({ exp: NOW + 60 })}.AAAA`, refused: /malformed header/ },
  { name: 'claims a JSON array', cfg: HS_PLAIN, token: () => new CompactSign(new TextEncoder().encode('[1,2]')).setProtectedHeader({ alg: 'HS256' }).sign(HS_KEY), refused: /malformed claims/ },
  {
    name: 'crit header naming an extension',
    cfg: HS_PLAIN,
    token: () => new CompactSign(new TextEncoder().encode(JSON.stringify({ exp: NOW + 60 }))).setProtectedHeader({ alg: 'HS256', crit: ['x-ext'], 'x-ext': 1 }).sign(HS_KEY, { crit: { 'x-ext': true } }),
    refused: /crit/,
  },
];

describe('JwtAuth.verify against jose', () => {
  for (const row of rows) {
    test(row.name, async () => {
      const token = await row.token();
      const ours = new JwtAuth(row.cfg).verify(`Bearer ${token}`, NOW_MS);
      if (row.refused === undefined) assert.ok(ours.ok, `refused: ${ours.ok ? '' : ours.error}`);
      else {
        assert.equal(ours.ok, false, 'accepted');
        assert.match((ours as { error: string }).error, row.refused);
      }
      const jose = await joseVerdict(token, row.cfg);
      if (row.joseDiffers !== undefined) assert.equal(jose, row.joseDiffers, 'the documented difference with jose');
      else assert.equal(jose === 'ok', ours.ok, `jose says ${jose}, we say ${ours.ok ? 'ok' : (ours as { error: string }).error}`);
    });
  }
});

describe('the Authorization header', () => {
  test('the scheme is case-insensitive; spaces and tabs after it; anything else is no bearer token', async () => {
    const token = await hs({ exp: NOW + 60 });
    const auth = new JwtAuth(HS_PLAIN);
    for (const h of [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `BeArEr  ${token}`, `Bearer\t${token}`, `Bearer ${token} `]) {
      assert.equal(auth.verify(h, NOW_MS).ok, true, JSON.stringify(h.slice(0, 10)));
    }
    const refused: Array<[string | undefined, RegExp]> = [
      [undefined, /no token/],
      ['', /no bearer/],
      ['Bearer', /no bearer/],
      ['Bearer ', /no bearer/],
      [`Basic ${Buffer.from('u:p').toString('base64')}`, /no bearer/],
      [`Bearer${token}`, /no bearer/],
      [`Bearer ${token} extra`, /no bearer/],
      [`Token ${token}`, /no bearer/],
      [`Bearer ${'A'.repeat(9000)}`, /too long/],
    ];
    for (const [h, re] of refused) {
      const v = auth.verify(h, NOW_MS);
      assert.equal(v.ok, false, String(h).slice(0, 20));
      assert.match((v as { error: string }).error, re);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// End to end
// ---------------------------------------------------------------------------------------------

const realNow = (): number => Math.floor(Date.now() / 1000);

function jwtRoute(name: string, port: number, domain: string, backend: number, jwtAuth: Record<string, unknown>): IRouteConfig {
  return { name, match: { ports: port, domains: domain }, action: { type: 'forward', target: { host: '127.0.0.1', port: backend } }, security: { jwtAuth: jwtAuth as IJwtAuth } };
}

test('end to end: 401 with a Bearer challenge, invalid_token for a bad one, 200 with a good one, excludePaths', async (t) => {
  const be = await startHttpServer(undefined, { name: 'api' });
  t.after(() => be.close());
  const port = await freePort();
  await startProxy(t, {
    routes: [
      jwtRoute('hs', port, 'hs.test', be.port, { secret: SECRET, issuer: ISS, excludePaths: ['/health'] }),
      jwtRoute('off', port, 'off.test', be.port, { enabled: false, secret: SECRET }),
      jwtRoute('rs-19', port, 'rs19.test', be.port, { algorithm: 'RS256', secret: RS_PEM }),
      jwtRoute('rs', port, 'rs.test', be.port, { publicKey: RS_PEM }),
    ],
  });
  const get = (host: string, path: string, authorization?: string) =>
    httpRequest(port, { path, headers: { host, ...(authorization !== undefined ? { authorization } : {}) } });
  const exp = realNow() + 300;
  const goodHs = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISS).setIssuedAt().setExpirationTime(exp).sign(HS_KEY);

  const none = await get('hs.test', '/data');
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Bearer realm="[^"]*"$/);
  const bad = await get('hs.test', '/data', `Bearer ${flipChar(goodHs, 2)}`);
  assert.equal(bad.status, 401);
  assert.match(String(bad.headers['www-authenticate']), /^Bearer realm="[^"]*", error="invalid_token"$/);
  const expired = await get('hs.test', '/data', `Bearer ${await hs({ iss: ISS, exp: realNow() - 5 })}`);
  assert.equal(expired.status, 401);
  const wrongIss = await get('hs.test', '/data', `Bearer ${await hs({ iss: 'x', exp })}`);
  assert.equal(wrongIss.status, 401);
  assert.equal(be.requests, 0, 'no refused request reached the backend');

  const ok = await get('hs.test', '/data', `bearer ${goodHs}`);
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body).url, '/data');
  assert.equal((await get('hs.test', '/health')).status, 200, 'excluded path needs no token');
  assert.equal((await get('hs.test', '/health/deep')).status, 401, 'excludePaths is a pattern, not a prefix');
  assert.equal((await get('off.test', '/x')).status, 200, 'enabled: false drops the check');

  const goodRs = await rsSigned({ exp });
  for (const host of ['rs19.test', 'rs.test']) {
    assert.equal((await get(host, '/r')).status, 401, host);
    assert.equal((await get(host, '/r', `Bearer ${goodRs}`)).status, 200, host);
    assert.equal((await get(host, '/r', `Bearer ${handHs({ alg: 'HS256' }, { exp }, RS_PEM)}`)).status, 401, `${host}: algorithm confusion`);
    assert.equal((await get(host, '/r', `Bearer ${goodHs}`)).status, 401, `${host}: an HS256 token`);
  }
  assert.equal(be.requests, 5);
});

describe('jwtAuth config errors name the field', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rows: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['RS256 with an EC key in secret (19.x)', { algorithm: 'RS256', secret: ec }, 'routes[0].security.jwtAuth.secret', /ec key.*RSA/],
    ['RS256 with an EC key in publicKey', { publicKey: ec }, 'routes[0].security.jwtAuth.publicKey', /ec key.*RSA/],
    ['RS256 with no key', { algorithm: 'RS256' }, 'routes[0].security.jwtAuth.publicKey', /required/],
    ['RS256 with a non-PEM key', { publicKey: 'not a key' }, 'routes[0].security.jwtAuth.publicKey', /PEM/],
    ['HS256 with an empty secret', { secret: '' }, 'routes[0].security.jwtAuth.secret', /empty/],
    ['HS256 with no secret', { issuer: ISS }, 'routes[0].security.jwtAuth.secret', /required/],
    ['HS256 with a publicKey', { algorithm: 'HS256', secret: SECRET, publicKey: RS_PEM }, 'routes[0].security.jwtAuth.publicKey', /RS256/],
    ['unknown algorithm', { algorithm: 'ES256', secret: SECRET }, 'routes[0].security.jwtAuth.algorithm', /HS256/],
    ['a misspelled field', { secret: SECRET, issuers: ISS }, 'routes[0].security.jwtAuth.issuers', /did you mean `issuer`/],
  ];
  for (const [what, jwtAuth, path, re] of rows) {
    test(what, () => {
      assert.throws(
        () => new SmartProxy({ routes: [jwtRoute('j', 18080, 'a.test', 9, jwtAuth)], logger: silentLogger }),
        (err: unknown) => {
          assert.ok(err instanceof SmartProxyConfigError, String(err));
          assert.equal(err.path, path);
          assert.match(err.message, re);
          return true;
        },
      );
    });
  }
});
