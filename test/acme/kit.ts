/** Small shared pieces of the ACME tests. */
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { TestContextLike } from '../integration/harness.js';

/** A not yet existing `certs` directory inside a temporary directory removed after the test. */
export function tempStore(t: TestContextLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'spx-acme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'certs');
}

/** The leaf certificate a TLS handshake with 127.0.0.1:port for `servername` gets (unverified: only looked at). */
export async function servedCertificate(port: number, servername: string): Promise<X509Certificate> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
  socket.on('error', () => {});
  try {
    await once(socket, 'secureConnect');
    return new X509Certificate(socket.getPeerCertificate().raw);
  } finally {
    socket.destroy();
  }
}
