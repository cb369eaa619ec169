// The real ClearML clients, installed from the registry into a virtual environment in the
// repository's ignored tool folder (.tools/clearml/venv). It is made once and made again only
// when tests/clearml/requirements.txt changes: a marker beside it holds the hash it was made from.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { REPO } from "../../scripts/pulumi";

const run = promisify(execFile);

export const TOOLS = path.join(REPO, ".tools", "clearml");
const VENV = path.join(TOOLS, "venv");
const REQUIREMENTS = path.join(__dirname, "requirements.txt");
export const SCRIPTS = path.join(__dirname, "py");

export const python = path.join(VENV, "bin", "python");
export const clearmlAgent = path.join(VENV, "bin", "clearml-agent");

/** python3 on PATH, or one line naming how to get it; this suite never passes by skipping. */
function systemPython(): string {
  const candidate = process.env.PYTHON ?? "python3";
  try {
    execFileSync(candidate, ["-c", "import venv, ensurepip"], { stdio: "ignore" });
    return candidate;
  } catch {
    throw new Error(
      `the ClearML client suite needs Python 3 with venv ('${candidate}' is missing or has no ` +
        "venv module): install it (Debian: apt-get install python3 python3-venv) or set PYTHON",
    );
  }
}

/** Makes the venv unless the one there was made from the same requirements. */
export async function ensureClients(): Promise<void> {
  const wanted = createHash("sha256").update(fs.readFileSync(REQUIREMENTS)).digest("hex");
  const marker = path.join(TOOLS, "venv.sha256");
  // The marker is written last: a venv an interrupted install left has none, and is made again.
  const made = fs.existsSync(marker) ? fs.readFileSync(marker, "utf8").trim() : "";
  if (fs.existsSync(python) && made === wanted) return;
  const py = systemPython();
  fs.rmSync(VENV, { recursive: true, force: true });
  fs.mkdirSync(TOOLS, { recursive: true });
  console.error(`  installing the ClearML clients into ${path.relative(REPO, VENV)}`);
  await run(py, ["-m", "venv", VENV]);
  await run(
    python,
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  fs.writeFileSync(marker, `${wanted}\n`);
}

export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs tests/clearml/py/<script> with the venv's Python and `env` on top of ours. */
export async function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ScriptRun> {
  try {
    const { stdout, stderr } = await run(python, [path.join(SCRIPTS, script), ...args], {
      env: { ...process.env, ...env },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === "number" ? e.code : -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    };
  }
}

/** Runs a script that must succeed; its last line of output, parsed as JSON or kept as text. */
export async function scriptOutput(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const r = await runScript(script, args, env);
  if (r.code !== 0) {
    throw new Error(
      `${script} exited ${r.code}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`,
    );
  }
  return r.stdout.trim().split("\n").at(-1) ?? "";
}

/** A `clearml-agent daemon` in the foreground, its output kept for a failing test to show. */
export interface Agent {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function startAgent(queue: string, env: NodeJS.ProcessEnv): Agent {
  let output = "";
  const child = spawn(clearmlAgent, ["daemon", "--queue", queue, "--foreground", "--cpu-only"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-200_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return {
    process: child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        // The agent unregisters its worker on SIGTERM.
        child.kill("SIGTERM");
      }),
  };
}
