/**
 * The one two-way relay: L4 forwarding and TLS passthrough, the WebSocket relay after a 101,
 * and `SocketHandlers.proxy` all move bytes through it.
 *
 * - Both ways with backpressure: a full destination stops its source until 'drain'.
 *   With a RelayReader (core/node-internals.ts) a direction skips the Readable stream: the
 *   backend's reads are written to the client inside the read callback, and so are the client's
 *   once `relayTo(backend)` runs. Bytes already in a stream still come as 'data', in order.
 * - Half-close: a FIN from one side ends the other's writable side after what was read has
 *   been written; the other direction keeps flowing until it ends too, or until the connection
 *   has stayed idle for halfCloseTimeout (the owner's deadline, told by `markHalfClosed`).
 * - One error channel: the owner (a ConnectionRecord) holds each socket's 'error' and 'close'
 *   listeners; an error closes the whole connection there, and a socket's close comes here as
 *   `onSocketClose(side)`. When both sockets have closed the owner closes with 'closed', on the
 *   side that ended first.
 * - Optional: interceptors that take a direction's chunks and write them on (WebSocket pings),
 *   and a guard on the first client bytes (a PROXY header from an untrusted client).
 */
import type * as net from 'node:net';
import type { RelayReader } from '../core/node-internals.js';
import type { CloseReason, CloseSide, ConnectionEngine } from '../connection/connection-record.js';

/** What the relay needs of the connection it serves (a ConnectionRecord fits). */
export interface RelayOwner {
  /** The client-side stream (raw socket, or the TLS socket over it). */
  readonly stream: net.Socket;
  readonly clientReader: RelayReader | undefined;
  engine: ConnectionEngine | undefined;
  markHalfClosed(now: number): void;
  close(side: CloseSide, reason: CloseReason, error?: Error): void;
}

export type FirstBytesVerdict = 'more' | 'pass' | 'reject';

export interface RelayOptions {
  /** Written to the backend before anything else from the client (sniffed bytes). */
  toBackend?: Buffer | undefined;
  /** Written to the client before anything from the backend (bytes read past a 101). */
  toClient?: Buffer | undefined;
  /** The backend reads through a RelayReader aimed at the client: its bytes are relayed already. */
  backendDirect?: boolean;
  /** Take each chunk of a direction instead of writing it on (the interceptor writes). */
  fromClient?: (chunk: Buffer) => void;
  fromBackend?: (chunk: Buffer) => void;
  /** A FIN arrived from `side` (before it is passed on). */
  onFin?: (side: 'client' | 'backend') => void;
  /** Hold the client's first bytes until this decides; 'reject' closes with protocol_error. */
  firstBytes?: (buf: Buffer) => FirstBytesVerdict;
  /** Runs once, when the connection closes for any reason. */
  onClosed?: () => void;
  now: () => number;
}

/**
 * End `socket`'s writable side after its queue. When its peer has already sent its own FIN and
 * nothing is queued, the connection is finished both ways, and close() alone sends the FIN:
 * that skips the shutdown() call, libuv's deferred request for it and the 'finish' callbacks.
 */
export function endOrClose(socket: net.Socket): void {
  if (socket.writableEnded || socket.destroyed) return;
  if (socket.readableEnded && socket.writableLength === 0) socket.destroy();
  else socket.end();
}

/** Relay between `owner.stream` and `backend` (already attached to the owner); the relay becomes the owner's engine. */
export function relay(owner: RelayOwner, backend: net.Socket, opts: RelayOptions): Relay {
  const r = new Relay(owner, backend, opts);
  owner.engine = r;
  r.start();
  return r;
}

export class Relay implements ConnectionEngine {
  private clientClosed = false;
  private backendClosed = false;
  private firstEnded: 'client' | 'backend' | undefined;
  private held: Buffer | undefined;
  /** The first client bytes are still being judged (opts.firstBytes). */
  private guarding = false;
  private readonly client: net.Socket;

  constructor(
    private readonly owner: RelayOwner,
    private readonly backend: net.Socket,
    private readonly opts: RelayOptions,
  ) {
    this.client = owner.stream;
  }

  start(): void {
    const { client, backend, opts } = this;
    if (opts.toBackend && opts.toBackend.length > 0) backend.write(opts.toBackend);
    if (opts.toClient && opts.toClient.length > 0) client.write(opts.toClient);
    // client -> backend
    if (opts.firstBytes) {
      this.guarding = true;
      client.on('data', this.onGuardData);
    } else {
      this.clientToBackend();
    }
    backend.on('drain', this.resumeClient);
    // backend -> client
    if (!opts.backendDirect) backend.on('data', opts.fromBackend ? this.onBackendIntercepted : this.onBackendData);
    client.on('drain', this.resumeBackend);
    // FIN either way; the client's may have come with its first bytes, before this relay existed.
    if (client.readableEnded) this.fin('client');
    else client.once('end', this.onClientEnd);
    backend.once('end', this.onBackendEnd);
    if (client.destroyed) this.onSocketClose('client');
    if (backend.destroyed) this.onSocketClose('backend');
    client.resume();
    backend.resume();
  }

  private clientToBackend(): void {
    const reader = this.owner.clientReader;
    if (reader && !this.opts.fromClient) reader.relayTo(this.backend);
    this.client.on('data', this.opts.fromClient ? this.onClientIntercepted : this.onClientData);
  }

  private readonly onClientData = (chunk: Buffer): void => {
    if (!this.backend.write(chunk)) this.client.pause();
  };

  private readonly onBackendData = (chunk: Buffer): void => {
    if (!this.client.write(chunk)) this.backend.pause();
  };

  private readonly onClientIntercepted = (chunk: Buffer): void => {
    this.opts.fromClient!(chunk);
    if (this.backend.writableNeedDrain) this.client.pause();
  };

  private readonly onBackendIntercepted = (chunk: Buffer): void => {
    this.opts.fromBackend!(chunk);
    if (this.client.writableNeedDrain) this.backend.pause();
  };

  private readonly resumeClient = (): void => {
    if (!this.client.readableEnded) this.client.resume();
  };

  private readonly resumeBackend = (): void => {
    if (!this.backend.readableEnded) this.backend.resume();
  };

  private readonly onGuardData = (chunk: Buffer): void => {
    const held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    const verdict = this.opts.firstBytes!(held);
    if (verdict === 'more') {
      this.held = held;
      return;
    }
    this.held = undefined;
    this.guarding = false;
    this.client.removeListener('data', this.onGuardData);
    if (verdict === 'reject') {
      this.owner.close('client', 'protocol_error');
      return;
    }
    this.passHeld(held);
  };

  /** The guard let the first bytes through (or the client ended before it could decide). */
  private passHeld(held: Buffer | undefined): void {
    if (held && held.length > 0) {
      if (this.opts.fromClient) this.opts.fromClient(held);
      else if (!this.backend.write(held)) this.client.pause();
    }
    this.clientToBackend();
  }

  private readonly onClientEnd = (): void => this.fin('client');
  private readonly onBackendEnd = (): void => this.fin('backend');

  private fin(side: 'client' | 'backend'): void {
    if (side === 'client' && this.guarding) {
      const held = this.held;
      this.held = undefined;
      this.guarding = false;
      this.client.removeListener('data', this.onGuardData);
      this.passHeld(held);
    }
    this.firstEnded ??= side;
    this.opts.onFin?.(side);
    endOrClose(side === 'client' ? this.backend : this.client);
    this.owner.markHalfClosed(this.opts.now());
  }

  /** ConnectionEngine: a socket closed. The other is ended after its queue; both closed ends the relay. */
  onSocketClose(side: 'client' | 'backend'): void {
    if (side === 'client') {
      if (this.clientClosed) return;
      this.clientClosed = true;
      // Gone both ways: nothing more can reach the client; the backend gets what was read.
      endOrClose(this.backend);
    } else {
      if (this.backendClosed) return;
      this.backendClosed = true;
      endOrClose(this.client);
    }
    this.firstEnded ??= side;
    if (this.clientClosed && this.backendClosed) this.owner.close(this.firstEnded, 'closed');
    else this.owner.markHalfClosed(this.opts.now());
  }

  onClosed(): void {
    this.opts.onClosed?.();
  }
}
