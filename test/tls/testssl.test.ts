/**
 * The TLS front door held to nginx's bar: testssl.sh against a SmartProxy terminating route and
 * against nginx with the same certificate (nginx as Debian ships it: see NGINX_TLS_LINES in
 * ./testssl-kit.ts), both on 127.0.0.1 and scanned at once. Every finding testssl flags for
 * SmartProxy (LOW, MEDIUM, HIGH, CRITICAL, or a WARN: a check that failed against it) must be
 * flagged at least as severely for nginx, compared by finding id. Skips when testssl.sh or nginx
 * is missing; fails instead when CI is set (.ci/run installs both).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort } from '../integration/harness.js';
import { startHttpServer } from '../helpers/backends.js';
import { testCert, testCaFile } from '../helpers/certs.js';
import { isCI, requireCommand } from '../helpers/tools.js';
import {
  differing,
  findingTable,
  flaggedOnlyOn,
  runTestssl,
  startReferenceNginx,
  testsslCommand,
  testsslVersion,
  TESTSSL_CHECKS,
  type IFinding,
} from './testssl-kit.js';

const NAME = 'testssl.test';

/** The testssl.sh command, or undefined after marking the test skipped (throws in CI). */
function requireTestssl(t: TestContext): string | undefined {
  const cmd = testsslCommand();
  if (cmd !== undefined) return cmd;
  const why = 'testssl.sh not installed (Debian/Ubuntu: apt-get install testssl.sh; .ci/run installs it)';
  if (isCI()) throw new Error(`required tool: ${why}`);
  t.skip(why);
  return undefined;
}

function flaggedList(fs: readonly IFinding[]): string {
  return fs.map((f) => `  ${f.id} ${f.severity}: ${f.finding}`).join('\n') || '  (none)';
}

test('testssl.sh flags nothing on a SmartProxy terminating route that it does not flag on nginx with the same certificate', { timeout: 240_000 }, async (t) => {
  const cmd = requireTestssl(t);
  if (cmd === undefined) return;
  if (!requireCommand('nginx', t)) return;

  const cert = testCert(NAME);
  const backend = await startHttpServer(undefined, { name: 'testssl-backend' });
  t.after(() => backend.close());
  const port = await freePort();
  await startProxy(t, {
    routes: [
      {
        name: 'testssl',
        // No domains: the route is the port's default, as nginx's only server block is its
        // default_server; testssl's renegotiation checks connect without SNI.
        match: { ports: port },
        action: {
          type: 'forward',
          target: { host: '127.0.0.1', port: backend.port },
          tls: { mode: 'terminate', certificate: { key: cert.key, cert: cert.cert } },
        },
      },
    ],
  });
  const nginx = await startReferenceNginx(backend.port, cert, NAME);
  assert.ok(nginx, 'nginx is on PATH but nginx -v failed');
  t.after(() => nginx.close());

  const caFile = testCaFile();
  const [ours, ref] = await Promise.all([
    runTestssl(cmd, { name: NAME, port, caFile }, { timeoutMs: 200_000 }),
    runTestssl(cmd, { name: NAME, port: nginx.port, caFile }, { timeoutMs: 200_000 }),
  ]);
  t.diagnostic(`testssl ${testsslVersion(cmd)} ${TESTSSL_CHECKS.join(' ')}; ${nginx.version}`);
  t.diagnostic(`SmartProxy: ${ours.findings.length} findings in ${(ours.ms / 1000).toFixed(1)} s; nginx: ${ref.findings.length} findings in ${(ref.ms / 1000).toFixed(1)} s`);

  const worse = flaggedOnlyOn(ours.findings, ref.findings);
  const diff = differing(ours.findings, ref.findings);
  if (diff.length > 0) {
    for (const line of findingTable(diff, ['SmartProxy', nginx.version]).split('\n')) t.diagnostic(line);
  }
  const table = findingTable(worse, ['SmartProxy', nginx.version], 90);
  assert.deepEqual(
    worse.map((p) => p.id),
    [],
    `testssl flags these for SmartProxy and not (or less severely) for nginx:\n${table}\n\n` +
      `flagged for SmartProxy:\n${flaggedList(ours.findings.filter((f) => f.severity !== 'OK' && f.severity !== 'INFO'))}\n` +
      `flagged for nginx:\n${flaggedList(ref.findings.filter((f) => f.severity !== 'OK' && f.severity !== 'INFO'))}`,
  );
});
