import { parseClientHello } from './client-hello.js';
import { sniffHttpRequest, hostWithoutPort } from './http-head.js';

export type FirstBytes =
  | { kind: 'need-more' }
  | { kind: 'tls'; sni: string | undefined; version: string }
  | { kind: 'http'; host: string | undefined }
  | { kind: 'raw' }
  | { kind: 'proxy-header' }
  | { kind: 'invalid'; reason: string };

const PROXY_V1 = Buffer.from('PROXY ');
const PROXY_V2 = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** True while `buf` is a prefix of `sig` or starts with it; 'partial' while still too short to tell. */
function startsWithSignature(buf: Buffer, sig: Buffer): boolean | 'partial' {
  const n = Math.min(buf.length, sig.length);
  for (let i = 0; i < n; i++) if (buf[i] !== sig[i]) return false;
  return buf.length >= sig.length ? true : 'partial';
}

/**
 * For an untrusted client on a PROXY-protocol port whose bytes go straight to the backend: 'more'
 * while its first bytes are still a prefix of a PROXY v1/v2 signature, 'reject' once they carry
 * one, 'pass' otherwise.
 */
export function proxySignature(buf: Buffer): 'more' | 'pass' | 'reject' {
  let partial = false;
  for (const sig of [PROXY_V1, PROXY_V2]) {
    const m = startsWithSignature(buf, sig);
    if (m === true) return 'reject';
    if (m === 'partial') partial = true;
  }
  return partial ? 'more' : 'pass';
}

/** Classify a connection's first bytes: TLS ClientHello, HTTP request head, a PROXY header, or raw bytes. */
export function sniffFirstBytes(buf: Buffer): FirstBytes {
  if (buf.length === 0) return { kind: 'need-more' };
  if (buf[0] === 0x16) {
    const r = parseClientHello(buf);
    switch (r.kind) {
      case 'ok':
        return { kind: 'tls', sni: r.sni, version: r.version };
      case 'need-more':
        return r;
      case 'invalid':
        return { kind: 'invalid', reason: 'client_hello' };
      default:
        return { kind: 'raw' };
    }
  }
  for (const sig of [PROXY_V1, PROXY_V2]) {
    const m = startsWithSignature(buf, sig);
    if (m === true) return { kind: 'proxy-header' };
    if (m === 'partial') return { kind: 'need-more' };
  }
  const h = sniffHttpRequest(buf);
  switch (h.kind) {
    case 'ok':
      return { kind: 'http', host: h.host === undefined ? undefined : hostWithoutPort(h.host) };
    case 'need-more':
      return h;
    case 'invalid':
      // Looks like HTTP but is malformed: the HTTP layer answers 400 where there is one.
      return { kind: 'http', host: undefined };
    default:
      return { kind: 'raw' };
  }
}
