// Runs the real Pulumi CLI offline: the binary from scripts/pulumi-cli.sh (or one on PATH), a
// file backend, a passphrase, no update checks and no plugin downloads. Shared by the demo and
// the end-to-end tests.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const REPO = path.resolve(__dirname, "..");

/**
 * The folder holding `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs`:
 * found, or built from the Go module proxy when `build` is true (minutes, once).
 */
export function pulumiBinDir(build: boolean): string {
  const args = build ? [] : ["--check"];
  try {
    const out = execFileSync(path.join(REPO, "scripts", "pulumi-cli.sh"), args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", build ? "inherit" : "pipe"],
    });
    return out.trim().split("\n").pop() as string;
  } catch {
    throw new Error(
      build
        ? "could not find or build the Pulumi CLI: see the messages of scripts/pulumi-cli.sh above"
        : "no Pulumi CLI: run scripts/pulumi-cli.sh once (it builds v3.248.0 from the Go module proxy), or install Pulumi",
    );
  }
}

/**
 * The file backend's URL for state kept in `dir`, without metadata sidecars. Pulumi's file
 * backend (gocloud.dev fileblob) writes each checkpoint atomically (a temporary file, renamed)
 * but rewrites its `<file>.attrs` sidecar in place: a CLI killed between truncating and writing
 * that sidecar leaves it empty, and every later command fails with `failed to load checkpoint:
 * EOF` until someone deletes it. `metadata=skip` writes no sidecar (Pulumi needs none), so a kill
 * at any moment leaves a stack that `pulumi cancel` and one more `up` recover.
 */
export function fileBackendUrl(dir: string): string {
  const url = pathToFileURL(dir);
  url.search = "metadata=skip";
  return url.href;
}

export interface PulumiRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, as a person would read them. */
  output: string;
}

export interface PulumiEnvOptions {
  binDir: string;
  /** Holds the file backend's state (`<dir>/state`) and PULUMI_HOME (`<dir>/home`). */
  workDir: string;
  passphrase: string;
}

/** A Pulumi project directory driven with one offline environment. */
export class PulumiProject {
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly dir: string,
    opts: PulumiEnvOptions,
  ) {
    const state = path.join(opts.workDir, "state");
    const home = path.join(opts.workDir, "home");
    fs.mkdirSync(state, { recursive: true });
    fs.mkdirSync(home, { recursive: true });
    this.env = {
      ...process.env,
      PATH: `${opts.binDir}${path.delimiter}${process.env.PATH}`,
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: fileBackendUrl(state),
      PULUMI_CONFIG_PASSPHRASE: opts.passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      // Connection settings come from stack config in these runs, never from the caller's env.
      CLEARML_API_HOST: "",
      CLEARML_API_ACCESS_KEY: "",
      CLEARML_API_SECRET_KEY: "",
    };
  }

  /** Runs `pulumi <args>`; `echo` streams its output through as it comes. */
  run(args: string[], opts: { echo?: boolean; timeoutMs?: number } = {}): Promise<PulumiRun> {
    return this.exec("pulumi", [...args, "--non-interactive"], opts);
  }

  /**
   * Runs any command in the project's directory and environment. Never synchronously: the
   * gateway the command talks to may live in this very process.
   */
  exec(
    file: string,
    args: string[],
    opts: { echo?: boolean; timeoutMs?: number } = {},
  ): Promise<PulumiRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { cwd: this.dir, env: this.env });
      let stdout = "";
      let stderr = "";
      let output = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d;
        output += d;
        if (opts.echo) process.stdout.write(d);
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d;
        output += d;
        if (opts.echo) process.stderr.write(d);
      });
      const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 300_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr, output });
      });
    });
  }

  /** Like `run`, but a non-zero exit throws with the command's output. */
  async ok(args: string[], opts: { echo?: boolean } = {}): Promise<PulumiRun> {
    const r = await this.run(args, opts);
    if (r.code !== 0)
      throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.output.slice(-4000)}`);
    return r;
  }

  /** Selects `stack`, creating it if needed. */
  async stack(stack: string): Promise<void> {
    const select = await this.run(["stack", "select", stack]);
    if (select.code !== 0) await this.ok(["stack", "init", stack]);
  }

  async config(
    values: Record<string, string>,
    secrets: Record<string, string> = {},
  ): Promise<void> {
    for (const [k, v] of Object.entries(values)) await this.ok(["config", "set", k, v]);
    for (const [k, v] of Object.entries(secrets))
      await this.ok(["config", "set", "--secret", k, v]);
  }

  async outputs(): Promise<Record<string, unknown>> {
    const r = await this.ok(["stack", "output", "--json"]);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }
}
