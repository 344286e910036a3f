/** CPU time of processes, for the benchmarks that print where the CPU went. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPU seconds used so far by the PostgreSQL whose command line names `pgDir` (its postmaster, its
 * ended children, and its live backends), from /proc; null where /proc cannot tell.
 */
export function postgresCpuSeconds(pgDir: string): number | null {
  let ticksPerSecond: number;
  try {
    ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    ticksPerSecond = 100;
  }
  const stat = (pid: string): string[] | null => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' '); // the fields from the 3rd (state) on
    } catch {
      return null;
    }
  };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return null;
  }
  const postmaster = pids.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(pgDir);
    } catch {
      return false;
    }
  });
  if (postmaster === undefined) return null;
  let ticks = 0;
  for (const pid of pids) {
    const f = stat(pid);
    if (f === null) continue;
    // f[1] ppid, f[11] utime, f[12] stime, f[13] cutime, f[14] cstime
    if (pid === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (f[1] === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / ticksPerSecond;
}

/** CPU seconds (user and system) of this process so far. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Starts measuring the whole machine (/proc/stat); the function returned gives how many cores were
 * busy, and how many waited on the disk, on average since.
 */
export function machineUsage(): () => { busyCores: number; iowaitCores: number } {
  const cores = availableParallelism();
  const ticks = (): { busy: number; iowait: number; total: number } => {
    // cpu  user nice system idle iowait irq softirq steal ...
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((x, y) => x + y, 0);
    const iowait = fields[4] ?? 0;
    return { busy: total - fields[3]! - iowait, iowait, total };
  };
  const t0 = ticks();
  return () => {
    const t1 = ticks();
    const share = (n: number): number => (n / (t1.total - t0.total)) * cores;
    return { busyCores: share(t1.busy - t0.busy), iowaitCores: share(t1.iowait - t0.iowait) };
  };
}
