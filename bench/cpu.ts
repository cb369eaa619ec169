// How much CPU processes other than the bench's own used during a run (Linux /proc only). On a
// shared 2-core machine that is the main source of noise: a run during which others used half a
// core is not comparable with a quiet one, and the report says so.
import fs from "node:fs";

export interface CpuSnapshot {
  at: number;
  /** Busy jiffies of the whole machine (user, nice, system, irq, softirq). */
  busy: number;
  /** Jiffies of this process, its reaped children, and the given processes and their children. */
  ours: number;
}

/** Linux's USER_HZ: 100 on every common build. */
const HZ = 100;

function readStat(pid: number | "self"): string[] | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may hold spaces and parentheses: fields start after the last ')'. Index 0 is field 3.
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** utime + stime + cutime + cstime (fields 14-17). */
function jiffies(f: string[] | null): number {
  return f ? Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) : 0;
}

function childrenOf(pids: Set<number>): number[] {
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    const f = readStat(Number(e));
    if (f && pids.has(Number(f[1]))) out.push(Number(e));
  }
  return out;
}

export function cpuSnapshot(pids: readonly number[]): CpuSnapshot | null {
  let total: string;
  try {
    total = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  } catch {
    return null;
  }
  const [, user, nice, system, , , irq, softirq] = total.trim().split(/\s+/).map(Number);
  const busy = user! + nice! + system! + irq! + softirq!;
  const tree = new Set(pids);
  for (const c of childrenOf(tree)) tree.add(c);
  let ours = jiffies(readStat("self"));
  for (const pid of tree) ours += jiffies(readStat(pid));
  return { at: Date.now(), busy, ours };
}

/** Average cores used by everything else between two snapshots; null without /proc. */
export function otherCores(a: CpuSnapshot | null, b: CpuSnapshot | null): number | null {
  if (!a || !b || b.at <= a.at) return null;
  const other = b.busy - a.busy - (b.ours - a.ours);
  return Math.max(0, other / HZ / ((b.at - a.at) / 1000));
}
