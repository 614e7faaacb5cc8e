/**
 * Child-process entry for one Node HTTP proxy under test (see http-peers/); IPC: child-ipc.ts.
 * Usage: node http-peer-child.js '{"kind":"undici","targetPort":N,"domain":"bench.local","tls"?:{key,cert}}'
 */
import { holdAppHeap } from './app-heap.js';
import { serveChild } from './child-ipc.js';
import { startPeer, type NodePeerKind } from './http-peers/index.js';
import type { IPeerOptions } from './http-peers/types.js';

export interface IHttpPeerChildConfig extends IPeerOptions {
  kind: NodePeerKind;
}

holdAppHeap();
const cfg = JSON.parse(process.argv[2] ?? '{}') as IHttpPeerChildConfig;
void serveChild(() => startPeer(cfg.kind, cfg));
