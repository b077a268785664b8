import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, 0 if it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** `pid` and its direct children (a WORKERS > 1 server's workers), read from /proc. */
export function processTree(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The parent pid is the second field after the parenthesised command name.
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return [pid, ...children];
}

/** Busy CPU seconds of the whole machine so far (all cores; everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_SECOND;
}

/** CPU seconds of each group of processes, read at the start and end of a phase. */
export interface CpuSample {
  readonly at: number;
  readonly machine: number;
  readonly groups: Record<string, ReadonlyMap<number, number>>;
}

/** Samples the CPU time of named groups of pids. */
export function sampleCpu(groups: Record<string, readonly number[]>): CpuSample {
  const out: Record<string, Map<number, number>> = {};
  for (const [name, pids] of Object.entries(groups)) out[name] = new Map(pids.map((p) => [p, processCpuSeconds(p)]));
  return { at: performance.now(), machine: machineBusySeconds(), groups: out };
}

/**
 * Cores used by each group between two samples, plus `other` (the rest of the machine) and `idle`.
 * A pid only in `end` started during the phase; a pid gone by `end` is left out.
 */
export function coresBetween(start: CpuSample, end: CpuSample, cores: number): Record<string, number> {
  const wall = (end.at - start.at) / 1000;
  const result: Record<string, number> = {};
  let ours = 0;
  for (const name of Object.keys(end.groups)) {
    let seconds = 0;
    for (const [pid, cpu] of end.groups[name] ?? new Map<number, number>()) {
      if (cpu > 0) seconds += cpu - (start.groups[name]?.get(pid) ?? 0);
    }
    const used = seconds / wall;
    result[name] = used;
    ours += used;
  }
  const busy = (end.machine - start.machine) / wall;
  result.other = Math.max(0, busy - ours);
  result.idle = Math.max(0, cores - busy);
  return result;
}
