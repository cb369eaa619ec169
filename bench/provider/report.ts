// The provider bench's figures beside the issue's targets: a table on the console, and the
// same as markdown in bench/results/provider-<start time>.md.
import fs from "node:fs";
import path from "node:path";
import { mdTable, ratio, ratioNum, table } from "../stats";
import type { ProgramName } from "./programs";
import { OPERATIONS, type OperationKey, type OpRun, type StateSize } from "./stack";

/** Each operation of the real program at most this many times the floor's. */
export const TIME_RATIO_TARGET = 1.3;
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

export interface ProviderResults {
  started: string;
  finished?: string;
  host: string;
  cli: string;
  n: number;
  rounds: number;
  parallel: number;
  router: boolean;
  /** Every round of every operation; `calls` are the real program's API actions, per round. */
  runs: Record<OperationKey, Record<ProgramName, OpRun[]> & { calls: string[][] }>;
  /** After the first create. */
  state: Partial<Record<ProgramName, StateSize>>;
  gatewayLog: { warn: number; error: number; samples: string[] };
  warnings: string[];
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

function refreshCallsVerdict(r: ProviderResults, calls: string[][]): string {
  if (r.n < REFRESH_CALLS_TARGET.routes) return `≤${REFRESH_CALLS_TARGET.calls} at N=500: n/a`;
  const limit = Math.floor((REFRESH_CALLS_TARGET.calls * r.n) / REFRESH_CALLS_TARGET.routes);
  const worst = Math.max(...calls.map((c) => c.length));
  return `≤${limit}: ${verdict(worst <= limit)}`;
}

function timeTable(r: ProviderResults): string[][] {
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
    const run = r.runs[op.key];
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
      op.key === "refresh" ? refreshCallsVerdict(r, run.calls) : "",
    ]);
  }
  return rows;
}

function stateTable(r: ProviderResults): string[][] {
  const { floor, real } = r.state;
  const perN = (s?: StateSize) => (s ? s.exportBytes / r.n : undefined);
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

function setting(r: ProviderResults): string {
  return (
    `${r.n} routes, \`--parallel ${r.parallel}\`, ${r.rounds} round(s) (median kept; floor and real ` +
    "alternate which goes first), programs transpiled only (`PULUMI_NODEJS_TRANSPILE_ONLY`), " +
    `gateway ${r.router ? "API and embedded router" : "API only (no router)"} in the bench process. ${r.cli}.`
  );
}

export function printSummary(r: ProviderResults, say: (line?: string) => void): void {
  say("");
  say(`== summary: ${setting(r)}`);
  say(FLOOR.replace(/`/g, ""));
  say(table(timeTable(r)));
  say("");
  say(table(stateTable(r)));
  for (const op of OPERATIONS) {
    const calls = r.runs[op.key].calls[0];
    if (calls?.length) say(`   ${op.label}: ${breakdown(calls).replace(/`/g, "")}`);
  }
  say(`gateway log: ${r.gatewayLog.warn} warnings, ${r.gatewayLog.error} errors`);
  say(`${r.warnings.length} warnings`);
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
  out.push("## Time and API calls", "", mdTable(timeTable(r)), "");
  out.push("## State", "", mdTable(stateTable(r)), "");
  out.push("## API calls by operation (first round)", "");
  for (const op of OPERATIONS) {
    const calls = r.runs[op.key].calls[0] ?? [];
    out.push(`- ${op.label}: ${calls.length}${calls.length ? ` (${breakdown(calls)})` : ""}`);
  }
  out.push("");
  if (r.rounds > 1) {
    out.push("## Every round (seconds)", "");
    out.push(
      mdTable([
        ["operation", "floor", "real"],
        ...OPERATIONS.map((op) => [
          op.label,
          r.runs[op.key].floor.map((x) => secs(x.code === 0 ? x.seconds : undefined)).join(" / "),
          r.runs[op.key].real.map((x) => secs(x.code === 0 ? x.seconds : undefined)).join(" / "),
        ]),
      ]),
      "",
    );
  }
  out.push(
    "## Gateway log",
    "",
    `${r.gatewayLog.warn} warnings, ${r.gatewayLog.error} errors.`,
    "",
  );
  if (r.gatewayLog.samples.length) out.push("```", ...r.gatewayLog.samples, "```", "");
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
