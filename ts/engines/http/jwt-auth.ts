/**
 * security.jwtAuth: bearer tokens (RFC 7519 JWS compact form) verified with node:crypto, one
 * algorithm per route. HS256 with a shared `secret`; RS256 with `publicKey` (19.x routes put
 * the PEM in `secret`, which is accepted too).
 *
 * A token passes when: the header names exactly the route's algorithm (never `none`, never
 * the other family: no algorithm confusion) and has no `crit`; the signature verifies; the
 * claims are an object whose `exp` (required) is in the future and `nbf`, when present, is
 * not; `iss` / `aud` equal the route's `issuer` / `audience` when set; and with `expiresIn`
 * (seconds) a token whose `iat` is older than that is refused too. Every part must be strict
 * base64url. tested against jose as an oracle (test/http/jwt-auth.test.ts).
 */
import { createHmac, createPublicKey, timingSafeEqual, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { IJwtAuth } from '../../types.js';

export type JwtVerdict = { ok: true; claims: Record<string, unknown> } | { ok: false; error: string };

const B64URL = /^[A-Za-z0-9_-]+$/;
/** Longest token considered (a request head is at most 16 KiB anyway). */
const MAX_TOKEN_CHARS = 8192;

export class JwtAuth {
  readonly algorithm: 'HS256' | 'RS256';
  private readonly secret: Buffer | undefined;
  private readonly publicKey: KeyObject | undefined;

  constructor(private readonly cfg: IJwtAuth) {
    this.algorithm = cfg.algorithm ?? (cfg.publicKey !== undefined ? 'RS256' : 'HS256');
    if (this.algorithm === 'HS256') this.secret = Buffer.from(cfg.secret ?? '', 'utf8');
    else this.publicKey = createPublicKey((cfg.publicKey ?? cfg.secret)!);
  }

  /** The WWW-Authenticate value of a 401 (RFC 6750 3). */
  challenge(error: boolean): string {
    return error ? 'Bearer realm="Restricted", error="invalid_token"' : 'Bearer realm="Restricted"';
  }

  /** Verify the Authorization header's bearer token at `nowMs`. */
  verify(authorization: string | undefined, nowMs: number): JwtVerdict {
    if (authorization === undefined) return { ok: false, error: 'no token' };
    const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization);
    if (!m) return { ok: false, error: 'no bearer token' };
    const token = m[1]!;
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, error: 'token too long' };
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return { ok: false, error: 'malformed token' };
    const [h, p, s] = parts as [string, string, string];
    const header = json(h);
    if (header === undefined) return { ok: false, error: 'malformed header' };
    if (header.alg !== this.algorithm) return { ok: false, error: `algorithm ${String(header.alg)} not accepted` };
    if (header.crit !== undefined) return { ok: false, error: 'unsupported crit header' };
    const data = Buffer.from(`${h}.${p}`, 'ascii');
    const sig = Buffer.from(s, 'base64url');
    if (!this.signatureOk(data, sig)) return { ok: false, error: 'bad signature' };
    const claims = json(p);
    if (claims === undefined) return { ok: false, error: 'malformed claims' };
    const now = nowMs / 1000;
    if (typeof claims.exp !== 'number') return { ok: false, error: 'no exp claim' };
    if (now >= claims.exp) return { ok: false, error: 'token expired' };
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now < claims.nbf)) return { ok: false, error: 'token not yet valid' };
    const c = this.cfg;
    if (c.issuer !== undefined && claims.iss !== c.issuer) return { ok: false, error: 'issuer mismatch' };
    if (c.audience !== undefined) {
      const aud = claims.aud;
      const hit = typeof aud === 'string' ? aud === c.audience : Array.isArray(aud) && aud.includes(c.audience);
      if (!hit) return { ok: false, error: 'audience mismatch' };
    }
    if (c.expiresIn !== undefined) {
      if (typeof claims.iat !== 'number') return { ok: false, error: 'no iat claim (expiresIn is set)' };
      if (now - claims.iat > c.expiresIn) return { ok: false, error: 'token older than expiresIn' };
    }
    return { ok: true, claims };
  }

  private signatureOk(data: Buffer, sig: Buffer): boolean {
    if (this.secret !== undefined) {
      const want = createHmac('sha256', this.secret).update(data).digest();
      return sig.length === want.length && timingSafeEqual(sig, want);
    }
    try {
      return verifySignature('sha256', data, this.publicKey!, sig);
    } catch {
      return false;
    }
  }
}

/** A base64url part as a JSON object, or undefined. */
function json(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
