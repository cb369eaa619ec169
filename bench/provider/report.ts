// The provider bench's figures beside the issue's targets: a table on the console, and the
// same as markdown in bench/results/provider-<start time>.md.
import fs from "node:fs";
import path from "node:path";
import { mdTable, ratio, ratioNum, table } from "../stats";
import type { GatewayLog } from "./gateway";
import type { ProgramName } from "./programs";
import {
  describeFlags,
  OPERATIONS,
  type CliFlags,
  type OperationKey,
  type OpRun,
  type StateSize,
} from "./stack";

/** Each operation of the real program at most this many times the floor's, in either mode. */
export const TIME_RATIO_TARGET = 1.2;
/** A refresh of 500 routes makes at most this many API calls (scaled for larger N). */
export const REFRESH_CALLS_TARGET = { calls: 50, routes: 500 };
/** A route's state at most this many times a no-op resource's. */
export const STATE_RATIO_TARGET = 1.5;

/** What the floor is, for the report (bench/README.md says the same). */
const FLOOR =
  "`floor`: N resources of the simplest dynamic provider a user would write: a provider object " +
  "with `create` alone, returning the id `inputs.name` and the inputs as outputs, and a subclass " +
  'of `pulumi.dynamic.Resource` (abstract) passing it `{ name: "r<i>", path: "/r<i>" }`, the ' +
  "inputs the real program gives each StaticRoute, with no options, module or type name. No " +
  "`check`, `diff`, `read`, `update` or `delete`: Pulumi takes the inputs as given, compares old " +
  "and new inputs itself, keeps the state on refresh and removes nothing, with the same RPCs.";

/** One mode's figures: every round of every operation, the state, the gateway's log. */
export interface ModeResults {
  flags: CliFlags;
  /** Every round of every operation; `calls` are the real program's API actions, per round. */
  runs: Record<OperationKey, Record<ProgramName, OpRun[]> & { calls: string[][] }>;
  /** After the first create. */
  state: Partial<Record<ProgramName, StateSize>>;
  /** The mode's own gateway. */
  gatewayLog: GatewayLog;
}

export interface ProviderResults {
  started: string;
  finished?: string;
  host: string;
  cli: string;
  n: number;
  rounds: number;
  router: boolean;
  /** In the order they ran, each on its own stacks and gateway. */
  modes: ModeResults[];
  warnings: string[];
}

/** A mode before its first run. */
export function emptyMode(flags: CliFlags): ModeResults {
  const runs = Object.fromEntries(
    OPERATIONS.map((op) => [op.key, { floor: [], real: [], calls: [] }]),
  ) as unknown as ModeResults["runs"];
  return { flags, runs, state: {}, gatewayLog: { warn: 0, error: 0, samples: [] } };
}

/**
 * The median of the successful runs (the lower middle for an even count). Not the best: the
 * best of each side alone lets one lucky run of a 1-2 s operation (a refresh) set the ratio.
 */
const typical = (runs: OpRun[]) => {
  const ok = runs
    .filter((r) => r.code === 0)
    .map((r) => r.seconds)
    .sort((a, b) => a - b);
  return ok.length ? ok[Math.floor((ok.length - 1) / 2)] : undefined;
};
const secs = (v: number | undefined) => (v === undefined ? "FAILED" : v.toFixed(2));
const verdict = (ok: boolean | undefined) => (ok === undefined ? "n/a" : ok ? "pass" : "FAIL");

/** The number of API calls (`12`), one per round when rounds differ (`12/14`). */
function callCounts(calls: string[][]): string {
  const counts = [...new Set(calls.map((c) => c.length))];
  return counts.join("/");
}

function refreshCallsVerdict(n: number, calls: string[][]): string {
  if (n < REFRESH_CALLS_TARGET.routes) return `≤${REFRESH_CALLS_TARGET.calls} at N=500: n/a`;
  const limit = Math.floor((REFRESH_CALLS_TARGET.calls * n) / REFRESH_CALLS_TARGET.routes);
  const worst = Math.max(...calls.map((c) => c.length));
  return `≤${limit}: ${verdict(worst <= limit)}`;
}

function timeTable(m: ModeResults, n: number): string[][] {
  const rows = [
    [
      "operation",
      "floor s",
      "real s",
      "ratio",
      `≤${TIME_RATIO_TARGET}x`,
      "API calls",
      "calls target",
    ],
  ];
  for (const op of OPERATIONS) {
    const run = m.runs[op.key];
    const floor = typical(run.floor);
    const real = typical(run.real);
    const q = ratioNum(real, floor);
    rows.push([
      op.label,
      secs(floor),
      secs(real),
      ratio(real, floor),
      verdict(q === null ? undefined : q <= TIME_RATIO_TARGET),
      callCounts(run.calls),
      op.key === "refresh" ? refreshCallsVerdict(n, run.calls) : "",
    ]);
  }
  return rows;
}

function stateTable(m: ModeResults, n: number): string[][] {
  const { floor, real } = m.state;
  const perN = (s?: StateSize) => (s ? s.exportBytes / n : undefined);
  const q = ratioNum(perN(real), perN(floor));
  const row = (label: string, f?: number, x?: number, target = "") => [
    label,
    f === undefined ? "n/a" : f.toFixed(0),
    x === undefined ? "n/a" : x.toFixed(0),
    ratio(x, f),
    target,
  ];
  return [
    ["state per resource (bytes)", "floor", "real", "ratio", `≤${STATE_RATIO_TARGET}x`],
    row(
      "stack export / N",
      perN(floor),
      perN(real),
      verdict(q === null ? undefined : q <= STATE_RATIO_TARGET),
    ),
    row("one resource", floor?.perResource.total, real?.perResource.total),
    row("one resource: inputs", floor?.perResource.inputs, real?.perResource.inputs),
    row("one resource: outputs", floor?.perResource.outputs, real?.perResource.outputs),
    row("__provider (each copy)", floor?.perResource.provider, real?.perResource.provider),
  ];
}

/** `routers.get_routes ×63, auth.login ×1`: the actions of one round, most called first. */
function breakdown(calls: string[]): string {
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([action, k]) => `\`${action}\` ×${k}`)
    .join(", ");
}

/** What every mode shares. */
function setting(r: ProviderResults): string {
  const gateway = r.router ? "API and embedded router" : "API only, no router";
  return (
    `${r.n} routes, ${r.rounds} round(s) (median kept; floor and real alternate which goes ` +
    `first), each mode on its own stacks and gateway (${gateway}, in the bench process), ` +
    `\`NODE_PRESERVE_SYMLINKS=1\` in both. ${r.cli}.`
  );
}

const plain = (s: string) => s.replace(/`/g, "");

export function printSummary(r: ProviderResults, say: (line?: string) => void): void {
  say("");
  say(`== summary: ${plain(setting(r))}`);
  say(plain(FLOOR));
  for (const m of r.modes) {
    say("");
    say(`-- ${m.flags.mode}: ${plain(describeFlags(m.flags))}`);
    say(table(timeTable(m, r.n)));
    say("");
    say(table(stateTable(m, r.n)));
    for (const op of OPERATIONS) {
      const calls = m.runs[op.key].calls[0];
      if (calls?.length) say(`   ${op.label}: ${plain(breakdown(calls))}`);
    }
    say(`   gateway log: ${m.gatewayLog.warn} warnings, ${m.gatewayLog.error} errors`);
  }
  say("");
  say(`${r.warnings.length} warnings`);
}

function modeMarkdown(m: ModeResults, r: ProviderResults): string[] {
  const out: string[] = [];
  out.push(`## ${m.flags.mode}`, "", `${describeFlags(m.flags)}.`, "");
  out.push("### Time and API calls", "", mdTable(timeTable(m, r.n)), "");
  out.push("### State", "", mdTable(stateTable(m, r.n)), "");
  out.push("### API calls by operation (first round)", "");
  for (const op of OPERATIONS) {
    const calls = m.runs[op.key].calls[0] ?? [];
    out.push(`- ${op.label}: ${calls.length}${calls.length ? ` (${breakdown(calls)})` : ""}`);
  }
  out.push("");
  if (r.rounds > 1) {
    out.push("### Every round (seconds)", "");
    out.push(
      mdTable([
        ["operation", "floor", "real"],
        ...OPERATIONS.map((op) => [
          op.label,
          m.runs[op.key].floor.map((x) => secs(x.code === 0 ? x.seconds : undefined)).join(" / "),
          m.runs[op.key].real.map((x) => secs(x.code === 0 ? x.seconds : undefined)).join(" / "),
        ]),
      ]),
      "",
    );
  }
  out.push(
    "### Gateway log",
    "",
    `${m.gatewayLog.warn} warnings, ${m.gatewayLog.error} errors.`,
    "",
  );
  if (m.gatewayLog.samples.length) out.push("```", ...m.gatewayLog.samples, "```", "");
  return out;
}

function markdown(r: ProviderResults): string {
  const out: string[] = [];
  out.push(`# Provider bench, ${r.started}`, "", `${r.host}. ${setting(r)}`, "");
  out.push(
    `${FLOOR} \`real\`: N \`StaticRoute\`s (\`r<i>\`, \`/r<i>\`) against the reference gateway. ` +
      "Seconds are the CLI's wall time; API calls are the control API actions the real " +
      "program's provider made, counted by a proxy in front of the gateway.",
    "",
  );
  for (const m of r.modes) out.push(...modeMarkdown(m, r));
  if (r.warnings.length) out.push("## Warnings", "", ...r.warnings.map((s) => `- ${s}`), "");
  return out.join("\n");
}

/** Writes bench/results/provider-<start time>.md; returns its path relative to the cwd. */
export function save(r: ProviderResults): string {
  const dir = path.join(__dirname, "..", "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.started.replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
  const file = path.join(dir, `provider-${stamp}.md`);
  fs.writeFileSync(file, markdown(r) + "\n");
  return path.relative(process.cwd(), file);
}
