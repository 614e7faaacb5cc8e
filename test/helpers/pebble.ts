/**
 * A real ACME server for tests: Pebble (Let's Encrypt's test CA) and pebble-challtestsrv as its
 * DNS server (every A query answers 127.0.0.1), both from Debian's `pebble` package, on
 * loopback with free ports. Pebble validates HTTP-01 for real: it resolves the name through
 * challtestsrv and fetches http://<name>:<httpPort>/.well-known/acme-challenge/<token>.
 *
 * Pebble serves its API over HTTPS with a certificate made here by the test CA (`apiCa`);
 * the certificates it issues chain to a root it generates at start (`issuingRoot()`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSignedCertificate } from '../../ts/tls/self-signed.js';
import { freePorts, type TestContextLike } from '../integration/harness.js';
import { testCa } from './certs.js';
import { hasCommand, isCI, type ISkippable } from './tools.js';

export interface IPebble {
  /** https://127.0.0.1:<port>/dir */
  readonly directoryUrl: string;
  /** PEM of the CA that signed Pebble's API certificate (pass as acme.caCertificates). */
  readonly apiCa: string;
  /** The port Pebble's VA connects to for HTTP-01 (the proxy's acme.port). */
  readonly httpPort: number;
  /** Lifetime of the certificates Pebble issues, from its start-up log (seconds). */
  readonly validitySeconds: number;
  /** The root that Pebble's issued certificates chain to (management API /roots/0), as PEM. */
  issuingRoot(): Promise<string>;
  /** Pebble's log so far (for assertion messages). */
  log(): string;
  /** Stop Pebble and the DNS server (idempotent). */
  stop(): Promise<void>;
}

const BINARIES = ['pebble', 'pebble-challtestsrv'];

/** True when both Pebble binaries are on PATH. */
export function hasPebble(): boolean {
  return BINARIES.every((b) => hasCommand(b));
}

/** True when Pebble is installed. Otherwise: in CI throws, locally skips the test with a message. */
export function requirePebble(t: ISkippable): boolean {
  const missing = BINARIES.filter((b) => !hasCommand(b));
  if (missing.length === 0) return true;
  const msg = `${missing.join(' and ')} not installed (apt-get install pebble; .ci/run installs it)`;
  if (isCI()) throw new Error(msg);
  t.skip(msg);
  return false;
}

interface IRunning {
  child: ChildProcess;
  output: string[];
}

/** Spawn and wait until a line matching `ready` appears (or fail after `timeoutMs`). */
function startProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 10_000): Promise<IRunning> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not become ready within ${timeoutMs} ms:\n${output.join('')}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      output.push(d.toString('utf8'));
      if (ready.test(output.join(''))) {
        clearTimeout(timer);
        resolve({ child, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before it was ready:\n${output.join('')}`));
    });
  });
}

function stopProcess(r: IRunning | undefined): Promise<void> {
  if (r === undefined || r.child.exitCode !== null || r.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => r.child.kill('SIGKILL'), 3000);
    r.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    r.child.kill('SIGTERM');
  });
}

function httpsGet(url: string, ca: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}

export interface IPebbleOptions {
  /** The port Pebble's VA validates HTTP-01 on (default: a free port). */
  httpPort?: number;
}

/** Start Pebble + its DNS server on loopback; both are stopped after the test. */
export async function startPebble(t: TestContextLike, opts: IPebbleOptions = {}): Promise<IPebble> {
  const [apiPort, mgmtPort, dnsPort, dnsMgmtPort, tlsPort, freeHttp] = await freePorts(6);
  const httpPort = opts.httpPort ?? freeHttp!;
  const dir = mkdtempSync(join(tmpdir(), 'spx-pebble-'));
  const ca = testCa();
  const api = createSignedCertificate(ca, ['127.0.0.1', 'localhost']);
  writeFileSync(join(dir, 'cert.pem'), api.cert);
  writeFileSync(join(dir, 'key.pem'), api.key, { mode: 0o600 });
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${apiPort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: join(dir, 'cert.pem'),
      privateKey: join(dir, 'key.pem'),
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  };
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify(config));
  // Real validation (no PEBBLE_VA_ALWAYS_VALID), without its random sleeps, and no nonce rejects / authz reuse,
  // so every order does the full challenge round trip.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };
  let dns: IRunning | undefined;
  let pebble: IRunning | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([stopProcess(pebble), stopProcess(dns)]);
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(stop);
  dns = await startProcess(
    'pebble-challtestsrv',
    ['-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${dnsMgmtPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''],
    env,
    /Starting management server/,
  );
  pebble = await startProcess('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], env, /Listening on:/);
  let root: Promise<string> | undefined;
  const validity = /certificate validity period of (\d+) seconds/.exec(pebble.output.join(''));
  return {
    validitySeconds: validity ? Number(validity[1]) : 157_766_400,
    directoryUrl: `https://127.0.0.1:${apiPort}/dir`,
    apiCa: ca.cert,
    httpPort,
    issuingRoot: () => (root ??= httpsGet(`https://127.0.0.1:${mgmtPort}/roots/0`, ca.cert)),
    log: () => (pebble?.output.join('') ?? '') + (dns?.output.join('') ?? ''),
    stop,
  };
}
