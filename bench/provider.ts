// `npm run bench:provider`: what the provider costs over the floor of any Pulumi dynamic
// provider, with the real Pulumi CLI. Two programs of N resources each, in one run: `floor`
// (the simplest no-op dynamic provider) and `real` (StaticRoutes against the reference gateway,
// behind a proxy counting its API calls). Each is taken through up, up again, refresh, a drift
// check and destroy, under the CLI's defaults and under the fast flags, each mode on its own
// stacks and gateway; the report sets time ratios, API calls and state size beside the issue's
// targets, per mode. See bench/README.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { pulumiBinDir } from "../scripts/pulumi";
import { ADMIN, startProviderBenchGateway, type ProviderBenchGateway } from "./provider/gateway";
import { PROGRAMS, WORK_ROOT, writeProgram, type ProgramName } from "./provider/programs";
import {
  emptyMode,
  printSummary,
  save,
  type ModeResults,
  type ProviderResults,
} from "./provider/report";
import {
  BenchStack,
  describeFlags,
  FLAG_MODES,
  OPERATIONS,
  type CliFlags,
  type FlagMode,
  type Operation,
} from "./provider/stack";
import { killAll, ROOT, removeTemps, tempPath, versionOf } from "./proc";

const HELP = `npm run bench:provider -- [options]

  --n <count>      resources in each program (default 500, or APPGW_BENCH_N)
  --rounds <k>     times through every operation; the median time of each is kept (default 1)
  --flags <mode>   defaults: the CLI as a user types it (previews, its own --parallel, the
                   program type-checked); fast: --skip-preview, --parallel <p>, transpile only;
                   both (default): defaults, then fast, each on its own stacks and gateway
  --parallel <p>   pulumi --parallel of the fast mode (default 8, the CLI's own on 2 cores)
  --router         start the gateway's embedded router too (it shares this process and the cores)
  --keep           leave the programs in bench/.work/<pid>/ (their state is removed anyway)
  --no-save        print only; write nothing to bench/results/
`;

const { values: args } = parseArgs({
  options: {
    n: { type: "string" },
    rounds: { type: "string" },
    flags: { type: "string", default: "both" },
    parallel: { type: "string" },
    router: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    "no-save": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  allowPositionals: false,
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function intArg(name: string, v: string | undefined, dflt: number, max: number): number {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(`--${name}: expected an integer from 1 to ${max}, got '${v}'`);
  return n;
}

const N = intArg("n", args.n ?? process.env.APPGW_BENCH_N, 500, 10_000);
const ROUNDS = intArg("rounds", args.rounds, 1, 10);
const PARALLEL = intArg("parallel", args.parallel, 8, 1_000);

function modesArg(v: string): readonly FlagMode[] {
  if (v === "both") return FLAG_MODES;
  const mode = FLAG_MODES.find((m) => m === v);
  if (!mode) throw new Error(`--flags: expected defaults, fast or both, got '${v}'`);
  return [mode];
}
const MODES = modesArg(args.flags);
const flagsOf = (mode: FlagMode): CliFlags =>
  mode === "fast" ? { mode, parallel: PARALLEL } : { mode };

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** The built provider and SDK the programs load: missing is fatal, older than the source a warning. */
function checkBuild(warn: (line: string) => void): void {
  const built = path.join(ROOT, "provider", "dist", "implementations.js");
  if (!fs.existsSync(built))
    throw new Error(`${path.relative(ROOT, built)} is missing: run \`npm run build\` first`);
  // Each source beside its own output: tsc -b rewrites only the files that changed.
  const mtime = (f: string) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0);
  const stale = ["provider", "sdk"].flatMap((pkg) =>
    fs
      .readdirSync(path.join(ROOT, pkg))
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
      .map((f) => path.join(pkg, f))
      .filter((f) => {
        const out = path.join(ROOT, path.dirname(f), "dist", path.basename(f, ".ts") + ".js");
        return mtime(path.join(ROOT, f)) > mtime(out);
      }),
  );
  if (stale.length)
    warn(
      `${stale.join(", ")} changed after provider/dist was built: the bench measures the build (npm run build)`,
    );
}

/** Routes named `r<i>` on the gateway: N after the real program's create, none after destroy. */
async function benchRoutes(gw: ProviderBenchGateway): Promise<number> {
  return (await gw.client.routes.list()).filter((r) => /^r\d+$/.test(r.name)).length;
}

async function main(): Promise<number> {
  const started = new Date().toISOString();
  const cpus = os.cpus();
  const results: ProviderResults = {
    started,
    host: `${cpus.length} cores (${cpus[0]?.model ?? ""}), Node ${process.version}, load average at start ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
    cli: "",
    n: N,
    rounds: ROUNDS,
    router: args.router,
    modes: [],
    warnings: [],
  };
  const warn = (line: string) => {
    results.warnings.push(line);
    say(`!! WARNING ${line}`);
  };
  say(`== appgw provider bench  ${started}`);
  say(
    `   ${results.host}; ${N} resources per program, ${ROUNDS} round(s), ${MODES.join(" then ")}`,
  );

  const binDir = pulumiBinDir(true);
  results.cli = `Pulumi CLI ${versionOf(path.join(binDir, "pulumi"), ["version"])} (${binDir})`;
  say(`   ${results.cli}`);
  checkBuild(warn);

  const runDir = path.join(WORK_ROOT, String(process.pid));
  if (!args.keep) tempPath(runDir);
  const workDir = tempPath(fs.mkdtempSync(path.join(os.tmpdir(), "appgw-bench-provider-")));
  for (const mode of MODES) {
    const flags = flagsOf(mode);
    results.modes.push(
      await runMode(flags, {
        binDir,
        programs: path.join(runDir, mode),
        state: path.join(workDir, mode),
        warn: (line) => warn(`${mode}: ${line}`),
      }),
    );
  }
  results.finished = new Date().toISOString();
  printSummary(results, say);
  if (!args["no-save"]) say(`wrote ${save(results)}`);
  return 0;
}

/**
 * One mode: its own gateway, programs (`programs`) and state (`state`), then the warm-up and
 * every round of every operation under its flags.
 */
async function runMode(
  flags: CliFlags,
  at: { binDir: string; programs: string; state: string; warn: (line: string) => void },
): Promise<ModeResults> {
  const results = emptyMode(flags);
  const { warn } = at;
  say("");
  say(`== ${flags.mode}: ${describeFlags(flags).replace(/`/g, "")}`);
  const gw = await startProviderBenchGateway(args.router);
  results.gatewayLog = gw.log;
  try {
    say(`   gateway API behind the counting proxy at ${gw.apiHost}; programs in ${at.programs}`);
    const stacks: Record<ProgramName, BenchStack> = {
      floor: await BenchStack.init("floor", writeProgram(at.programs, "floor", N), {
        binDir: at.binDir,
        workDir: at.state,
        flags,
      }),
      real: await BenchStack.init("real", writeProgram(at.programs, "real", N), {
        binDir: at.binDir,
        workDir: at.state,
        flags,
        config: { "appgw:apiHost": gw.apiHost, "appgw:accessKey": ADMIN.accessKey },
        secrets: { "appgw:secretKey": ADMIN.secretKey },
      }),
    };

    // Unmeasured: loads Node, ts-node and the modules once, and proves both programs run.
    say("-- warm-up: pulumi preview of each program (not measured)");
    for (const name of PROGRAMS) {
      const r = await stacks[name].run(["preview"]);
      if (r.code !== 0) throw new Error(`${name}: pulumi preview exited ${r.code}:\n${r.output}`);
      say(`   ${name}: ${r.seconds.toFixed(2)} s`);
    }

    for (let round = 0; round < ROUNDS; round++) {
      say(`-- round ${round + 1}/${ROUNDS}`);
      for (const [i, op] of OPERATIONS.entries()) {
        // Which program goes first alternates, from one operation and one round to the next.
        const order = (round + i) % 2 === 0 ? PROGRAMS : [...PROGRAMS].reverse();
        const line: string[] = [];
        for (const name of order) {
          const mark = gw.proxy.calls.length;
          const run = await stacks[name].run(op.args);
          results.runs[op.key][name].push(run);
          let calls = "";
          if (name === "real") {
            const made = gw.proxy.calls.slice(mark);
            results.runs[op.key].calls.push(made);
            calls = `, ${made.length} API calls`;
          }
          line.push(`${name} ${run.seconds.toFixed(2)} s${calls}`);
          if (run.code !== 0) warn(`${op.label} of ${name} exited ${run.code}:\n${run.output}`);
        }
        say(`   ${op.label}: ${line.join("; ")}`);
        await afterOperation(op, round);
      }
    }

    async function afterOperation(op: Operation, round: number): Promise<void> {
      if (op.key === "create") {
        const routes = await benchRoutes(gw);
        if (routes !== N) warn(`after up (create) the gateway holds ${routes} routes, not ${N}`);
        if (round > 0) return;
        for (const name of PROGRAMS) results.state[name] = await stacks[name].stateSize();
      } else if (op.key === "destroy") {
        const routes = await benchRoutes(gw);
        if (routes !== 0) warn(`after destroy the gateway still holds ${routes} routes`);
      }
    }
  } finally {
    await gw.stop();
  }
  return results;
}

process.on("exit", () => {
  killAll();
  removeTemps();
  // bench/.work itself goes once the last run's folder is gone.
  try {
    fs.rmdirSync(WORK_ROOT);
  } catch {
    // other runs' folders, or kept ones
  }
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench:provider: ${sig}, ending the Pulumi CLI\n`);
    process.exit(130);
  });
}

main()
  .then((code) => process.exit(code))
  .catch((err: Error) => {
    process.stderr.write(`\nbench:provider FAILED: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
