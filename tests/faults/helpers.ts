// The fault suite's real processes: gateways started as `npm start` starts them (tsx running
// gateway/main.ts), but as one node process each, so a SIGKILL reaches the gateway itself and
// not a launcher; killed with SIGKILL and started again on the same data folder and ports.
// Where the start itself is timed, the gateway runs from its build as its image runs it.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO } from "../../scripts/pulumi";
import { ReferenceGatewayClient } from "../../sdk/reference";

export const ADMIN = { accessKey: "FAULTADMINKEY", secretKey: "fault-admin-secret-0123456789" };

/** Every child still alive: SIGKILLed if the test process exits before an `after` hook ran. */
const alive = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of alive) child.kill("SIGKILL");
});

/**
 * A port free now, to give a process that must come back on the same port after a restart
 * (port 0 would pick another one).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Environment of a router or agent process talking to the control API at `apiUrl`. */
export function clientEnv(apiUrl: string): NodeJS.ProcessEnv {
  return {
    CLEARML_API_HOST: apiUrl,
    CLEARML_API_ACCESS_KEY: ADMIN.accessKey,
    CLEARML_API_SECRET_KEY: ADMIN.secretKey,
  };
}

export function adminClient(apiUrl: string, maxRetries?: number): ReferenceGatewayClient {
  return new ReferenceGatewayClient({ apiHost: apiUrl, ...ADMIN, maxRetries });
}

/**
 * `gateway/dist/main.js`, the command of the gateway's image (gateway/Dockerfile), after checking
 * that the last build of the gateway and of the SDK (their tsbuildinfo) is newer than every
 * source, as `tsc -b` decides it.
 */
function builtMain(): string {
  for (const pkg of ["sdk", "gateway"]) {
    const root = path.join(REPO, pkg);
    const info = path.join(root, "dist", "tsconfig.tsbuildinfo");
    const built = fs.existsSync(info) ? fs.statSync(info).mtimeMs : 0;
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (rel !== "dist" && entry.name !== "node_modules") walk(rel);
        } else if (
          entry.name.endsWith(".ts") &&
          fs.statSync(path.join(root, rel)).mtimeMs > built
        ) {
          throw new Error(`${pkg}/${rel} is newer than ${pkg}/dist: run \`npm run build\``);
        }
      }
    };
    walk("");
  }
  return path.join(REPO, "gateway", "dist", "main.js");
}

export interface GatewayOptions {
  /**
   * Run the build (`node gateway/dist/main.js`) rather than the sources through tsx, whose
   * compiling on the way adds a second or more to a start on a busy machine: for tests that
   * time a start. Default false.
   */
  built?: boolean;
}

/** One gateway process (`gateway/main.ts` with these arguments), restartable with the same ones. */
export class GatewayProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** The end of its output since its last start, for readiness and failure messages. */
  private output = "";
  private readonly command: string[];

  constructor(
    readonly name: string,
    args: string[],
    private readonly env: NodeJS.ProcessEnv,
    opts: GatewayOptions = {},
  ) {
    this.command = opts.built
      ? [builtMain(), ...args]
      : ["--import", "tsx", path.join(REPO, "gateway", "main.ts"), ...args];
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.child.signalCode;
  }

  /**
   * Starts the process (now, synchronously) and returns the promise of its readiness, which
   * main.ts announces with a line saying "ready": a restart can be timed from this call.
   */
  start(timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const child = spawn(process.execPath, this.command, {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.output = "";
    alive.add(child);
    this.exited = new Promise((resolve) =>
      child.once("exit", () => {
        alive.delete(child);
        resolve();
      }),
    );
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output}`));
      }, timeoutMs);
      const read = (chunk: Buffer) => {
        this.output = (this.output + chunk.toString()).slice(-8000);
        if (/\bready\b/.test(this.output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", read);
      child.stderr!.on("data", read);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${signal ?? code}) before ready:\n${this.output}`));
      });
    });
  }

  /** `kill -9`, and waits until the process is gone. */
  async kill(): Promise<void> {
    if (this.running) this.child!.kill("SIGKILL");
    await this.exited;
  }
}

export interface ApiProcess {
  process: GatewayProcess;
  apiUrl: string;
  admin: typeof ADMIN;
  dataDir: string;
}

/** The processes and data folders of one test file; `cleanup` (an `after` hook) ends them all. */
export class Fleet {
  private readonly processes: GatewayProcess[] = [];
  private readonly dirs: string[] = [];

  dataDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-faults-"));
    this.dirs.push(dir);
    return dir;
  }

  gateway(
    name: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
    opts: GatewayOptions = {},
  ): GatewayProcess {
    const p = new GatewayProcess(name, args, env, opts);
    this.processes.push(p);
    return p;
  }

  /**
   * A control API (`--role api`, or `all` with `router` settings) on a fixed port, so a restart
   * keeps its address; started.
   */
  async api(role: "api" | "all" = "api", router: NodeJS.ProcessEnv = {}): Promise<ApiProcess> {
    const port = await freePort();
    const dataDir = this.dataDir();
    const gateway = this.gateway(
      role,
      ["--role", role, "--data-dir", dataDir, "--api-port", String(port)],
      {
        APPGW_ADMIN_ACCESS_KEY: ADMIN.accessKey,
        APPGW_ADMIN_SECRET_KEY: ADMIN.secretKey,
        ...router,
      },
    );
    await gateway.start();
    return { process: gateway, apiUrl: `http://127.0.0.1:${port}`, admin: ADMIN, dataDir };
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One call of a load loop; times are `performance.now()` milliseconds. */
export interface Sample<T> {
  worker: number;
  start: number;
  end: number;
  /** What the call returned; undefined when it failed. */
  value?: T;
  error?: string;
}

/** Fails, saying how many and showing the first few, unless `samples` is empty. */
export function assertNone<T>(samples: Sample<T>[], what: string): void {
  assert.equal(
    samples.length,
    0,
    `${what}: ${samples.length} did not, the first: ${JSON.stringify(samples.slice(0, 3))}`,
  );
}

export interface Load<T> {
  /** Every call so far, in the order they ended. */
  readonly samples: Sample<T>[];
  stop(): Promise<Sample<T>[]>;
}

/**
 * Calls `once` in a loop on each of `workers` concurrent workers until stopped, timing each call.
 * Each worker starts a call at most every `everyMs` (default 20 ms, so 50 calls/s each): load
 * that leaves the processes under test some of the machine, as a server's headroom would, rather
 * than the test's own client taking every core. A failed call is followed by the same pause, so
 * a worker facing a dead port does not spin either.
 */
export function load<T>(
  workers: number,
  once: (worker: number) => Promise<T>,
  everyMs = 20,
): Load<T> {
  const samples: Sample<T>[] = [];
  let running = true;
  const work = async (worker: number) => {
    while (running) {
      const start = performance.now();
      try {
        const value = await once(worker);
        samples.push({ worker, start, end: performance.now(), value });
      } catch (err) {
        samples.push({ worker, start, end: performance.now(), error: String(err) });
      }
      await sleep(Math.max(0, start + everyMs - performance.now()));
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, i) => work(i)));
  return {
    samples,
    stop: async () => {
      running = false;
      await all;
      return samples;
    },
  };
}

export { sleep };
