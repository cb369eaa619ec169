// One program's stack, driven with the real Pulumi CLI offline (scripts/pulumi.ts), the
// operations the provider bench times on it, and the two ways it runs the CLI.
import { performance } from "node:perf_hooks";
import { PulumiProject } from "../../scripts/pulumi";
import { spawnChild } from "../proc";
import type { ProgramName } from "./programs";

/** The CLI as a user types it (`defaults`), or with the flags that skip work (`fast`). */
export type FlagMode = "defaults" | "fast";
export const FLAG_MODES: readonly FlagMode[] = ["defaults", "fast"];

/** How one mode runs the CLI: `fast` sets `--parallel`, `defaults` leaves the CLI's own. */
export type CliFlags = { mode: "defaults" } | { mode: "fast"; parallel: number };

/** What a mode's flags are, for the console and the report. */
export function describeFlags(flags: CliFlags): string {
  return flags.mode === "defaults"
    ? "`up --yes`, `refresh --yes` and `destroy --yes`, each with its preview; no `--parallel` " +
        "(the CLI's own: 4 × the cores it sees); the program type-checked, as Pulumi does " +
        "unless `PULUMI_NODEJS_TRANSPILE_ONLY` is set"
    : "`--skip-preview` on up, refresh and destroy; " +
        `\`--parallel ${flags.parallel}\`; the program only transpiled ` +
        "(`PULUMI_NODEJS_TRANSPILE_ONLY=true`)";
}

/** The operations in the order they run, with the CLI's default arguments. */
export const OPERATIONS = [
  { key: "create", label: "up (create)", args: ["up", "--yes"] },
  { key: "unchanged", label: "up (no change)", args: ["up", "--yes"] },
  { key: "refresh", label: "refresh", args: ["refresh", "--yes"] },
  {
    key: "drift",
    label: "preview --refresh --expect-no-changes",
    args: ["preview", "--refresh", "--expect-no-changes"],
  },
  { key: "destroy", label: "destroy", args: ["destroy", "--yes"] },
] as const;
export type Operation = (typeof OPERATIONS)[number];
export type OperationKey = Operation["key"];

/**
 * `pulumi <args>` under `flags`: as given for `defaults`; `fast` adds `--skip-preview` to every
 * command but `preview` (up, refresh and destroy preview first otherwise) and `--parallel`.
 */
function cliArgs(args: readonly string[], flags: CliFlags): string[] {
  if (flags.mode === "defaults") return [...args];
  const skip = args[0] === "preview" ? [] : ["--skip-preview"];
  return [...args, ...skip, "--parallel", String(flags.parallel)];
}

export interface OpRun {
  seconds: number;
  /** The CLI's exit code. */
  code: number;
  /** The end of its output, kept when it failed. */
  output?: string;
}

/** What one resource costs in `pulumi stack export` (bytes of its JSON). */
export interface StateOfOne {
  total: number;
  inputs: number;
  outputs: number;
  /** The serialized provider (`__provider`), counted in inputs and outputs alike. */
  provider: number;
}

export interface StateSize {
  /** The whole `pulumi stack export` output. */
  exportBytes: number;
  /** Averages over the program's dynamic resources. */
  perResource: StateOfOne;
}

/** No operation may take more than an hour (500 creates through a slow provider take minutes). */
const TIMEOUT_MS = 60 * 60_000;

export class BenchStack {
  private constructor(
    readonly name: ProgramName,
    private readonly project: PulumiProject,
    private readonly flags: CliFlags,
  ) {}

  /**
   * Creates stack `bench` of the program in `dir`, with `config` (and `secrets` set as secrets),
   * to be run under `flags`. Its state goes to the file backend under `workDir`: give each mode
   * its own, so that the modes never share a stack.
   */
  static async init(
    name: ProgramName,
    dir: string,
    opts: {
      binDir: string;
      workDir: string;
      flags: CliFlags;
      config?: Record<string, string>;
      secrets?: Record<string, string>;
    },
  ): Promise<BenchStack> {
    const project = new PulumiProject(dir, {
      binDir: opts.binDir,
      workDir: opts.workDir,
      passphrase: "bench-passphrase",
    });
    // Whatever the bench's own environment says: the CLI's default --parallel, or the fast one's.
    delete project.env.PULUMI_PARALLEL;
    // Pulumi type-checks a TypeScript program unless this says otherwise; fast mode skips it.
    delete project.env.PULUMI_NODEJS_TRANSPILE_ONLY;
    if (opts.flags.mode === "fast") project.env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    // In both modes: the workspace links @appgw/pulumi into node_modules; keeping the link's path
    // lets the program see the package where a user's install puts it, so the state records what
    // a user's does (provider/shim.ts). No effect on the floor.
    project.env.NODE_PRESERVE_SYMLINKS = "1";
    await project.ok(["stack", "init", "bench"]);
    await project.config(opts.config ?? {}, opts.secrets ?? {});
    return new BenchStack(name, project, opts.flags);
  }

  /**
   * Runs `pulumi <args>` under the stack's flags; the seconds are the CLI's wall time. The CLI
   * is a child of bench/proc.ts, so it is ended with the bench, however the bench ends.
   * `--non-interactive` in both modes: the CLI has no terminal here either way.
   */
  async run(args: readonly string[]): Promise<OpRun> {
    const t0 = performance.now();
    const child = spawnChild(
      `pulumi ${args[0]}`,
      "pulumi",
      [...cliArgs(args, this.flags), "--non-interactive"],
      { cwd: this.project.dir, env: this.project.env },
    );
    const timer = setTimeout(() => void child.stop(), TIMEOUT_MS);
    const code = (await child.exited) ?? -1;
    clearTimeout(timer);
    const seconds = (performance.now() - t0) / 1000;
    return code === 0
      ? { seconds, code }
      : { seconds, code, output: `${child.stdout()}\n${child.stderr()}`.slice(-3000) };
  }

  async stateSize(): Promise<StateSize> {
    const r = await this.project.ok(["stack", "export"]);
    const state = JSON.parse(r.stdout) as {
      deployment: { resources?: { inputs?: Record<string, unknown>; outputs?: object }[] };
    };
    const dynamic = (state.deployment.resources ?? []).filter((x) => x.inputs?.__provider);
    const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? {}));
    const mean = (f: (x: (typeof dynamic)[number]) => number) =>
      dynamic.length ? Math.round(dynamic.reduce((s, x) => s + f(x), 0) / dynamic.length) : NaN;
    return {
      exportBytes: Buffer.byteLength(r.stdout),
      perResource: {
        total: mean(bytes),
        inputs: mean((x) => bytes(x.inputs)),
        outputs: mean((x) => bytes(x.outputs)),
        provider: mean((x) => bytes(x.inputs?.__provider)),
      },
    };
  }
}
