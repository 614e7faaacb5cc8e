/** Markdown report of the HTTP benchmark: one table per case, ratios, and the targets. */
import { markdownTable, fmt, ratio } from './report.js';
import { HTTP_TARGET_LABEL, NODE_PEERS, type HttpTargetName } from './http-targets.js';

export interface IHttpSample {
  rps?: number;
  p99?: number;
  cpuPerReqUs?: number;
  /** 'error' (failed, see notes) or 'not measured'. */
  error?: string;
}

export interface ICaseResult {
  name: string;
  title: string;
  tls: boolean;
  rows: Map<HttpTargetName, IHttpSample>;
}

/** The Node peer (SmartProxy excluded) with the highest req/s in this case. */
export function fastestNodePeer(c: ICaseResult): HttpTargetName | undefined {
  let best: HttpTargetName | undefined;
  for (const t of NODE_PEERS) {
    const r = c.rows.get(t)?.rps;
    if (r !== undefined && (best === undefined || r > c.rows.get(best)!.rps!)) best = t;
  }
  return best;
}

function caseTable(c: ICaseResult): string[] {
  const fastest = fastestNodePeer(c);
  const ref = (t: HttpTargetName | undefined): number | undefined => (t ? c.rows.get(t)?.rps : undefined);
  const direct = ref('direct');
  const peer = ref(fastest);
  const nginx = ref('nginx');
  const rows = [...c.rows].map(([t, s]) => {
    if (s.rps === undefined) return [HTTP_TARGET_LABEL[t], s.error ?? 'error', '', '', '', '', ''];
    return [
      HTTP_TARGET_LABEL[t],
      fmt(s.rps),
      fmt(s.p99),
      t === 'direct' ? '—' : fmt(s.cpuPerReqUs),
      t === 'direct' ? '—' : ratio(s.rps, direct),
      t === fastest ? '—' : ratio(s.rps, peer),
      t === 'nginx' ? '—' : ratio(s.rps, nginx),
    ];
  });
  return [
    `### ${c.name}: ${c.title}`,
    '',
    markdownTable(['target', 'req/s', 'p99 ms', 'proxy CPU µs/req', 'req/s vs direct', 'vs fastest Node peer', 'vs nginx'], rows),
    '',
    `Fastest Node peer here: ${fastest ? HTTP_TARGET_LABEL[fastest] : 'none measured'}.`,
    '',
  ];
}

interface IGoal {
  text: string;
  caseName: string;
  ref: 'peer' | 'nginx';
  min: number;
}

const GOALS: IGoal[] = [
  { text: 'small plain: SmartProxy ≥ 1.5× the fastest Node peer', caseName: 'small', ref: 'peer', min: 1.5 },
  { text: 'small plain: SmartProxy ≥ 0.6× nginx', caseName: 'small', ref: 'nginx', min: 0.6 },
  { text: 'small TLS-terminated: SmartProxy ≥ 0.5× nginx terminating TLS', caseName: 'tls-small', ref: 'nginx', min: 0.5 },
];

function goalRows(results: ICaseResult[]): string[][] {
  return GOALS.map((g) => {
    const c = results.find((r) => r.name === g.caseName);
    if (!c) return [g.text, 'case not run', ''];
    const sp = c.rows.get('smartproxy')?.rps;
    const refName = g.ref === 'peer' ? fastestNodePeer(c) : 'nginx';
    const ref = refName ? c.rows.get(refName)?.rps : undefined;
    if (sp === undefined || ref === undefined) return [g.text, 'n/a', 'n/a'];
    const r = sp / ref;
    return [g.text, `${r.toFixed(2)}×`, r >= g.min ? 'met' : 'not met'];
  });
}

export function printHttpReport(setup: string, results: ICaseResult[], notes: string[]): string {
  const out: string[] = [setup, ''];
  for (const c of results) out.push(...caseTable(c));
  out.push('### Targets (issue 6), by req/s', '', markdownTable(['goal', 'measured', 'status'], goalRows(results)), '');
  if (notes.length > 0) out.push('Notes:', '', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n').trimEnd();
}
