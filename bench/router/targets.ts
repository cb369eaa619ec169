// Phases 1 and 1b: throughput and latency of the router beside its baselines (direct, nginx, a
// naive Node proxy), in interleaved rounds; then an authenticated route with a new token on
// every request. Also which load generator and nginx the bench uses.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { RunningGateway } from "@appgw/gateway";
import { otherCores } from "../cpu";
import { undiciGenerator, wrkGenerator, type LoadGenerator } from "../load";
import { startNginx, type RunningNginx } from "../nginx";
import { spawnTs, tempPath, versionOf, waitForLine, which, type Child } from "../proc";
import { ms } from "../stats";
import { getStatus } from "./http";
import { ownCpu, ownPids, roundLine, socketErrors, waitQuiet, withLoopDelay } from "./measure";
import { args, cfg, COLD_TOKENS, NOISY_CORES } from "./options";
import { results, say, skip, warn, type LoadRound, type LoadRow } from "./results";

/** One load target: its row in the results and how to load it. */
interface LoadTarget {
  row: LoadRow;
  headers: string[];
  script?: string;
  durationSec: number;
}

/** The load generator (wrk, else the undici fallback) and nginx, recorded in `results.tools`. */
export function findTools(): { gen: LoadGenerator; nginxBin: string | null } {
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
  return { gen, nginxBin };
}

export function loadCommand(): string {
  return results.config.loadgen === "wrk"
    ? `wrk -t1 -c${cfg.connections} -d${cfg.durationSec}s --latency`
    : `undici closed loop (${cfg.connections} connections, ${cfg.durationSec}s)`;
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
        const before = ownCpu();
        const { value, delay } = await withLoopDelay(() =>
          gen.run({ ...opts, durationSec: t.durationSec }),
        );
        const other = otherCores(before, ownCpu());
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

/** Phase 1: direct, nginx, node-proxy, router-public and router-auth, interleaved. */
export async function throughput(
  gen: LoadGenerator,
  nginxBin: string | null,
  upstreamPort: number,
  routerUrl: string,
  bearer: string[],
): Promise<void> {
  const directUrl = `http://127.0.0.1:${upstreamPort}`;
  const targets: LoadTarget[] = [];
  const target = (name: string, what: string, url: string, headers: string[] = []) =>
    targets.push({ row: { name, what, url }, headers, durationSec: cfg.durationSec });
  target("direct", "Node upstream, no proxy", `${directUrl}/`);
  let nginx: RunningNginx | undefined;
  let naive: Child | undefined;
  try {
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
    target("router-public", "our router, public static path route", `${routerUrl}/bench-static/`);
    target(
      "router-auth",
      "our router, authenticated route, one Bearer token (verify cache hit)",
      `${routerUrl}/bench-auth/`,
      bearer,
    );
    await runTargets(gen, targets, cfg.rounds);
  } finally {
    await naive?.stop();
    await nginx?.stop();
  }
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
    `-- Generated by bench/router/targets.ts: every request carries the next of ${COLD_TOKENS} distinct tokens,
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

/** Phase 1b: router-auth-cold, one round (wrk only: a Lua script rotates the tokens). */
export async function coldTokenLoad(
  gen: LoadGenerator,
  gw: RunningGateway,
  adminId: string,
  routerUrl: string,
  bearer: string[],
): Promise<void> {
  const tokenFile = await coldTokens(gw, adminId);
  const script = coldScript(tokenFile);
  try {
    const row = {
      name: "router-auth-cold",
      what: "our router, authenticated route, a new token each request (ES256 verify)",
      url: `${routerUrl}/bench-auth/`,
    };
    await runTargets(gen, [{ row, headers: bearer, script, durationSec: cfg.coldDurationSec }], 1);
  } finally {
    fs.rmSync(tokenFile, { force: true });
    fs.rmSync(script, { force: true });
  }
}
