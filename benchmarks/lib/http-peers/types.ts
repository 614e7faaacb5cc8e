/** What every HTTP proxy under test (a "peer") looks like to the benchmark child. */

export interface IPemPairLike {
  key: string;
  cert: string;
}

export interface IPeerOptions {
  /** The origin on 127.0.0.1 (plain HTTP). */
  targetPort: number;
  /** When set, the peer terminates TLS with this key pair on its listening port. */
  tls?: IPemPairLike;
  /** Host name clients send (Host header and SNI); peers that route by name use it. */
  domain: string;
}

export interface IRunningPeer {
  port: number;
  close(): Promise<void>;
}

export type PeerStarter = (o: IPeerOptions) => Promise<IRunningPeer>;

/** Upstream keep-alive sockets each Node peer may hold (load uses fewer connections than this). */
export const UPSTREAM_SOCKETS = 128;
