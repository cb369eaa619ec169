// Child processes of the bench: every one is registered here and ended when the bench ends,
// however it ends (normal exit, an exception, Ctrl-C).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

/** The repository root: tsx and node_modules resolve from here. */
export const ROOT = path.resolve(__dirname, "..");

const live = new Set<ChildProcess>();
const temps = new Set<string>();

/** A temp file or folder removed when the bench ends, however it ends (see removeTemps). */
export function tempPath(p: string): string {
  temps.add(p);
  return p;
}

/** Removes every registered temp path (synchronous: safe in an `exit` handler). */
export function removeTemps(): void {
  for (const p of temps) {
    try {
      fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  temps.clear();
}
const TAIL = 8_000;

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Everything written to stdout so far (the last 8 000 characters). */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnChild(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions = {},
): Child {
  const proc = spawn(command, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    ...opts,
  });
  live.add(proc);
  let out = "";
  let err = "";
  proc.stdout?.setEncoding("utf8").on("data", (s: string) => {
    out = (out + s).slice(-TAIL);
  });
  proc.stderr?.setEncoding("utf8").on("data", (s: string) => {
    err = (err + s).slice(-TAIL);
  });
  const exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (code) => {
      live.delete(proc);
      resolve(code);
    });
    proc.once("error", (e) => {
      live.delete(proc);
      err += `\nspawn failed: ${e.message}`;
      resolve(-1);
    });
  });
  return {
    name,
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async (graceMs = 3_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null || !live.has(proc)) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Spawns a TypeScript file of bench/ with `node --import tsx` (one process, no tsx wrapper). */
export function spawnTs(name: string, file: string, args: string[]): Child {
  // stdin stays an open pipe that the bench never writes: the child ends when it closes, so a
  // bench killed with SIGKILL does not leave it running.
  return spawnChild(
    name,
    process.execPath,
    ["--import", "tsx", path.join(__dirname, file), ...args],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
}

/** Waits until the child prints a line matching `re` on stdout; fails if it exits first. */
export async function waitForLine(
  child: Child,
  re: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = child.stdout().match(re);
    if (m) return m;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${child.name} exited before it was ready:\n${child.stderr().slice(-2000)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${child.name} not ready after ${timeoutMs} ms:\n${child.stderr().slice(-2000)}`,
      );
    }
    await sleep(20);
  }
}

/** Runs a child to completion, killing it after `timeoutMs`. */
export async function runChild(
  name: string,
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const child = spawnChild(name, command, args);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(1_000);
  }, timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr(), timedOut };
}

/** Ends every child still running (SIGTERM: nginx's master must take its worker with it). */
export function killAll(): void {
  for (const proc of live) {
    try {
      proc.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
}

export async function stopAll(): Promise<void> {
  const procs = [...live];
  killAll();
  const deadline = Date.now() + 3_000;
  while (procs.some((p) => p.exitCode === null && p.signalCode === null) && Date.now() < deadline) {
    await sleep(20);
  }
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A free TCP port on 127.0.0.1 (small race between closing it and the child binding it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The absolute path of `name` on PATH (plus the sbin folders, where Debian puts nginx). */
export function which(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** First line of a tool's version output (wrk and nginx print it on stderr, wrk exits 1). */
export function versionOf(bin: string, args: string[]): string {
  const r = spawnSync(bin, args, { encoding: "utf8", timeout: 5_000 });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n")[0]?.trim() ?? "";
}
