/** Builds synthetic ClientHellos for table-driven tests (independent of the parser under test). */
import { rerecord } from './tls-records.js';

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};

export function ext(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data]);
}

export function sniExt(...names: Array<string | Buffer | { type: number; name: Buffer }>): Buffer {
  const entries = names.map((n) => {
    const type = typeof n === 'object' && !Buffer.isBuffer(n) ? n.type : 0;
    const raw = typeof n === 'string' ? Buffer.from(n, 'latin1') : Buffer.isBuffer(n) ? n : n.name;
    return Buffer.concat([Buffer.from([type]), u16(raw.length), raw]);
  });
  const list = Buffer.concat(entries);
  return ext(0, Buffer.concat([u16(list.length), list]));
}

export function alpnExt(...protos: Array<string | Buffer>): Buffer {
  const list = Buffer.concat(
    protos.map((p) => {
      const raw = typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
      return Buffer.concat([Buffer.from([raw.length]), raw]);
    }),
  );
  return ext(16, Buffer.concat([u16(list.length), list]));
}

export function versionsExt(...versions: number[]): Buffer {
  const list = Buffer.concat(versions.map(u16));
  return ext(43, Buffer.concat([Buffer.from([list.length]), list]));
}

export interface HelloSpec {
  clientVersion?: number;
  sessionId?: Buffer;
  cipherSuites?: Buffer;
  compression?: Buffer;
  /** undefined: no extensions block at all. */
  extensions?: Buffer[];
  /** Raw override of the extensions-block length field. */
  extensionsLength?: number;
}

/** The ClientHello body (without the 4-byte handshake header). */
export function helloBody(spec: HelloSpec = {}): Buffer {
  const sid = spec.sessionId ?? Buffer.alloc(32, 7);
  const cs = spec.cipherSuites ?? Buffer.from([0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f]);
  const cm = spec.compression ?? Buffer.from([0]);
  const parts = [
    u16(spec.clientVersion ?? 0x0303),
    Buffer.alloc(32, 0xab),
    Buffer.from([sid.length]),
    sid,
    u16(cs.length),
    cs,
    Buffer.from([cm.length]),
    cm,
  ];
  if (spec.extensions) {
    const exts = Buffer.concat(spec.extensions);
    parts.push(u16(spec.extensionsLength ?? exts.length), exts);
  }
  return Buffer.concat(parts);
}

export function handshake(body: Buffer, type = 1): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([h, body]);
}

/** A whole single-record ClientHello flight. */
export function hello(spec: HelloSpec = {}): Buffer {
  return rerecord(handshake(helloBody(spec)), (rem) => rem);
}

export function record(type: number, payload: Buffer, version = 0x0301): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(version, 1);
  h.writeUInt16BE(payload.length & 0xffff, 3);
  return Buffer.concat([h, payload]);
}
