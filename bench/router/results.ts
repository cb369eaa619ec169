// What the data plane bench measured (saved as JSON), and how it tells the person running it.
import os from "node:os";
import pino, { type DestinationStream } from "pino";
import type { LoadResult } from "../load";
import type { Summary } from "../stats";
import { cfg, type Phase } from "./options";

/** Event-loop delay of this process (API + router) during a run, milliseconds. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export interface LoadRound {
  result: LoadResult;
  loopDelay?: LoopDelay;
  otherCores: number | null;
}

export interface LoadRow {
  name: string;
  what: string;
  url: string;
  result?: LoadResult;
  /** Set for runs through our router, which shares this process's event loop with the API. */
  loopDelay?: LoopDelay;
  /** Cores used by other processes during the chosen round (null without /proc). */
  otherCores?: number | null;
  /** Every round; `result` is the best one (highest req/s). */
  rounds?: LoadRound[];
  skipped?: string;
  error?: string;
}

export interface Results {
  started: string;
  finished?: string;
  host: {
    cpus: number;
    cpuModel: string;
    node: string;
    platform: string;
    loadavgAtStart: number[];
  };
  tools: Record<string, string>;
  config: Omit<typeof cfg, "phases"> & { phases: Phase[]; loadgen: string };
  load: LoadRow[];
  ratios: Record<string, number | null>;
  routeChange?: {
    trials: number;
    createToRouted: Summary;
    enableToRouted: Summary;
    disableTo404: Summary;
    deleteTo404: Summary;
    timeouts: number;
    pollIntervalMs: number;
  };
  churn?: {
    changes: number;
    /** The same load on the same route just before, without changes. */
    quiet?: LoadRound;
    load?: LoadResult;
    loopDelay?: LoopDelay;
    otherCores?: number | null;
    quietRps?: number;
    websocket?: unknown;
    error?: string;
  };
  websocket?: { direct?: unknown; router?: unknown; error?: string };
  sse?: { direct?: unknown; router?: unknown; error?: string };
  routerTest?: {
    runs: {
      wallMs: number;
      runTimeSec: number | null;
      status: string;
      reason: string | null;
      message: string;
    }[];
    wallMs: Summary;
    passed: number;
  };
  routerLog: { warn: number; error: number; samples: string[] };
  skipped: string[];
  warnings: string[];
}

export const results: Results = {
  started: new Date().toISOString(),
  host: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadavgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  },
  tools: {},
  config: { ...cfg, phases: [...cfg.phases], loadgen: "" },
  load: [],
  ratios: {},
  routerLog: { warn: 0, error: 0, samples: [] },
  skipped: [],
  warnings: [],
};

export function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}
export function skip(what: string, why: string): void {
  const line = `${what}: ${why}`;
  results.skipped.push(line);
  say(`!! SKIPPED ${line}`);
}
export function warn(line: string): void {
  results.warnings.push(line);
  say(`!! WARNING ${line}`);
}

/** Collects the gateway's warn/error log lines (pino JSON) instead of printing them. */
const logSink: DestinationStream = {
  write(line: string) {
    let level = 0;
    try {
      level = (JSON.parse(line) as { level?: number }).level ?? 0;
    } catch {
      // not JSON: keep it as an error
      level = 50;
    }
    if (level >= 50) results.routerLog.error++;
    else if (level >= 40) results.routerLog.warn++;
    if (results.routerLog.samples.length < 20)
      results.routerLog.samples.push(line.trim().slice(0, 400));
  },
};
export const logger = pino({ level: "warn" }, logSink);
