import * as net from 'node:net';
import { SmartProxyError } from '../core/errors.js';
import { setOnListener, setOnSocket, type AcceptedSocketOptions } from './socket-options.js';

/**
 * One net.Server on one port. Sockets are accepted paused and half-open capable, with Nagle
 * off and TCP keep-alive per the options: inherited from the listening socket where the
 * platform allows it, else set on each socket.
 */
export class PortListener {
  private readonly server: net.Server;
  private listening = false;
  /** Accepted sockets arrive with the socket options already set (see setOnListener). */
  private inherited = false;

  constructor(
    readonly port: number,
    private readonly socketOptions: AcceptedSocketOptions,
    private readonly onSocket: (socket: net.Socket, port: number) => void,
    private readonly onError: (err: Error, port: number) => void,
  ) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      if (!this.inherited) setOnSocket(socket, this.socketOptions);
      this.onSocket(socket, this.port);
    });
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
        this.inherited = setOnListener(this.server, this.socketOptions);
        resolve();
      });
    });
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
