/**
 * A TCP echo backend that misbehaves on request. Each connection starts with a 6-byte
 * control header chosen by the client (so the fault belongs to the connection, whatever
 * order connections arrive in under concurrency): magic 0xFA, the fault, and a 32-bit byte
 * offset. The backend echoes everything after the header; once `offset` bytes are echoed it
 * applies the fault: 'destroy' (close at once), 'reset' (RST), 'end' (FIN its side, stop
 * echoing, keep reading). 'echo' never faults and answers the client's FIN with its own
 * once the echo is flushed.
 */
import * as net from 'node:net';

export type BackendFault = 'echo' | 'destroy' | 'reset' | 'end';

const FAULTS: readonly BackendFault[] = ['echo', 'destroy', 'reset', 'end'];
const MAGIC = 0xfa;
export const FAULT_HEADER_BYTES = 6;

export function faultHeader(fault: BackendFault, offset: number): Buffer {
  const b = Buffer.alloc(FAULT_HEADER_BYTES);
  b[0] = MAGIC;
  b[1] = FAULTS.indexOf(fault);
  b.writeUInt32BE(offset >>> 0, 2);
  return b;
}

export interface IFaultyBackend {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open now. */
  readonly active: number;
  /** Connections whose header was not 6 valid bytes (destroyed at once). */
  readonly badHeaders: number;
  close(): Promise<void>;
}

export async function startFaultyBackend(): Promise<IFaultyBackend> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let badHeaders = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    serve(socket, () => badHeaders++);
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get connections() {
      return connections;
    },
    get active() {
      return sockets.size;
    },
    get badHeaders() {
      return badHeaders;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(socket: net.Socket, onBadHeader: () => void): void {
  let header = Buffer.alloc(0);
  let fault: BackendFault | undefined;
  let offset = 0;
  let echoed = 0;
  let faulted = false;

  const apply = (): void => {
    faulted = true;
    if (fault === 'destroy') socket.destroy();
    else if (fault === 'reset') socket.resetAndDestroy();
    else socket.end();
  };

  const echo = (chunk: Buffer): void => {
    if (faulted || socket.destroyed) return;
    let part = chunk;
    if (fault !== 'echo' && echoed + part.length >= offset) part = part.subarray(0, offset - echoed);
    if (part.length > 0) {
      echoed += part.length;
      if (!socket.write(part)) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    }
    if (fault !== 'echo' && echoed >= offset) apply();
  };

  socket.on('data', (chunk: Buffer) => {
    if (fault === undefined) {
      header = Buffer.concat([header, chunk]);
      if (header.length < FAULT_HEADER_BYTES) return;
      const kind = FAULTS[header[1]!];
      if (header[0] !== MAGIC || kind === undefined) {
        onBadHeader();
        socket.destroy();
        return;
      }
      fault = kind;
      offset = header.readUInt32BE(2);
      const rest = header.subarray(FAULT_HEADER_BYTES);
      header = Buffer.alloc(0);
      if (fault !== 'echo' && offset === 0) apply();
      else if (rest.length > 0) echo(rest);
      return;
    }
    echo(chunk);
  });
  // The client's FIN: answer with ours once everything echoed is queued (write order keeps it after).
  socket.on('end', () => {
    if (!faulted && !socket.destroyed) socket.end();
  });
}
