/**
 * Incremental WebSocket frame-boundary tracker (RFC 6455 section 5.2). Pure: it reads bytes
 * as they pass and never holds a frame; only the payload of a small control frame is copied
 * (and unmasked) so a relay can recognise Pings, Pongs and Close frames. Payloads of data
 * frames are skipped by counting, so tracking costs O(headers), not O(bytes).
 */

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Largest payload a control frame may carry (RFC 6455 5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** A frame whose last byte has been fed. */
export interface CompletedFrame {
  /** Offset in the last fed chunk of the frame's first byte; negative when it began in an earlier chunk. */
  readonly start: number;
  /** Offset in the last fed chunk just past the frame's last byte. */
  readonly end: number;
  readonly fin: boolean;
  /** The RSV1-3 bits (0-7), e.g. RSV1 = 4 for permessage-deflate. */
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payloadLength: number;
  /** Unmasked payload, only for control frames of at most 125 bytes (when capture is on). */
  readonly payload: Buffer | undefined;
}

export interface FrameTrackerOptions {
  /** Copy and unmask the payload of small control frames (default true). */
  captureControl?: boolean;
}

const HEADER_MAX = 14;

export class FrameTracker {
  /** Set when the stream cannot be framed (a 64-bit length beyond 2^53 - 1); nothing more is parsed. */
  error: string | undefined = undefined;
  /** The frame completed by the last `step()`, else undefined. */
  completed: CompletedFrame | undefined = undefined;

  private readonly capture: boolean;
  private readonly header = Buffer.alloc(HEADER_MAX);
  private headerLen = 0;
  /** Bytes the header needs in total; 2 until the second byte is known. */
  private headerNeed = 2;
  private inPayload = false;
  private remaining = 0;
  private payloadLen = -1;
  private captured: Buffer | undefined = undefined;
  private capturePos = 0;
  private frameBytes = 0;

  constructor(options: FrameTrackerOptions = {}) {
    this.capture = options.captureControl ?? true;
  }

  /** No partial frame is pending: the next byte starts a new frame. */
  get atBoundary(): boolean {
    return this.frameBytes === 0;
  }

  /** Bytes of the current, unfinished frame already fed (0 at a boundary). */
  get bytesIntoFrame(): number {
    return this.frameBytes;
  }

  /** Opcode of the unfinished frame (known once its first byte is fed), else -1. */
  get currentOpcode(): number {
    return this.headerLen > 0 ? this.header[0]! & 0x0f : -1;
  }

  /** Payload length of the unfinished frame once its header says so, else -1. */
  get currentPayloadLength(): number {
    return this.payloadLen;
  }

  /**
   * Consume bytes of `chunk` from `offset` up to the end of the current frame or of the chunk,
   * whichever comes first; returns the new offset. `completed` describes the frame if it ended.
   */
  step(chunk: Buffer, offset: number): number {
    this.completed = undefined;
    const len = chunk.length;
    let pos = offset;
    if (this.error) return len;
    while (pos < len) {
      if (!this.inPayload) {
        const take = Math.min(this.headerNeed - this.headerLen, len - pos);
        chunk.copy(this.header, this.headerLen, pos, pos + take);
        this.headerLen += take;
        this.frameBytes += take;
        pos += take;
        if (this.headerLen < this.headerNeed) continue;
        if (this.headerNeed === 2) {
          const len7 = this.header[1]! & 0x7f;
          const masked = (this.header[1]! & 0x80) !== 0;
          this.headerNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
          if (this.headerNeed > 2) continue;
        }
        if (!this.headerDone()) return len;
        if (this.remaining > 0) continue;
      } else {
        const take = Math.min(this.remaining, len - pos);
        if (this.captured) this.copyPayload(chunk, pos, take);
        this.remaining -= take;
        this.frameBytes += take;
        pos += take;
      }
      if (this.remaining === 0) {
        this.finish(pos);
        return pos;
      }
    }
    return pos;
  }

  /** Feed a whole chunk; every frame that ends inside it, in order. */
  feed(chunk: Buffer): CompletedFrame[] {
    const out: CompletedFrame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      pos = this.step(chunk, pos);
      if (this.completed) out.push(this.completed);
    }
    this.completed = undefined;
    return out;
  }

  /** The full header is in `this.header`: work out the payload length; false on an unframeable length. */
  private headerDone(): boolean {
    const h = this.header;
    const len7 = h[1]! & 0x7f;
    let payload: number;
    if (len7 === 126) payload = h.readUInt16BE(2);
    else if (len7 === 127) {
      const hi = h.readUInt32BE(2);
      if (hi > 0x1fffff) {
        this.error = 'frame length beyond 2^53 - 1';
        return false;
      }
      payload = hi * 2 ** 32 + h.readUInt32BE(6);
    } else payload = len7;
    this.payloadLen = payload;
    this.remaining = payload;
    this.inPayload = true;
    if (this.capture && isControlOpcode(h[0]! & 0x0f) && payload <= MAX_CONTROL_PAYLOAD) {
      this.captured = Buffer.alloc(payload);
      this.capturePos = 0;
    }
    return true;
  }

  private copyPayload(chunk: Buffer, pos: number, take: number): void {
    const buf = this.captured!;
    chunk.copy(buf, this.capturePos, pos, pos + take);
    if (this.header[1]! & 0x80) {
      const keyAt = this.headerNeed - 4;
      for (let i = this.capturePos; i < this.capturePos + take; i++) buf[i] = buf[i]! ^ this.header[keyAt + (i & 3)]!;
    }
    this.capturePos += take;
  }

  private finish(end: number): void {
    const h = this.header;
    this.completed = {
      start: end - this.frameBytes,
      end,
      fin: (h[0]! & 0x80) !== 0,
      rsv: (h[0]! >> 4) & 0x7,
      opcode: h[0]! & 0x0f,
      masked: (h[1]! & 0x80) !== 0,
      payloadLength: this.payloadLen,
      payload: this.captured,
    };
    this.headerLen = 0;
    this.headerNeed = 2;
    this.inPayload = false;
    this.remaining = 0;
    this.payloadLen = -1;
    this.captured = undefined;
    this.capturePos = 0;
    this.frameBytes = 0;
  }
}

/** Build one frame (tests and the relay's own pings). Masked when `mask` (4 bytes) is given. */
export function encodeFrame(opcode: number, payload: Buffer, options: { fin?: boolean; rsv?: number; mask?: Buffer } = {}): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 0x10000 ? 2 : 8;
  const maskLen = options.mask ? 4 : 0;
  const out = Buffer.allocUnsafe(2 + ext + maskLen + len);
  out[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  out[1] = (options.mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  else if (ext === 8) {
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  const at = 2 + ext;
  if (options.mask) {
    options.mask.copy(out, at, 0, 4);
    for (let i = 0; i < len; i++) out[at + 4 + i] = payload[i]! ^ options.mask[i & 3]!;
  } else payload.copy(out, at);
  return out;
}
