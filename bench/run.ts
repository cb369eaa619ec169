// `npm run bench`: the data plane's figures beside baselines measured in the same run, as
// ratios (figures drift between runs; ratios much less). See bench/README.md.
//
// Everything runs on 127.0.0.1: a plain Node upstream (child process), nginx (child process),
// the gateway (API + router, in this process) and the load generator (wrk, child process).
// Every loop is bounded in count and time, and every child is ended when the bench ends.
// Each phase lives in bench/router/; this file runs them in order.
import { killAll, removeTemps, spawnTs, stopAll, waitForLine } from "./proc";
import { churnUnderLoad } from "./router/churn";
import { startBenchGateway, setUpRoutes } from "./router/gateway";
import { pollAgent } from "./router/http";
import { ownPids } from "./router/measure";
import { args, cfg, COLD_TOKENS, POLL_INTERVAL_MS } from "./router/options";
import { report } from "./router/report";
import { results, say, skip, warn } from "./router/results";
import { routeChangeTrials } from "./router/routeChanges";
import { routerTests } from "./router/routerTests";
import { sseFirstByte, websocketEcho } from "./router/streams";
import { coldTokenLoad, findTools, loadCommand, throughput } from "./router/targets";

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

  const { gen, nginxBin } = findTools();
  say(
    `   tools: ${Object.entries(results.tools)
      .map(([k, v]) => `${k} ${v}`)
      .join("; ")}`,
  );

  const upstream = spawnTs("upstream", "upstream.ts", []);
  const upstreamPort = Number((await waitForLine(upstream, /^READY (\d+)$/m, 15_000))[1]);
  if (upstream.proc.pid) ownPids.add(upstream.proc.pid);
  say(`   upstream: http://127.0.0.1:${upstreamPort} (pid ${upstream.proc.pid})`);

  const phase = (title: string) => {
    say("");
    say(title);
  };
  if (["load", "cold", "ws", "sse", "routes", "churn"].some((p) => cfg.phases.has(p as never))) {
    const a = await startBenchGateway(false);
    say(`   gateway: API ${a.gw.apiUrl}, router ${a.routerUrl}`);
    try {
      const { client, routerUrl } = a;
      const { adminId, bearer } = await setUpRoutes(a, upstreamPort);
      if (cfg.phases.has("load")) {
        phase(
          `-- 1. throughput and latency: ${loadCommand()} ` +
            `(+${cfg.warmupSec}s warm-up), ~100-byte GET, ${cfg.rounds} interleaved round(s), best kept`,
        );
        await throughput(gen, nginxBin, upstreamPort, routerUrl, bearer);
      }
      if (cfg.phases.has("cold")) {
        if (gen.tool !== "wrk") {
          skip("router-auth-cold", "needs wrk (a Lua script rotates the tokens)");
        } else {
          phase(
            `-- 1b. authenticated route, a different token on every request ` +
              `(${COLD_TOKENS} tokens cycled, ${cfg.coldDurationSec}s, one round)`,
          );
          await coldTokenLoad(gen, a.gw, adminId, routerUrl, bearer);
        }
      }
      if (cfg.phases.has("ws")) {
        phase(
          "-- 4a. WebSocket echo round trip (2000 sequential 32-byte messages, one connection)",
        );
        await websocketEcho(upstreamPort, routerUrl);
      }
      if (cfg.phases.has("sse")) {
        phase("-- 4b. SSE first byte (300 sequential streams of 5 events)");
        await sseFirstByte(upstreamPort, routerUrl);
      }
      if (cfg.phases.has("routes")) {
        phase(
          `-- 2. route-change latency (${cfg.trials} trials; router polled every ~${POLL_INTERVAL_MS} ms)`,
        );
        await routeChangeTrials(client, routerUrl);
      }
      if (cfg.phases.has("churn")) {
        phase("-- 2b. unrelated route changes under load (errors? WebSocket survives?)");
        await churnUnderLoad(gen, client, routerUrl);
      }
    } finally {
      await a.stop();
    }
  }

  if (cfg.phases.has("test")) {
    phase(
      `-- 3. router test duration (${cfg.testRuns} runs, embedded agent 'bench-agent', queue 'default')`,
    );
    try {
      await routerTests();
    } catch (err) {
      warn(`router test: ${(err as Error).message}`);
    }
  }

  await upstream.stop();
  results.finished = new Date().toISOString();
  report(!args["no-save"]);
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
