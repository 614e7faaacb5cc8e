/**
 * A random model of a valid TLS ClientHello for the fuzz tests, built with the independent
 * hello-builder (test/protocol/helpers), with the SNI / ALPN / version it must parse to.
 */
import fc from 'fast-check';
import type { TlsVersionName } from '../../../ts/protocol/client-hello.js';
import { alpnExt, ext, handshake, helloBody, sniExt, versionsExt } from '../../protocol/helpers/hello-builder.js';
import { rerecord } from '../../protocol/helpers/tls-records.js';
import { bytesArb, fastString } from './fuzz.js';

const HOST_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.';
const PRINTABLE = String.fromCharCode(...Array.from({ length: 0x5e }, (_, i) => 0x21 + i));
const hostArb = fc.oneof(
  { weight: 4, arbitrary: fastString(HOST_CHARS, 1, 40) },
  { weight: 1, arbitrary: fastString(PRINTABLE, 1, 255) },
  { weight: 1, arbitrary: fc.constantFrom('a', 'A.Example.COM', 'x'.repeat(255), '127.0.0.1', 'xn--bcher-kva.example') },
);
const alpnName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('h2', 'http/1.1', 'h3', 'acme-tls/1', 'spdy/3.1', 'x'.repeat(255)) },
  { weight: 1, arbitrary: bytesArb(30, 1).map((u) => u.toString('latin1')) },
);
const versionArb = fc.oneof(fc.constantFrom(0x0304, 0x0303, 0x0302, 0x0301, 0x7f1c, 0x0a0a, 0xfafa), fc.integer({ min: 0, max: 0xffff }));
const otherExt = fc.record({
  type: fc.oneof(fc.constantFrom(10, 11, 13, 23, 35, 45, 51, 0x0a0a, 0xff01), fc.integer({ min: 0, max: 0xffff })).filter((t) => t !== 0 && t !== 16 && t !== 43),
  data: fc.oneof({ weight: 5, arbitrary: bytesArb(24) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }).map((n) => new Uint8Array(n)) }),
});

export const helloModel = fc.record({
  clientVersion: fc.oneof({ weight: 5, arbitrary: fc.constant(0x0303) }, { weight: 1, arbitrary: fc.constantFrom(0x0301, 0x0302, 0x0304, 0x03ff) }),
  sessionId: fc.oneof(fc.constant(32), fc.integer({ min: 0, max: 32 })),
  suites: fc.integer({ min: 1, max: 40 }),
  compression: fc.integer({ min: 1, max: 3 }),
  hasExtensions: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  sni: fc.option(fc.record({ host: hostArb, others: fc.array(fc.record({ type: fc.integer({ min: 1, max: 255 }), name: bytesArb(10) }), { maxLength: 2 }), hostFirst: fc.boolean() })),
  alpn: fc.option(fc.array(alpnName, { minLength: 1, maxLength: 5 })),
  versions: fc.option(fc.array(versionArb, { minLength: 1, maxLength: 6 })),
  others: fc.uniqueArray(otherExt, { selector: (e) => e.type, maxLength: 5 }),
  order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  recordSizes: fc.oneof({ weight: 3, arbitrary: fc.constant([] as number[]) }, { weight: 2, arbitrary: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }) }),
  recordVersion: fc.constantFrom(0x0301, 0x0303, 0x0300, 0x0302, 0x0304),
});
export type HelloModel = typeof helloModel extends fc.Arbitrary<infer T> ? T : never;

export interface Built {
  flight: Buffer;
  expect: { sni: string | undefined; alpn: string[]; version: TlsVersionName };
}

export function build(m: HelloModel): Built {
  const exts: Buffer[] = [];
  if (m.sni) {
    const entries: Array<string | { type: number; name: Buffer }> = m.sni.others.map((o) => ({ type: o.type, name: Buffer.from(o.name) }));
    if (m.sni.hostFirst) entries.unshift(m.sni.host);
    else entries.push(m.sni.host);
    exts.push(sniExt(...entries));
  }
  if (m.alpn) exts.push(alpnExt(...m.alpn.map((p) => Buffer.from(p, 'latin1'))));
  if (m.versions) exts.push(versionsExt(...m.versions));
  for (const o of m.others) exts.push(ext(o.type, Buffer.from(o.data)));
  const keyed = exts.map((e, i) => ({ e, k: m.order[i % 8]! * 8 + i }));
  keyed.sort((a, b) => a.k - b.k);
  const body = helloBody({
    clientVersion: m.clientVersion,
    sessionId: Buffer.alloc(m.sessionId, 0x5a),
    cipherSuites: Buffer.alloc(m.suites * 2, 0x13),
    compression: Buffer.alloc(m.compression, 0),
    ...(m.hasExtensions ? { extensions: keyed.map((x) => x.e) } : {}),
  });
  let i = 0;
  const flight = rerecord(handshake(body), (rem) => (i < m.recordSizes.length ? m.recordSizes[i++]! : rem), m.recordVersion);
  const minor = m.clientVersion & 0xff;
  let version: TlsVersionName = minor === 1 ? 'TLSv1.0' : minor === 2 ? 'TLSv1.1' : 'TLSv1.2';
  if (m.hasExtensions && m.versions?.includes(0x0304)) version = 'TLSv1.3';
  return {
    flight,
    expect: m.hasExtensions
      ? { sni: m.sni?.host.toLowerCase(), alpn: m.alpn ?? [], version }
      : { sni: undefined, alpn: [], version },
  };
}
