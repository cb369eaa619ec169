// `npm run bench`: the data plane's figures beside baselines measured in the same run, as
// ratios (figures drift between runs; ratios much less). See bench/README.md.
//
// Everything runs on 127.0.0.1: a plain Node upstream (child process), nginx (child process),
// the gateway (API + router, in this process) and the load generator (wrk, child process).
// Every loop is bounded in count and time, and every child is ended when the bench ends.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import pino, { type DestinationStream } from "pino";
import { Agent, request } from "undici";
import { startGateway, type RunningGateway } from "../gateway";
import { runRouterTest } from "../provider/routerTestRunner";
import { AppGatewayClient, EXTERNAL_SERVICE_TAG, RUNTIME } from "../sdk";
import { cpuSnapshot, otherCores } from "./cpu";
import { undiciGenerator, wrkGenerator, type LoadGenerator, type LoadResult } from "./load";
import { startNginx, type RunningNginx } from "./nginx";
import {
  killAll,
  removeTemps,
  sleep,
  spawnTs,
  stopAll,
  tempPath,
  versionOf,
  waitForLine,
  which,
  type Child,
} from "./proc";
import { mdTable, ms, ratio, ratioNum, summarize, table, type Summary } from "./stats";

// ---------------------------------------------------------------------------------------------
// Options

const PHASES = ["load", "cold", "ws", "sse", "routes", "churn", "test"] as const;
type Phase = (typeof PHASES)[number];

const HELP = `npm run bench -- [options]

  --duration <s>      measured seconds of each load run (default 10)
  --warmup <s>        unmeasured seconds before each load run (default 2)
  --connections <n>   wrk connections (default 50; wrk runs with -t1)
  --quiet-wait <s>    total seconds the bench may wait, before load runs, for other processes to
                      use under 0.25 cores (default 30, at most 10 per run; 0: never wait)
  --rounds <n>        interleaved rounds of the load runs; the best of each is kept (default 2)
  --cold-duration <s> seconds of the uncached-JWT run (default 5)
  --trials <n>        route-change trials (default 20)
  --test-runs <n>     router test runs (default 5)
  --only <list>       comma-separated phases: ${PHASES.join(",")} (default all)
  --loadgen <tool>    wrk (default when installed) or undici
  --quick             short everything (a smoke run: 3 s loads, 5 trials, 2 tests)
  --no-save           print only; write nothing to bench/results/
  --no-nginx          leave nginx out (as if it were not installed)
`;

const { values: args } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    rounds: { type: "string" },
    "quiet-wait": { type: "string" },
    "cold-duration": { type: "string" },
    trials: { type: "string" },
    "test-runs": { type: "string" },
    only: { type: "string" },
    loadgen: { type: "string" },
    quick: { type: "boolean", default: false },
    "no-save": { type: "boolean", default: false },
    "no-nginx": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  allowPositionals: false,
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function intArg(
  v: string | undefined,
  quick: number,
  normal: number,
  min: number,
  max: number,
): number {
  const n = v === undefined ? (args.quick ? quick : normal) : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`expected an integer from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

const cfg = {
  durationSec: intArg(args.duration, 3, 10, 1, 60),
  warmupSec: intArg(args.warmup, 1, 2, 0, 30),
  connections: intArg(args.connections, 50, 50, 1, 1000),
  rounds: intArg(args.rounds, 1, 2, 1, 10),
  quietWaitSec: intArg(args["quiet-wait"], 10, 30, 0, 600),
  coldDurationSec: intArg(args["cold-duration"], 2, 5, 1, 60),
  trials: intArg(args.trials, 5, 20, 1, 200),
  testRuns: intArg(args["test-runs"], 2, 5, 1, 20),
  phases: new Set<Phase>(
    (args.only ?? PHASES.join(","))
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        if (!(PHASES as readonly string[]).includes(s)) throw new Error(`unknown phase '${s}'`);
        return s as Phase;
      }),
  ),
};

/** Tokens cycled by the uncached-JWT run: more than the router's 10 000-token verify cache. */
const COLD_TOKENS = 12_000;
const POLL_INTERVAL_MS = 2;
const POLL_LIMIT_MS = 5_000;
/** PIDs whose CPU is the bench's own (besides this process and its reaped children). */
const ownPids = new Set<number>();
/** At most this long before any one run (and --quiet-wait in all). */
const QUIET_WAIT_PER_RUN_MS = 10_000;
/** Other processes using more than this many cores during a run make its figures unreliable. */
const NOISY_CORES = 0.25;
const ADMIN = { accessKey: "BENCHADMINKEY", secretKey: "bench-admin-secret-0123456789" };

// ---------------------------------------------------------------------------------------------
// Results

/** Event-loop delay of this process (API + router) during a run, milliseconds. */
interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

interface LoadRound {
  result: LoadResult;
  loopDelay?: LoopDelay;
  otherCores: number | null;
}

interface LoadRow {
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

interface Results {
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

const results: Results = {
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

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}
function skip(what: string, why: string): void {
  const line = `${what}: ${why}`;
  results.skipped.push(line);
  say(`!! SKIPPED ${line}`);
}
function warn(line: string): void {
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
const logger = pino({ level: "warn" }, logSink);

// ---------------------------------------------------------------------------------------------
// Gateway helpers

async function startBenchGateway(agent: NodeJS.ProcessEnv | false): Promise<{
  gw: RunningGateway;
  client: AppGatewayClient;
  routerUrl: string;
  dataDir: string;
  stop(): Promise<void>;
}> {
  const dataDir = tempPath(fs.mkdtempSync(path.join(os.tmpdir(), "appgw-bench-")));
  const gw = await startGateway({
    dataDir,
    apiPort: 0,
    admin: ADMIN,
    router: { ROUTER__WEBSERVER__SERVER_PORT: "0" },
    agent,
    logger,
  });
  if (!gw.router) throw new Error("the gateway started without its router");
  await gw.router.ready;
  // The router's URL names `localhost`; the bench stays on 127.0.0.1.
  const routerUrl = `http://127.0.0.1:${gw.router.port}`;
  return {
    gw,
    client: new AppGatewayClient({ apiHost: gw.apiUrl, ...ADMIN }),
    routerUrl,
    dataDir,
    stop: async () => {
      await gw.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Plays the agent (as tests/provider/routerTest.test.ts does): a task taken from a queue by a worker
 * of ours, started, whose runtime properties point at the bench upstream through `routeName`.
 */
async function attachTask(
  client: AppGatewayClient,
  name: string,
  routeName: string,
  upstreamPort: number,
): Promise<string> {
  const queue = await client.queues.ensure("bench-hand");
  const worker = "bench-hand";
  await client.workers.register(worker, [queue]);
  const task = await client.tasks.create({ name, type: "application" });
  await client.tasks.enqueue(task, queue);
  const next = await client.queues.next(queue);
  if (next !== task) throw new Error(`expected task ${task} from the queue, got ${next}`);
  await client.tasks.report("started", task);
  await client.workers.statusReport(worker, task);
  await client.tasks.editRuntime(task, {
    [RUNTIME.service]: "EXTERNAL",
    [RUNTIME.address]: "127.0.0.1",
    [RUNTIME.port]: String(upstreamPort),
    [RUNTIME.mode]: "path",
    [RUNTIME.modeParam]: routeName,
  });
  await client.tasks.edit({ task, system_tags: [EXTERNAL_SERVICE_TAG], force: true });
  return task;
}

const pollAgent = new Agent({ connections: 4, keepAliveTimeout: 10_000 });

async function getStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher: pollAgent, headers });
  return { status: res.statusCode, body: await res.body.text() };
}

/**
 * Polls `url` every ~2 ms until `want(status)`; returns the milliseconds from `t0` to the first
 * matching answer, or null after 5 s (at most 2 500 polls).
 */
async function pollUntil(
  url: string,
  want: (status: number) => boolean,
  t0: number,
): Promise<number | null> {
  for (let i = 0; i < POLL_LIMIT_MS / POLL_INTERVAL_MS; i++) {
    try {
      const { status } = await getStatus(url);
      if (want(status)) return performance.now() - t0;
    } catch {
      // a refused or reset connection counts as not yet
    }
    if (performance.now() - t0 > POLL_LIMIT_MS) break;
    await sleep(POLL_INTERVAL_MS);
  }
  return null;
}

/** Waits until `url` answers 200 (a route just set up), failing loudly after 5 s. */
async function waitRouted(url: string, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + 5_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const r = await getStatus(url, headers);
      if (r.status === 200) return;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(20);
  }
  throw new Error(`${url} never answered 200 (last: ${last})`);
}

/** Runs `fn` while sampling this process's event-loop delay (1 ms resolution). */
async function withLoopDelay<T>(fn: () => Promise<T>): Promise<{ value: T; delay: LoopDelay }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const value = await fn();
    return {
      value,
      delay: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 },
    };
  } finally {
    h.disable();
  }
}

async function runClient(mode: string, clientArgs: string[], timeoutMs: number): Promise<unknown> {
  const child = spawnTs(`client-${mode}`, "client.ts", [mode, ...clientArgs]);
  const pid = child.proc.pid;
  if (pid) ownPids.add(pid); // once reaped, its CPU shows in this process's cutime instead
  const timer = setTimeout(() => void child.stop(1_000), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  if (pid) ownPids.delete(pid);
  const line = /^RESULT (.*)$/m.exec(child.stdout());
  if (!line)
    throw new Error(`client ${mode} failed (exit ${code}): ${child.stderr().slice(-1000)}`);
  return JSON.parse(line[1]!);
}

// ---------------------------------------------------------------------------------------------
// Phases

/** One load target: its row in the results and how to load it. */
interface LoadTarget {
  row: LoadRow;
  headers: string[];
  script?: string;
  durationSec: number;
}

function socketErrors(r: LoadResult): number {
  const e = r.socketErrors;
  return e.connect + e.read + e.write + e.timeout + (e.other ?? 0);
}

let quietBudgetMs = cfg.quietWaitSec * 1000;

/**
 * Before a measured run: waits (in 0.5 s looks, within what is left of --quiet-wait) until other
 * processes use under NOISY_CORES. Returns the milliseconds waited.
 */
async function waitQuiet(): Promise<number> {
  const started = Date.now();
  while (quietBudgetMs > 0 && Date.now() - started < QUIET_WAIT_PER_RUN_MS) {
    const a = cpuSnapshot([...ownPids]);
    await sleep(500);
    const other = otherCores(a, cpuSnapshot([...ownPids]));
    quietBudgetMs -= 500;
    if (other === null || other <= NOISY_CORES) break;
  }
  const waited = Date.now() - started;
  if (waited > 500) say(`   (waited ${ms(waited)} for other processes to calm down)`);
  return waited;
}

/**
 * Loads each target `rounds` times, interleaved (A B C D, A B C D: drift and other people's jobs
 * hit every target alike), and keeps each target's best round. Every round is kept in the JSON.
 */
async function runTargets(
  gen: LoadGenerator,
  targets: LoadTarget[],
  rounds: number,
): Promise<void> {
  const live: LoadTarget[] = [];
  for (const t of targets) {
    results.load.push(t.row);
    // One request first: a target that does not answer 200 is reported, not load-tested.
    try {
      const h: Record<string, string> = {};
      for (const x of t.headers)
        h[x.slice(0, x.indexOf(":")).toLowerCase()] = x.slice(x.indexOf(":") + 1).trim();
      const probe = await getStatus(t.row.url, h);
      if (probe.status !== 200)
        throw new Error(`probe answered ${probe.status}: ${probe.body.slice(0, 300)}`);
      live.push(t);
    } catch (err) {
      t.row.error = (err as Error).message;
      warn(`${t.row.name} failed: ${t.row.error.split("\n")[0]}`);
    }
  }
  const optsOf = (t: LoadTarget) => ({
    url: t.row.url,
    connections: cfg.connections,
    headers: t.headers,
    script: t.script,
  });
  // Every target warms up before any is measured: the router's two routes share code, and the
  // first one measured must not pay for the JIT and the pool's connections on its own.
  for (const t of live) {
    if (cfg.warmupSec <= 0 || t.script) continue;
    try {
      await gen.run({ ...optsOf(t), durationSec: cfg.warmupSec });
    } catch (err) {
      t.row.error = `warm-up: ${(err as Error).message}`;
      warn(`${t.row.name} failed: ${t.row.error.split("\n")[0]}`);
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const t of live) {
      if (t.row.error) continue;
      const opts = optsOf(t);
      try {
        await waitQuiet();
        const before = cpuSnapshot([...ownPids]);
        const { value, delay } = await withLoopDelay(() =>
          gen.run({ ...opts, durationSec: t.durationSec }),
        );
        const other = otherCores(before, cpuSnapshot([...ownPids]));
        const run: LoadRound = { result: value, otherCores: other };
        if (t.row.name.startsWith("router")) run.loopDelay = delay;
        (t.row.rounds ??= []).push(run);
        say(`   ${rounds > 1 ? `[${round + 1}/${rounds}] ` : ""}${roundLine(t.row.name, run)}`);
      } catch (err) {
        t.row.error = (err as Error).message;
        warn(`${t.row.name} failed: ${t.row.error.split("\n")[0]}`);
      }
    }
  }
  for (const t of live) {
    const best = [...(t.row.rounds ?? [])].sort((a, b) => b.result.rps - a.result.rps)[0];
    if (!best) continue;
    t.row.result = best.result;
    t.row.loopDelay = best.loopDelay;
    t.row.otherCores = best.otherCores;
    const non2xx = (t.row.rounds ?? []).reduce((n, r) => n + r.result.non2xx, 0);
    const errs = (t.row.rounds ?? []).reduce((n, r) => n + socketErrors(r.result), 0);
    if (non2xx > 0) warn(`${t.row.name}: ${non2xx} non-2xx/3xx responses`);
    if (errs > 0) warn(`${t.row.name}: ${errs} socket errors`);
    const noisy = (t.row.rounds ?? []).filter((r) => (r.otherCores ?? 0) > NOISY_CORES);
    if (noisy.length === (t.row.rounds ?? []).length) {
      warn(
        `${t.row.name}: other processes used ${noisy.map((r) => r.otherCores!.toFixed(2)).join("/")} cores during its runs: its figures are unreliable`,
      );
    }
  }
}

function roundLine(name: string, run: LoadRound): string {
  const r = run.result;
  const loop = run.loopDelay
    ? `; event-loop delay p99 ${ms(run.loopDelay.p99)}, max ${ms(run.loopDelay.max)}`
    : "";
  const other = run.otherCores === null ? "" : `; others used ${run.otherCores.toFixed(2)} cores`;
  return `${name}: ${r.rps.toFixed(0)} req/s, p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, non-2xx ${r.non2xx}, socket errors ${socketErrors(r)}${loop}${other}`;
}

async function coldTokens(gw: RunningGateway, sub: string): Promise<string> {
  const file = tempPath(path.join(os.tmpdir(), `appgw-bench-tokens-${process.pid}.txt`));
  const t = performance.now();
  const tokens: string[] = [];
  for (let i = 0; i < COLD_TOKENS; i++) {
    // Distinct names make distinct tokens even within one second.
    tokens.push(await gw.api.tokens.sign({ sub, name: `admin-${i}` }, 3600));
  }
  fs.writeFileSync(file, tokens.join("\n") + "\n");
  say(`   (signed ${COLD_TOKENS} tokens in ${ms(performance.now() - t)})`);
  return file;
}

function coldScript(tokenFile: string): string {
  const file = tempPath(path.join(os.tmpdir(), `appgw-bench-cold-${process.pid}.lua`));
  fs.writeFileSync(
    file,
    `-- Generated by bench/run.ts: every request carries the next of ${COLD_TOKENS} distinct tokens,
-- more than the router's verify cache holds, so each one is verified (ES256) again.
local tokens = {}
for line in io.lines(${JSON.stringify(tokenFile)}) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local n = #tokens
local i = 0
request = function()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
`,
  );
  return file;
}

async function routeChangeTrials(client: AppGatewayClient, routerUrl: string): Promise<void> {
  const create: number[] = [];
  const enable: number[] = [];
  const disable: number[] = [];
  const del: number[] = [];
  let timeouts = 0;
  const take = (into: number[], v: number | null, what: string, i: number) => {
    if (v === null) {
      timeouts++;
      warn(`route change trial ${i}: ${what} not seen within ${POLL_LIMIT_MS} ms`);
    } else into.push(v);
  };
  for (let i = 0; i < cfg.trials; i++) {
    const p = `/bench-rc-${i}`;
    const url = `${routerUrl}${p}/`;
    let t0 = 0;
    // The task attached to the name "bench-rc" already runs: the new route has a target at once.
    const id = await client.routes.save({
      name: "bench-rc",
      type: "path",
      path: p,
      auth_enabled: false,
      load_balancer: { enabled: false },
    });
    t0 = performance.now();
    take(create, await pollUntil(url, (s) => s === 200, t0), "create → 200", i);
    // The route is active (a task is attached): disabling it needs `force`, as in ClearML.
    await client.routes.setEnabled(id, false, true);
    t0 = performance.now();
    take(disable, await pollUntil(url, (s) => s === 404, t0), "disable → 404", i);
    await client.routes.setEnabled(id, true);
    t0 = performance.now();
    take(enable, await pollUntil(url, (s) => s === 200, t0), "enable → 200", i);
    await client.routes.delete([id], true);
    t0 = performance.now();
    take(del, await pollUntil(url, (s) => s === 404, t0), "delete → 404", i);
  }
  results.routeChange = {
    trials: cfg.trials,
    createToRouted: summarize(create),
    enableToRouted: summarize(enable),
    disableTo404: summarize(disable),
    deleteTo404: summarize(del),
    timeouts,
    pollIntervalMs: POLL_INTERVAL_MS,
  };
  const rc = results.routeChange;
  for (const [label, s] of [
    ["add_or_update_route (create) → first 200", rc.createToRouted],
    ["set_route_enabled true → first 200", rc.enableToRouted],
    ["set_route_enabled false → 404", rc.disableTo404],
    ["delete_routes → 404", rc.deleteTo404],
  ] as const) {
    say(`   ${label}: median ${ms(s.p50)}, p90 ${ms(s.p90)}, max ${ms(s.max)} (n=${s.n})`);
  }
}

async function churnUnderLoad(
  gen: LoadGenerator,
  client: AppGatewayClient,
  routerUrl: string,
): Promise<void> {
  const churn: NonNullable<Results["churn"]> = { changes: 0 };
  results.churn = churn;
  const durationSec = Math.min(cfg.durationSec, 6);
  // The reference: the same load just before, without changes (the machine's noise drifts).
  try {
    await waitQuiet();
    const before = cpuSnapshot([...ownPids]);
    const { value, delay } = await withLoopDelay(() =>
      gen.run({ url: `${routerUrl}/bench-static/`, connections: cfg.connections, durationSec }),
    );
    churn.quiet = {
      result: value,
      loopDelay: delay,
      otherCores: otherCores(before, cpuSnapshot([...ownPids])),
    };
    churn.quietRps = value.rps;
    say(`   ${roundLine("without changes", churn.quiet)}`);
  } catch (err) {
    churn.error = `quiet reference: ${(err as Error).message}`;
  }
  const wsUrl = `${routerUrl.replace("http:", "ws:")}/bench-static/ws`;
  await waitQuiet();
  const hold = runClient(
    "ws-hold",
    [wsUrl, String(durationSec * 1000), "20"],
    durationSec * 1000 + 15_000,
  );
  const loadRun = gen.run({
    url: `${routerUrl}/bench-static/`,
    connections: cfg.connections,
    durationSec,
  });
  let stopChurn = false;
  const churnLoop = (async () => {
    const end = Date.now() + durationSec * 1000;
    for (let i = 0; i < 1_000 && !stopChurn && Date.now() < end; i++) {
      // An unrelated route (its own task, the same upstream) appears and goes away.
      const id = await client.routes.save({
        name: "bench-rc",
        type: "path",
        path: `/bench-churn-${i}`,
        auth_enabled: false,
      });
      churn.changes++;
      await sleep(20);
      await client.routes.delete([id], true);
      churn.changes++;
      await sleep(20);
    }
  })();
  try {
    const before = cpuSnapshot([...ownPids]);
    const { value, delay } = await withLoopDelay(() => loadRun);
    churn.otherCores = otherCores(before, cpuSnapshot([...ownPids]));
    churn.load = value;
    churn.loopDelay = delay;
  } catch (err) {
    churn.error = (err as Error).message;
  } finally {
    stopChurn = true;
    await churnLoop;
  }
  try {
    churn.websocket = await hold;
  } catch (err) {
    churn.error = `${churn.error ?? ""} websocket: ${(err as Error).message}`;
  }
  const ws = churn.websocket as
    { survived?: boolean; sent?: number; received?: number; failures?: number } | undefined;
  if (churn.load) {
    const r = churn.load;
    const errs = socketErrors(r);
    const run: LoadRound = {
      result: r,
      loopDelay: churn.loopDelay,
      otherCores: churn.otherCores ?? null,
    };
    say(`   ${roundLine(`with ${churn.changes} route changes`, run)}`);
    say(
      `   with changes / without: ${ratio(r.rps, churn.quietRps)} req/s, p99 ${ratio(r.latencyMs.p99, churn.quiet?.result.latencyMs.p99)}`,
    );
    if (r.non2xx > 0 || errs > 0) {
      warn(
        `unrelated route changes caused ${r.non2xx} non-2xx and ${errs} socket errors on a stable route`,
      );
    }
    if ((churn.otherCores ?? 0) > NOISY_CORES || (churn.quiet?.otherCores ?? 0) > NOISY_CORES) {
      warn(
        `churn: other processes used ${churn.quiet?.otherCores?.toFixed(2)}/${churn.otherCores?.toFixed(2)} cores ` +
          "(without/with changes): the ratio is unreliable",
      );
    }
  }
  if (ws) {
    say(
      `   WebSocket on /bench-static during the changes: ${ws.survived ? "survived" : "DID NOT SURVIVE"}, ${ws.received}/${ws.sent} echoes`,
    );
    if (!ws.survived || (ws.failures ?? 0) > 0)
      warn(
        `a WebSocket on an unaffected route was disturbed by route changes: ${JSON.stringify(ws)}`,
      );
  }
  if (churn.error) warn(`churn: ${churn.error}`);
}

async function routerTests(): Promise<void> {
  const b = await startBenchGateway({ APPGW_WORKER_NAME: "bench-agent" });
  try {
    await b.client.queues.ensure("default");
    const runs: NonNullable<Results["routerTest"]>["runs"] = [];
    for (let i = 0; i < cfg.testRuns; i++) {
      const t0 = performance.now();
      const test = await runRouterTest(b.client, {
        router: "router-1",
        queue: "default",
        timeoutSec: 30,
        allowInsecure: false,
      });
      const wallMs = performance.now() - t0;
      const run = {
        wallMs,
        runTimeSec: test.runTimeSec,
        status: test.status,
        reason: test.statusReason,
        message: test.statusMessage,
      };
      runs.push(run);
      say(
        `   run ${i + 1}: ${run.status} in ${ms(wallMs)} (run_time_sec ${run.runTimeSec})${run.status === "passed" ? "" : `: ${run.reason} ${run.message}`}`,
      );
      if (run.status !== "passed")
        warn(`router test run ${i + 1} ${run.status}: ${run.reason} ${run.message}`);
    }
    const passed = runs.filter((r) => r.status === "passed");
    results.routerTest = {
      runs,
      wallMs: summarize(passed.map((r) => r.wallMs)),
      passed: passed.length,
    };
  } finally {
    await b.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function loadTable(): string[][] {
  const direct = results.load.find((r) => r.name === "direct")?.result;
  const nginx = results.load.find((r) => r.name === "nginx")?.result;
  const naive = results.load.find((r) => r.name === "node-proxy")?.result;
  const rows = [
    [
      "target",
      "req/s",
      "p50",
      "p99",
      "non-2xx",
      "sock err",
      "vs direct",
      "vs nginx",
      "vs node-proxy",
      "p99 vs nginx",
      "loop delay max",
      "rounds req/s",
      "others (cores)",
    ],
  ];
  const order = [
    "direct",
    "nginx",
    "node-proxy",
    "router-public",
    "router-auth",
    "router-auth-cold",
  ];
  const sorted = [...results.load].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const row of sorted) {
    const r = row.result;
    if (!r) {
      rows.push([row.name, row.skipped ? "SKIPPED" : "FAILED", ...Array<string>(11).fill("")]);
      continue;
    }
    const errs = socketErrors(r);
    rows.push([
      row.name,
      r.rps.toFixed(0),
      ms(r.latencyMs.p50),
      ms(r.latencyMs.p99),
      String(r.non2xx),
      String(errs),
      ratio(r.rps, direct?.rps),
      ratio(r.rps, nginx?.rps),
      ratio(r.rps, naive?.rps),
      ratio(r.latencyMs.p99, nginx?.latencyMs.p99),
      row.loopDelay ? ms(row.loopDelay.max) : "",
      (row.rounds ?? []).map((x) => x.result.rps.toFixed(0)).join("/"),
      (row.rounds ?? [])
        .map((x) => (x.otherCores === null ? "?" : x.otherCores.toFixed(2)))
        .join("/"),
    ]);
  }
  return rows;
}

function computeRatios(): string[] {
  const get = (n: string) => results.load.find((r) => r.name === n)?.result;
  const direct = get("direct");
  const nginx = get("nginx");
  const naive = get("node-proxy");
  const pub = get("router-public");
  const auth = get("router-auth");
  const cold = get("router-auth-cold");
  const lines: string[] = [];
  const add = (key: string, a: number | undefined, b: number | undefined) => {
    results.ratios[key] = ratioNum(a, b);
    lines.push(`${key} ${ratio(a, b)}`);
  };
  add("router/nginx", pub?.rps, nginx?.rps);
  add("router/direct", pub?.rps, direct?.rps);
  add("router/node-proxy", pub?.rps, naive?.rps);
  add("node-proxy/nginx", naive?.rps, nginx?.rps);
  add("nginx/direct", nginx?.rps, direct?.rps);
  add("router-auth/router", auth?.rps, pub?.rps);
  add("router-auth/nginx", auth?.rps, nginx?.rps);
  if (cold) add("router-auth-cold/router", cold.rps, pub?.rps);
  add("router p99/nginx p99", pub?.latencyMs.p99, nginx?.latencyMs.p99);
  return lines;
}

function loadCommand(): string {
  return results.config.loadgen === "wrk"
    ? `wrk -t1 -c${cfg.connections} -d${cfg.durationSec}s --latency`
    : `undici closed loop (${cfg.connections} connections, ${cfg.durationSec}s)`;
}

function markdown(ratioLines: string[]): string {
  const out: string[] = [];
  out.push(`# Data plane bench, ${results.started}`, "");
  out.push(
    `${results.host.cpus} cores (${results.host.cpuModel}), Node ${results.host.node}, ${results.host.platform}, ` +
      `load average at start ${results.host.loadavgAtStart.join(" ")}. ` +
      `Load: ${loadCommand()} after a ${cfg.warmupSec}s warm-up per target, best of ${cfg.rounds} interleaved round(s), ~100-byte GET, all on 127.0.0.1. ` +
      "Compare ratios, not absolute figures: they drift between runs.",
    "",
  );
  out.push(
    "Tools: " +
      Object.entries(results.tools)
        .map(([k, v]) => `${k}: ${v}`)
        .join("; "),
    "",
  );
  out.push("## Throughput and latency", "", mdTable(loadTable()), "");
  out.push("Ratios: " + ratioLines.join(", "), "");
  out.push(
    "`node-proxy`: a naive reverse proxy over one undici Pool (`stream()`, hop-by-hop headers dropped, nothing else) in its own process, the floor for a Node proxy; " +
      "`router-public`: a static path route without authentication; `router-auth`: an authenticated route with one Bearer token " +
      "(verified once, then from the router's verify cache); `router-auth-cold`: every request a different token " +
      `(${COLD_TOKENS} cycled, more than the cache holds), so each is verified (ES256).`,
    "",
  );
  if (results.routeChange) {
    const rc = results.routeChange;
    out.push(
      "## Route changes",
      "",
      `From the API call returning to the router answering as changed (polled every ~${rc.pollIntervalMs} ms), ${rc.trials} trials.`,
      "",
    );
    out.push(
      mdTable([
        ["change", "median", "p90", "max", "n"],
        ...(
          [
            ["add_or_update_route (create) → first 200", rc.createToRouted],
            ["set_route_enabled true → first 200", rc.enableToRouted],
            ["set_route_enabled false → 404", rc.disableTo404],
            ["delete_routes → 404", rc.deleteTo404],
          ] as const
        ).map(([l, s]) => [l, ms(s.p50), ms(s.p90), ms(s.max), String(s.n)]),
      ]),
      "",
    );
    if (rc.timeouts)
      out.push(`**${rc.timeouts} changes not seen within ${POLL_LIMIT_MS} ms.**`, "");
  }
  if (results.churn) {
    const c = results.churn;
    out.push("## Unrelated route changes under load", "");
    out.push(
      `/bench-static under the same load (${cfg.connections} connections) just before (without changes) and ` +
        `while another route was created and deleted every ~20 ms (${c.changes} changes).`,
      "",
    );
    const row = (label: string, r?: LoadResult, d?: LoopDelay, o?: number | null) =>
      r
        ? [
            label,
            r.rps.toFixed(0),
            ms(r.latencyMs.p50),
            ms(r.latencyMs.p99),
            String(r.non2xx),
            String(socketErrors(r)),
            d ? ms(d.max) : "",
            o === null || o === undefined ? "?" : o.toFixed(2),
          ]
        : [label, "n/a", "", "", "", "", "", ""];
    out.push(
      mdTable([
        ["run", "req/s", "p50", "p99", "non-2xx", "sock err", "loop delay max", "others (cores)"],
        row("without changes", c.quiet?.result, c.quiet?.loopDelay, c.quiet?.otherCores),
        row("with changes", c.load, c.loopDelay, c.otherCores),
      ]),
      "",
      `with/without: ${ratio(c.load?.rps, c.quietRps)} req/s, p99 ${ratio(c.load?.latencyMs.p99, c.quiet?.result.latencyMs.p99)}`,
    );
    if (c.websocket)
      out.push(
        "",
        `WebSocket on the stable route during the changes: \`${JSON.stringify(c.websocket)}\``,
      );
    if (c.error) out.push("", `Error: ${c.error}`);
    out.push("");
  }
  const wsRow = (label: string, v: unknown) => {
    const x = v as { connectMs: number; rtt: Summary } | undefined;
    return x
      ? [label, ms(x.connectMs), ms(x.rtt.p50), ms(x.rtt.p99), String(x.rtt.n)]
      : [label, "n/a", "", "", ""];
  };
  if (results.websocket) {
    const w = results.websocket as {
      direct?: { rtt: Summary };
      router?: { rtt: Summary };
      error?: string;
    };
    out.push("## WebSocket echo (sequential round trips, 32 bytes)", "");
    out.push(
      mdTable([
        ["path", "connect", "rtt p50", "rtt p99", "n"],
        wsRow("direct", w.direct),
        wsRow("router", w.router),
      ]),
    );
    out.push(
      "",
      `router/direct p50 ${ratio(w.router?.rtt.p50, w.direct?.rtt.p50)}, p99 ${ratio(w.router?.rtt.p99, w.direct?.rtt.p99)}`,
      "",
    );
    if (w.error) out.push(`Error: ${w.error}`, "");
  }
  if (results.sse) {
    const s = results.sse as {
      direct?: { firstByte: Summary; complete: Summary };
      router?: { firstByte: Summary; complete: Summary };
      error?: string;
    };
    const row = (l: string, v?: { firstByte: Summary; complete: Summary }) =>
      v
        ? [l, ms(v.firstByte.p50), ms(v.firstByte.p99), ms(v.complete.p50), String(v.firstByte.n)]
        : [l, "n/a", "", "", ""];
    out.push("## SSE (sequential streams of 5 events)", "");
    out.push(
      mdTable([
        ["path", "first byte p50", "first byte p99", "complete p50", "n"],
        row("direct", s.direct),
        row("router", s.router),
      ]),
    );
    out.push(
      "",
      `router/direct first byte p50 ${ratio(s.router?.firstByte.p50, s.direct?.firstByte.p50)}`,
      "",
    );
    if (s.error) out.push(`Error: ${s.error}`, "");
  }
  if (results.routerTest) {
    const t = results.routerTest;
    out.push("## Router test (the provider's runner, documented calls only, embedded agent)", "");
    out.push(
      `${t.passed}/${t.runs.length} passed; wall time median ${ms(t.wallMs.p50)}, min ${ms(t.wallMs.min)}, max ${ms(t.wallMs.max)}.`,
      "",
    );
    out.push(
      mdTable([
        ["run", "status", "wall", "run_time_sec"],
        ...t.runs.map((r, i) => [
          String(i + 1),
          r.status + (r.reason && r.status !== "passed" ? ` (${r.reason})` : ""),
          ms(r.wallMs),
          String(r.runTimeSec),
        ]),
      ]),
      "",
    );
  }
  out.push(
    "## Gateway log",
    "",
    `${results.routerLog.warn} warnings, ${results.routerLog.error} errors.`,
    "",
  );
  if (results.routerLog.samples.length)
    out.push("```", ...results.routerLog.samples.slice(0, 10), "```", "");
  if (results.skipped.length)
    out.push("## Skipped", "", ...results.skipped.map((s) => `- ${s}`), "");
  if (results.warnings.length)
    out.push("## Warnings", "", ...results.warnings.map((s) => `- ${s}`), "");
  return out.join("\n");
}

function save(md: string): string[] {
  const dir = path.join(__dirname, "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = results.started.replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
  const json = JSON.stringify(results, null, 2) + "\n";
  const files = [
    [path.join(dir, "latest.json"), json],
    [path.join(dir, "latest.md"), md + "\n"],
    [path.join(dir, `${stamp}.json`), json],
    [path.join(dir, `${stamp}.md`), md + "\n"],
  ] as const;
  for (const [f, text] of files) fs.writeFileSync(f, text);
  return files.map(([f]) => path.relative(process.cwd(), f));
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  say(`== appgw data plane bench  ${results.started}`);
  say(
    `   ${results.host.cpus} cores (${results.host.cpuModel}), Node ${process.version}, ` +
      `load average ${results.host.loadavgAtStart.join(" ")}; phases: ${[...cfg.phases].join(",")}`,
  );
  if (results.host.loadavgAtStart[0]! > results.host.cpus / 2) {
    warn(
      `the machine is busy before the bench starts (load average ${results.host.loadavgAtStart[0]} on ` +
        `${results.host.cpus} cores): figures will be noisy; the "others (cores)" column shows how much`,
    );
  }

  // Tools.
  const wrkBin = which("wrk");
  const nginxBin = args["no-nginx"] ? null : which("nginx");
  let gen: LoadGenerator;
  if (wrkBin && args.loadgen !== "undici") {
    results.tools.wrk = `${wrkBin} (${versionOf(wrkBin, ["-v"]).replace(/\s+Copyright.*/, "")})`;
    gen = wrkGenerator(wrkBin);
  } else {
    if (args.loadgen === "wrk") throw new Error("wrk not found: apt-get install -y wrk");
    results.tools.wrk = wrkBin
      ? `${wrkBin} (not used: --loadgen undici)`
      : "NOT FOUND (apt-get install -y wrk)";
    say(
      `!! wrk ${wrkBin ? "not used" : "not found (apt-get install -y wrk)"}: load comes from the undici closed-loop generator in a child process ` +
        "(autocannon is not installed); its figures do not compare with wrk's anchors, only the ratios do",
    );
    gen = undiciGenerator();
  }
  results.config.loadgen = gen.tool;
  results.tools.nginx = args["no-nginx"]
    ? "not used (--no-nginx)"
    : nginxBin
      ? `${nginxBin} (${versionOf(nginxBin, ["-v"])})`
      : "NOT FOUND (apt-get install -y nginx-light)";
  say(
    `   tools: ${Object.entries(results.tools)
      .map(([k, v]) => `${k} ${v}`)
      .join("; ")}`,
  );

  // The upstream.
  const upstream: Child = spawnTs("upstream", "upstream.ts", []);
  const upstreamPort = Number((await waitForLine(upstream, /^READY (\d+)$/m, 15_000))[1]);
  const directUrl = `http://127.0.0.1:${upstreamPort}`;
  if (upstream.proc.pid) ownPids.add(upstream.proc.pid);
  say(`   upstream: ${directUrl} (pid ${upstream.proc.pid})`);

  const needA = ["load", "cold", "ws", "sse", "routes", "churn"].some((p) =>
    cfg.phases.has(p as Phase),
  );
  if (needA) {
    const a = await startBenchGateway(false);
    say(`   gateway: API ${a.gw.apiUrl}, router ${a.routerUrl}`);
    let nginx: RunningNginx | undefined;
    try {
      const { client, routerUrl } = a;
      await client.routes.save({
        name: "bench-static",
        type: "path",
        path: "/bench-static",
        auth_enabled: false,
        load_balancer: { enabled: false },
      });
      await client.routes.save({
        name: "bench-auth",
        type: "path",
        path: "/bench-auth",
        auth_enabled: true,
        load_balancer: { enabled: false },
      });
      await attachTask(client, "bench-static-task", "bench-static", upstreamPort);
      await attachTask(client, "bench-auth-task", "bench-auth", upstreamPort);
      await attachTask(client, "bench-rc-task", "bench-rc", upstreamPort);
      const admin = await client.users.findByName("admin");
      if (!admin) throw new Error("no user named admin");
      const claims = { sub: admin.id, name: "admin" };
      const token = await a.gw.api.tokens.sign(claims, 3600);
      const bearer = [`Authorization: Bearer ${token}`];
      await waitRouted(`${routerUrl}/bench-static/`);
      await waitRouted(`${routerUrl}/bench-auth/`, { authorization: `Bearer ${token}` });

      if (cfg.phases.has("load")) {
        say("");
        say(
          `-- 1. throughput and latency: ${loadCommand()} ` +
            `(+${cfg.warmupSec}s warm-up), ~100-byte GET, ${cfg.rounds} interleaved round(s), best kept`,
        );
        const targets: LoadTarget[] = [];
        const target = (name: string, what: string, url: string, headers: string[] = []) =>
          targets.push({ row: { name, what, url }, headers, durationSec: cfg.durationSec });
        target("direct", "Node upstream, no proxy", `${directUrl}/`);
        if (nginxBin) {
          try {
            nginx = await startNginx(nginxBin, upstreamPort);
            if (nginx.child.proc.pid) ownPids.add(nginx.child.proc.pid);
            target("nginx", "nginx, 1 worker, upstream keepalive", `${nginx.url}/`);
          } catch (err) {
            skip("nginx baseline", (err as Error).message.split("\n")[0]!);
            results.load.push({
              name: "nginx",
              what: "nginx",
              url: "",
              skipped: (err as Error).message,
            });
          }
        } else {
          const why = args["no-nginx"]
            ? "--no-nginx"
            : "nginx not found: apt-get install -y nginx-light";
          skip("nginx baseline", why);
          results.load.push({ name: "nginx", what: "nginx", url: "", skipped: why });
        }
        let naive: Child | undefined;
        try {
          naive = spawnTs("naive-proxy", "naive-proxy.ts", [directUrl]);
          const port = Number((await waitForLine(naive, /^READY (\d+)$/m, 15_000))[1]);
          if (naive.proc.pid) ownPids.add(naive.proc.pid);
          target(
            "node-proxy",
            "naive undici proxy (stream(), no routing or auth), own process",
            `http://127.0.0.1:${port}/`,
          );
        } catch (err) {
          skip("naive Node proxy baseline", (err as Error).message.split("\n")[0]!);
        }
        target(
          "router-public",
          "our router, public static path route",
          `${routerUrl}/bench-static/`,
        );
        target(
          "router-auth",
          "our router, authenticated route, one Bearer token (verify cache hit)",
          `${routerUrl}/bench-auth/`,
          bearer,
        );
        try {
          await runTargets(gen, targets, cfg.rounds);
        } finally {
          await naive?.stop();
          await nginx?.stop();
          nginx = undefined;
        }
      }
      if (cfg.phases.has("cold")) {
        if (gen.tool !== "wrk") {
          skip("router-auth-cold", "needs wrk (a Lua script rotates the tokens)");
        } else {
          say("");
          say(
            `-- 1b. authenticated route, a different token on every request ` +
              `(${COLD_TOKENS} tokens cycled, ${cfg.coldDurationSec}s, one round)`,
          );
          const tokenFile = await coldTokens(a.gw, admin.id);
          const script = coldScript(tokenFile);
          try {
            const row = {
              name: "router-auth-cold",
              what: "our router, authenticated route, a new token each request (ES256 verify)",
              url: `${routerUrl}/bench-auth/`,
            };
            await runTargets(
              gen,
              [{ row, headers: bearer, script, durationSec: cfg.coldDurationSec }],
              1,
            );
          } finally {
            fs.rmSync(tokenFile, { force: true });
            fs.rmSync(script, { force: true });
          }
        }
      }
      if (cfg.phases.has("ws")) {
        say("");
        say("-- 4a. WebSocket echo round trip (2000 sequential 32-byte messages, one connection)");
        const w: NonNullable<Results["websocket"]> = {};
        results.websocket = w;
        try {
          w.direct = await runClient(
            "ws",
            [`ws://127.0.0.1:${upstreamPort}/ws`, "2000", "200"],
            60_000,
          );
          w.router = await runClient(
            "ws",
            [`${routerUrl.replace("http:", "ws:")}/bench-static/ws`, "2000", "200"],
            60_000,
          );
          const d = w.direct as { connectMs: number; rtt: Summary };
          const r = w.router as { connectMs: number; rtt: Summary };
          say(
            `   direct: rtt p50 ${ms(d.rtt.p50)}, p99 ${ms(d.rtt.p99)}, connect ${ms(d.connectMs)}`,
          );
          say(
            `   router: rtt p50 ${ms(r.rtt.p50)}, p99 ${ms(r.rtt.p99)}, connect ${ms(r.connectMs)}`,
          );
          say(
            `   router/direct rtt p50 ${ratio(r.rtt.p50, d.rtt.p50)}, p99 ${ratio(r.rtt.p99, d.rtt.p99)}`,
          );
        } catch (err) {
          w.error = (err as Error).message;
          warn(`websocket: ${w.error}`);
        }
      }
      if (cfg.phases.has("sse")) {
        say("");
        say("-- 4b. SSE first byte (300 sequential streams of 5 events)");
        const s: NonNullable<Results["sse"]> = {};
        results.sse = s;
        try {
          s.direct = await runClient("sse", [`${directUrl}/sse`, "300", "30"], 60_000);
          s.router = await runClient("sse", [`${routerUrl}/bench-static/sse`, "300", "30"], 60_000);
          for (const [label, v] of [
            ["direct", s.direct],
            ["router", s.router],
          ] as const) {
            const x = v as { firstByte: Summary; complete: Summary; errors: string[] };
            say(
              `   ${label}: first byte p50 ${ms(x.firstByte.p50)}, p99 ${ms(x.firstByte.p99)}; complete p50 ${ms(x.complete.p50)}${x.errors.length ? `; errors ${x.errors.join(", ")}` : ""}`,
            );
            if (x.errors.length) warn(`sse ${label}: ${x.errors.join(", ")}`);
          }
          const d = s.direct as { firstByte: Summary };
          const r = s.router as { firstByte: Summary };
          say(
            `   router/direct first byte p50 ${ratio(r.firstByte.p50, d.firstByte.p50)}, p99 ${ratio(r.firstByte.p99, d.firstByte.p99)}`,
          );
        } catch (err) {
          s.error = (err as Error).message;
          warn(`sse: ${s.error}`);
        }
      }
      if (cfg.phases.has("routes")) {
        say("");
        say(
          `-- 2. route-change latency (${cfg.trials} trials; router polled every ~${POLL_INTERVAL_MS} ms)`,
        );
        await routeChangeTrials(client, routerUrl);
      }
      if (cfg.phases.has("churn")) {
        say("");
        say("-- 2b. unrelated route changes under load (errors? WebSocket survives?)");
        await churnUnderLoad(gen, client, routerUrl);
      }
    } finally {
      await nginx?.stop();
      await a.stop();
    }
  }

  if (cfg.phases.has("test")) {
    say("");
    say(
      `-- 3. router test duration (${cfg.testRuns} runs, embedded agent 'bench-agent', queue 'default')`,
    );
    try {
      await routerTests();
      const t = results.routerTest!;
      say(
        `   ${t.passed}/${t.runs.length} passed; median ${ms(t.wallMs.p50)}, min ${ms(t.wallMs.min)}, max ${ms(t.wallMs.max)}`,
      );
    } catch (err) {
      warn(`router test: ${(err as Error).message}`);
    }
  }

  await upstream.stop();
  results.finished = new Date().toISOString();

  // Summary.
  const ratioLines = computeRatios();
  say("");
  say("== summary (same run; ratios are what to compare across runs)");
  if (results.load.length) {
    say(table(loadTable()));
    say("");
    say(`ratios: ${ratioLines.join(", ")}`);
  }
  say(`gateway log: ${results.routerLog.warn} warnings, ${results.routerLog.error} errors`);
  for (const s of results.routerLog.samples.slice(0, 5)) say(`   ${s}`);
  for (const s of results.skipped) say(`!! SKIPPED ${s}`);
  say(`${results.warnings.length} warnings`);
  const md = markdown(ratioLines);
  if (!args["no-save"]) say(`wrote ${save(md).join(", ")}`);
  return 0;
}

process.on("exit", () => {
  killAll();
  removeTemps();
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, ending child processes\n`);
    killAll();
    process.exit(130);
  });
}

main()
  .then(async (code) => {
    await stopAll();
    await pollAgent.close();
    process.exit(code);
  })
  .catch(async (err: Error) => {
    process.stderr.write(`\nbench FAILED: ${err.stack ?? err.message}\n`);
    await stopAll();
    process.exit(1);
  });
