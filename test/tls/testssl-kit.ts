/**
 * testssl.sh against loopback TLS servers, for test/tls/testssl.test.ts: finding the tool (Debian
 * installs it as `testssl`, upstream names it `testssl.sh`), running a bounded set of checks with
 * JSON output and nothing leaving 127.0.0.1, parsing the findings, comparing two targets by id,
 * and a reference nginx terminating TLS with a given certificate.
 *
 * Nothing leaves loopback: the target is `<name>:<port>` with `--ip 127.0.0.1` (the name is only
 * the SNI and the certificate-name check), `--nodns none` skips every DNS query about the target
 * (A/AAAA, rDNS, CAA), `--phone-out` (CRL download, OCSP queries) stays off, as is testssl's
 * default, and NXCONNECT=127.0.0.1:0 points the probes of its own openssl (which curves it
 * knows: `s_client -curves X -connect invalid.`, one DNS query for "invalid." per curve by
 * default) at a local port that refuses. Checked with strace: every connect() is to 127.0.0.1,
 * or ::1:4433 (s_client's default target, for option probes without -connect).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from '../helpers/tools.js';
import { freePort } from '../../benchmarks/lib/net-util.js';
import { nginxPrelude, nginxVersion } from '../../benchmarks/lib/nginx.js';
import { spawnServer } from '../../benchmarks/lib/spawn-server.js';

/** The names testssl.sh goes by on PATH: Debian's package (`testssl`), then upstream's. */
export const TESTSSL_NAMES = ['testssl', 'testssl.sh'] as const;

/** The testssl.sh on PATH, or undefined. */
export function testsslCommand(): string | undefined {
  return TESTSSL_NAMES.find((n) => hasCommand(n));
}

/** "3.0.8" from the banner (`testssl --version`), or 'unknown'. */
export function testsslVersion(cmd: string): string {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  return /testssl(?:\.sh)?\s+(\d[\w.+~-]*)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown';
}

/**
 * The checks run (testssl's single-check flags): protocols incl. ALPN (-p), cipher categories
 * (-s), forward secrecy and curves/groups (-f), the server's cipher order and picks per protocol
 * (-P), server defaults: extensions, session tickets and their lifetime, resumption, the
 * certificate (-S), and every vulnerability check (-U: Heartbleed, CCS, Ticketbleed, ROBOT,
 * renegotiation, CRIME, BREACH, POODLE, fallback SCSV, SWEET32, FREAK, DROWN, LOGJAM, BEAST,
 * LUCKY13, RC4). Left out, as slow and informational only: each cipher (-e, ~370 handshakes),
 * client simulation (-c), HTTP response headers (-h: the backend's business, not the TLS door).
 */
export const TESTSSL_CHECKS: readonly string[] = ['-p', '-s', '-f', '-P', '-S', '-U'];

export interface ITestsslTarget {
  /** Sent as SNI and checked against the certificate; never resolved (the address is 127.0.0.1). */
  name: string;
  port: number;
  /** PEM CA file trusted for the chain-of-trust check (--add-ca). */
  caFile?: string;
}

/** The command line for one target (the URI comes last, as testssl requires). */
export function testsslArgs(target: ITestsslTarget, jsonFile: string, checks: readonly string[] = TESTSSL_CHECKS): string[] {
  return [
    '--quiet', // no banner (accepts the usage terms the banner shows)
    '--warnings', 'off', // never stop to ask
    '--color', '0',
    '--nodns', 'none', // no DNS query at all
    '--ip', '127.0.0.1', // the address to test; the name is only SNI
    '--connect-timeout', '10',
    '--openssl-timeout', '10',
    ...(target.caFile !== undefined ? ['--add-ca', target.caFile] : []),
    '--jsonfile', jsonFile,
    ...checks,
    `${target.name}:${target.port}`,
  ];
}

/** One line of testssl's flat JSON output. */
export interface IFinding {
  id: string;
  severity: string;
  finding: string;
}

export interface ITestsslRun {
  findings: IFinding[];
  /** Its text report (no colour). */
  stdout: string;
  stderr: string;
  code: number | null;
  ms: number;
  args: string[];
}

/**
 * Runs testssl against one target; rejects when it dies, reports a fatal error (exit 242..255:
 * command line, connectivity, resources) or writes no JSON, and kills it after `timeoutMs`.
 */
export async function runTestssl(cmd: string, target: ITestsslTarget, opts: { checks?: readonly string[]; timeoutMs?: number } = {}): Promise<ITestsslRun> {
  const dir = mkdtempSync(join(tmpdir(), 'spx-testssl-'));
  const jsonFile = join(dir, 'findings.json');
  const args = testsslArgs(target, jsonFile, opts.checks);
  const started = Date.now();
  try {
    const child = spawn(cmd, args, {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group, so a timeout kills the openssl children too
      detached: true,
      env: { ...process.env, TERM: 'dumb', COLUMNS: '120', TMPDIR: dir, NXCONNECT: '127.0.0.1:0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1_000_000) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 100_000) stderr += d.toString();
    });
    const timeoutMs = opts.timeoutMs ?? 150_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    clearTimeout(timer);
    const ms = Date.now() - started;
    const where = `${cmd} ${args.join(' ')}`;
    if (timedOut) throw new Error(`${where}: timed out after ${timeoutMs} ms\n${tail(stdout)}`);
    if (code === null || code >= 242) throw new Error(`${where}: exited ${code}\n${tail(stdout)}\n${tail(stderr)}`);
    if (!existsSync(jsonFile)) throw new Error(`${where}: wrote no ${jsonFile}\n${tail(stdout)}\n${tail(stderr)}`);
    const findings = parseFindings(readFileSync(jsonFile, 'utf8'));
    if (!findings.some((f) => f.id === 'scanTime')) throw new Error(`${where}: the JSON has no scanTime (an unfinished scan)\n${tail(stdout)}`);
    return { findings, stdout, stderr, code, ms, args };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function tail(s: string, n = 4000): string {
  return s.length > n ? `...${s.slice(-n)}` : s;
}

/** The flat JSON (`--jsonfile`): an array of {id, ip, port, severity, finding, ...}. */
export function parseFindings(json: string): IFinding[] {
  const raw = JSON.parse(json) as unknown;
  if (!Array.isArray(raw)) throw new Error('testssl JSON: not an array');
  return raw.map((r: Record<string, unknown>) => ({
    id: String(r.id ?? ''),
    severity: String(r.severity ?? ''),
    finding: String(r.finding ?? ''),
  }));
}

/** testssl's severities, least to most severe; WARN (a check that could not be done) is its own kind. */
export const SEVERITIES = ['DEBUG', 'INFO', 'OK', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

function rank(severity: string | undefined): number {
  if (severity === undefined) return -1;
  return SEVERITIES.indexOf(severity as (typeof SEVERITIES)[number]);
}

/** LOW and above. */
export function isFlagged(severity: string): boolean {
  return rank(severity) >= rank('LOW');
}

/**
 * WARN ids that are about the scanning tool, not the server: its openssl (they come with any
 * target, so the comparison by id cancels them anyway), and the session-resumption checks, which
 * race with TLS 1.3 tickets: testssl saves the session of an `s_client </dev/null` that may exit
 * before the server's NewSessionTicket arrives, the empty file fails the second s_client, and the
 * finding reads "check failed because of connect problem" (seen on nginx and SmartProxy alike,
 * one run in a few). Both ids are INFO when the check works.
 */
export const TOOL_WARN_IDS: ReadonlySet<string> = new Set([
  'engine_problem',
  'old_fart',
  'too_old_openssl',
  'sessionresumption_ticket',
  'sessionresumption_ID',
]);

/** Findings by id (an id seen twice keeps the worse severity; findings joined). */
export function byId(findings: readonly IFinding[]): Map<string, IFinding> {
  const out = new Map<string, IFinding>();
  for (const f of findings) {
    const seen = out.get(f.id);
    if (seen === undefined) out.set(f.id, { ...f });
    else {
      if (rank(f.severity) > rank(seen.severity) || f.severity === 'WARN') seen.severity = f.severity;
      seen.finding = `${seen.finding} | ${f.finding}`;
    }
  }
  return out;
}

export interface IFindingPair {
  id: string;
  ours: IFinding | undefined;
  ref: IFinding | undefined;
}

/**
 * What testssl flags on `ours` and not (or less severely) on `ref`, compared by id: a LOW..CRITICAL
 * finding whose id the reference lacks or has with a lower severity, and a WARN (a check that
 * failed against this server) the reference does not share.
 */
export function flaggedOnlyOn(ours: readonly IFinding[], ref: readonly IFinding[]): IFindingPair[] {
  const a = byId(ours);
  const b = byId(ref);
  const out: IFindingPair[] = [];
  for (const [id, f] of a) {
    const r = b.get(id);
    if (f.severity === 'WARN') {
      if (!TOOL_WARN_IDS.has(id) && r?.severity !== 'WARN') out.push({ id, ours: f, ref: r });
    } else if (isFlagged(f.severity) && rank(f.severity) > rank(r?.severity)) {
      out.push({ id, ours: f, ref: r });
    }
  }
  return out;
}

/** Ids that differ at all (severity or finding), for the table; per-cipher and timing ids left out. */
export function differing(ours: readonly IFinding[], ref: readonly IFinding[]): IFindingPair[] {
  const a = byId(ours);
  const b = byId(ref);
  const skip = (id: string): boolean => id === 'scanTime' || /^cipher_x[0-9a-f]+$/i.test(id) || id.startsWith('clientsimulation-');
  const ids = [...new Set([...a.keys(), ...b.keys()])].filter((id) => !skip(id));
  return ids
    .map((id) => ({ id, ours: a.get(id), ref: b.get(id) }))
    .filter((p) => p.ours?.severity !== p.ref?.severity || p.ours?.finding !== p.ref?.finding);
}

/** A plain-text table: id, then severity and finding on each side. */
export function findingTable(pairs: readonly IFindingPair[], names: [string, string], width = 60): string {
  const cell = (f: IFinding | undefined): string => (f === undefined ? '(absent)' : `${f.severity} ${f.finding}`).replace(/\s+/g, ' ').slice(0, width);
  const idw = Math.max(2, ...pairs.map((p) => p.id.length));
  const lines = [`${'id'.padEnd(idw)}  ${names[0].padEnd(width)}  ${names[1]}`, `${'-'.repeat(idw)}  ${'-'.repeat(width)}  ${'-'.repeat(width)}`];
  for (const p of pairs) lines.push(`${p.id.padEnd(idw)}  ${cell(p.ours).padEnd(width)}  ${cell(p.ref)}`);
  return lines.join('\n');
}

/**
 * The TLS settings of the reference nginx. 'debian': the two TLS lines of the nginx.conf Debian
 * ships (/etc/nginx/nginx.conf: `ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;` and
 * `ssl_prefer_server_ciphers on;`), everything else nginx's compiled-in defaults (ssl_ciphers
 * HIGH:!aNULL:!MD5, ssl_ecdh_curve auto, ssl_session_timeout 5m, tickets on, no session cache),
 * with OpenSSL's system policy on top (Debian: SECLEVEL 2, so TLS 1.0/1.1 stay off). 'builtin':
 * no ssl_* line but the certificate (nginx 1.22 then offers no TLS 1.3 and lets the client pick).
 */
export type NginxTlsProfile = 'debian' | 'builtin';

export const NGINX_TLS_LINES: Readonly<Record<NginxTlsProfile, string>> = {
  debian: 'ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n  ssl_prefer_server_ciphers on;',
  builtin: '',
};

export interface IReferenceNginx {
  port: number;
  version: string;
  config: string;
  close(): Promise<void>;
}

/** An nginx config in `dir`: one server on 127.0.0.1:port terminating TLS, proxying to the backend. */
export function referenceNginxConfig(dir: string, port: number, backendPort: number, name: string, profile: NginxTlsProfile): string {
  return `${nginxPrelude(dir, 256)}  ${NGINX_TLS_LINES[profile]}
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${name};
    ssl_certificate ${dir}/server.crt;
    ssl_certificate_key ${dir}/server.key;
    location / {
      proxy_pass http://127.0.0.1:${backendPort};
    }
  }
}
`;
}

/** Starts the reference nginx (undefined when nginx is not installed). */
export async function startReferenceNginx(
  backendPort: number,
  pair: { key: string; cert: string },
  name: string,
  profile: NginxTlsProfile = 'debian',
): Promise<IReferenceNginx | undefined> {
  const version = nginxVersion();
  if (version === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'spx-testssl-nginx-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'server.crt'), pair.cert);
  writeFileSync(join(dir, 'server.key'), pair.key, { mode: 0o600 });
  const port = await freePort();
  const config = referenceNginxConfig(dir, port, backendPort, name, profile);
  const cfg = join(dir, 'nginx.conf');
  writeFileSync(cfg, config);
  // -e: nginx >= 1.19.5 opens its default error log before reading the config; keep it in the temp dir.
  const s = await spawnServer('nginx', ['-e', join(dir, 'startup.log'), '-c', cfg, '-g', 'daemon off;'], port, dir);
  return { port, version, config, close: s.close };
}
