/** CPU time of a process in milliseconds (user + system). */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 });
    const n = Number.parseInt(r.stdout ?? '', 10);
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/** Cumulative CPU ms of any process, from /proc/<pid>/stat (Linux; 10 ms resolution). */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / clockTicks();
}

/** Cumulative minor page faults of a process, from /proc/<pid>/stat (field 10). */
export function procMinorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

/** Cumulative CPU ms of this process (process.cpuUsage, microsecond resolution). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms of a process plus its direct children that are still running (e.g. nginx master + workers). */
export function procTreeCpuMs(pid: number): number {
  let total = procCpuMs(pid);
  for (const child of childPids(pid)) {
    try {
      total += procCpuMs(child);
    } catch {
      // exited between listing and reading
    }
  }
  return total;
}

function childPids(pid: number): number[] {
  try {
    const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (list !== '') return list.split(/\s+/).map(Number);
  } catch {
    // kernel without CONFIG_PROC_CHILDREN: scan /proc below
  }
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}
