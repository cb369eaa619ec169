// One program's stack, driven with the real Pulumi CLI offline (scripts/pulumi.ts), and the
// operations the provider bench times on it.
import { performance } from "node:perf_hooks";
import { PulumiProject } from "../../scripts/pulumi";
import { spawnChild } from "../proc";
import type { ProgramName } from "./programs";

export const OPERATIONS = [
  { key: "create", label: "up (create)", args: ["up", "--yes", "--skip-preview"] },
  { key: "unchanged", label: "up (no change)", args: ["up", "--yes", "--skip-preview"] },
  { key: "refresh", label: "refresh", args: ["refresh", "--yes", "--skip-preview"] },
  {
    key: "drift",
    label: "preview --refresh --expect-no-changes",
    args: ["preview", "--refresh", "--expect-no-changes"],
  },
  { key: "destroy", label: "destroy", args: ["destroy", "--yes", "--skip-preview"] },
] as const;
export type Operation = (typeof OPERATIONS)[number];
export type OperationKey = Operation["key"];

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
    private readonly parallel: number,
  ) {}

  /**
   * Creates stack `bench` of the program in `dir`, with `config` (and `secrets` set as secrets).
   * Both programs' state goes to one file backend under `workDir`.
   */
  static async init(
    name: ProgramName,
    dir: string,
    opts: {
      binDir: string;
      workDir: string;
      parallel: number;
      config?: Record<string, string>;
      secrets?: Record<string, string>;
    },
  ): Promise<BenchStack> {
    const project = new PulumiProject(dir, {
      binDir: opts.binDir,
      workDir: opts.workDir,
      passphrase: "bench-passphrase",
    });
    // Both programs are only transpiled: type-checking is the program's cost, not the provider's.
    project.env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    // The workspace links @appgw/pulumi into node_modules; keeping the link's path lets the
    // program see the package where a user's install puts it, so the state records what a
    // user's does (provider/shim.ts). No effect on the floor.
    project.env.NODE_PRESERVE_SYMLINKS = "1";
    await project.ok(["stack", "init", "bench"]);
    await project.config(opts.config ?? {}, opts.secrets ?? {});
    return new BenchStack(name, project, opts.parallel);
  }

  /**
   * Runs `pulumi <args>` with the bench's `--parallel`; the seconds are the CLI's wall time. The
   * CLI is a child of bench/proc.ts, so it is ended with the bench, however the bench ends.
   */
  async run(args: readonly string[]): Promise<OpRun> {
    const t0 = performance.now();
    const child = spawnChild(
      `pulumi ${args[0]}`,
      "pulumi",
      [...args, "--parallel", String(this.parallel), "--non-interactive"],
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
