/**
 * Child-process entry for one Node HTTP proxy under test (see http-peers/), with
 * the same IPC protocol as proxy-child.ts: ready / cpu / stop / error.
 * Usage: node --import tsx http-peer-child.ts '{"kind":"undici","targetPort":N,"domain":"bench.local","tls"?:{key,cert}}'
 */
import type { ChildToParent, ParentToChild } from './proxy-child.js';
import { startPeer, type NodePeerKind } from './http-peers/index.js';
import type { IPeerOptions } from './http-peers/types.js';
import { selfCpuMs } from './cpu.js';

export interface IHttpPeerChildConfig extends IPeerOptions {
  kind: NodePeerKind;
}

async function main(): Promise<void> {
  const send = (m: ChildToParent): void => {
    process.send?.(m);
  };
  try {
    const cfg = JSON.parse(process.argv[2] ?? '{}') as IHttpPeerChildConfig;
    const peer = await startPeer(cfg.kind, cfg);
    process.on('message', (m: ParentToChild) => {
      if (m.type === 'cpu') send({ type: 'cpu', ms: selfCpuMs() });
      else if (m.type === 'stop') {
        const hard = setTimeout(() => process.exit(0), 3000);
        hard.unref();
        void peer.close().finally(() => process.exit(0));
      }
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready', port: peer.port });
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
    process.exitCode = 1;
    process.disconnect?.();
  }
}

void main();
