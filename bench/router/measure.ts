// What surrounds every measured run: a quiet machine first, this process's event-loop delay and
// the CPU others use during it, and the client processes (WebSocket, SSE) the bench spawns.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { cpuSnapshot, otherCores } from "../cpu";
import type { LoadResult } from "../load";
import { sleep, spawnTs } from "../proc";
import { ms } from "../stats";
import { cfg, NOISY_CORES, QUIET_WAIT_PER_RUN_MS } from "./options";
import { say, type LoadRound, type LoopDelay } from "./results";

/** PIDs whose CPU is the bench's own (besides this process and its reaped children). */
export const ownPids = new Set<number>();

/** CPU of every process but the bench's, from now on: `otherCores(before, ownCpu())`. */
export const ownCpu = () => cpuSnapshot([...ownPids]);

/** Runs `fn` while sampling this process's event-loop delay (1 ms resolution). */
export async function withLoopDelay<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; delay: LoopDelay }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const value = await fn();
    return {
      value,
      delay: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 },
    };
  } finally {
    h.disable();
  }
}

export async function runClient(
  mode: string,
  clientArgs: string[],
  timeoutMs: number,
): Promise<unknown> {
  const child = spawnTs(`client-${mode}`, "client.ts", [mode, ...clientArgs]);
  const pid = child.proc.pid;
  if (pid) ownPids.add(pid); // once reaped, its CPU shows in this process's cutime instead
  const timer = setTimeout(() => void child.stop(1_000), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  if (pid) ownPids.delete(pid);
  const line = /^RESULT (.*)$/m.exec(child.stdout());
  if (!line)
    throw new Error(`client ${mode} failed (exit ${code}): ${child.stderr().slice(-1000)}`);
  return JSON.parse(line[1]!);
}

export function socketErrors(r: LoadResult): number {
  const e = r.socketErrors;
  return e.connect + e.read + e.write + e.timeout + (e.other ?? 0);
}

let quietBudgetMs = cfg.quietWaitSec * 1000;

/**
 * Before a measured run: waits (in 0.5 s looks, within what is left of --quiet-wait) until other
 * processes use under NOISY_CORES. Returns the milliseconds waited.
 */
export async function waitQuiet(): Promise<number> {
  const started = Date.now();
  while (quietBudgetMs > 0 && Date.now() - started < QUIET_WAIT_PER_RUN_MS) {
    const a = ownCpu();
    await sleep(500);
    const other = otherCores(a, ownCpu());
    quietBudgetMs -= 500;
    if (other === null || other <= NOISY_CORES) break;
  }
  const waited = Date.now() - started;
  if (waited > 500) say(`   (waited ${ms(waited)} for other processes to calm down)`);
  return waited;
}

export function roundLine(name: string, run: LoadRound): string {
  const r = run.result;
  const loop = run.loopDelay
    ? `; event-loop delay p99 ${ms(run.loopDelay.p99)}, max ${ms(run.loopDelay.max)}`
    : "";
  const other = run.otherCores === null ? "" : `; others used ${run.otherCores.toFixed(2)} cores`;
  return `${name}: ${r.rps.toFixed(0)} req/s, p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, non-2xx ${r.non2xx}, socket errors ${socketErrors(r)}${loop}${other}`;
}
