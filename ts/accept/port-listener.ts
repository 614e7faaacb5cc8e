import * as net from 'node:net';
import { SmartProxyError } from '../core/errors.js';
import { RelayReader, setOnListener, socketFor, takeOverAccept, type AcceptedSocketOptions, type NodeInternalsOptions } from '../core/node-internals.js';
import type { AcceptSink } from '../dispatch/dispatcher.js';
import { setOnSocket } from './socket-options.js';

/**
 * One net.Server on one port. Sockets are accepted paused and half-open capable, with Nagle
 * off and TCP keep-alive per the options: inherited from the listening socket where the
 * platform allows it (`nodeInternals.listenerSocketOptions`), else set on each socket. With
 * `nodeInternals.acceptTakeover` the sockets are built here from the accepted handles, with a
 * RelayReader where the port only relays (and `directRead` is on); otherwise net.Server's
 * 'connection' event delivers them.
 */
export class PortListener {
  private readonly server: net.Server;
  private listening = false;
  /** Accepted sockets arrive with the socket options already set (see setOnListener), and are built knowing it. */
  private inherited = false;

  constructor(
    readonly port: number,
    private readonly socketOptions: AcceptedSocketOptions,
    private readonly internals: Readonly<NodeInternalsOptions>,
    private readonly sink: AcceptSink,
    private readonly onError: (err: Error, port: number) => void,
  ) {
    // The 'connection' path serves only where the accept take-over is unavailable.
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.deliver(socket, undefined));
    this.server.on('error', (err) => {
      if (this.listening) this.onError(err, this.port);
    });
  }

  /** Bind; on '::' failure for lack of IPv6, fall back to 0.0.0.0. */
  async listen(address: string | undefined): Promise<void> {
    try {
      await this.bind(address ?? '::');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (address === undefined && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
        await this.bind('0.0.0.0');
      } else {
        throw new SmartProxyError('SPX_ERR_LISTEN', `cannot listen on port ${this.port}: ${(err as Error).message}`, { cause: err, port: this.port });
      }
    }
  }

  private bind(host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      this.server.once('error', fail);
      this.server.listen({ port: this.port, host, exclusive: true }, () => {
        this.server.removeListener('error', fail);
        this.listening = true;
        const { acceptTakeover, directRead, listenerSocketOptions } = this.internals;
        const own =
          acceptTakeover &&
          takeOverAccept(this.server, (handle) => {
            const reader = directRead && this.sink.relaysOnly(this.port) ? new RelayReader() : undefined;
            const socket = socketFor(handle, reader, this.inherited ? this.socketOptions : undefined);
            reader?.attach(socket);
            this.deliver(socket, reader);
          });
        // Inherited options are relied on only for sockets built here, which are told of them;
        // sockets from the 'connection' fallback get them set one by one.
        this.inherited = own && listenerSocketOptions && setOnListener(this.server, this.socketOptions);
        resolve();
      });
    });
  }

  private deliver(socket: net.Socket, reader: RelayReader | undefined): void {
    if (!this.inherited) setOnSocket(socket, this.socketOptions);
    this.sink.onSocket(socket, this.port, reader);
  }

  /** The port actually bound (differs from `port` only when 0 was asked). */
  boundPort(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : this.port;
  }

  /**
   * Stop accepting at once; open connections are not touched (the ConnectionManager owns
   * them). server.close()'s callback waits for every accepted connection to end, so the
   * listening handle's closing is not awaited here: the port is released synchronously.
   */
  close(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    this.server.close();
    return Promise.resolve();
  }
}
