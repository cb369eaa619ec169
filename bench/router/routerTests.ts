// Phase 3: the provider's router test runner from start to verdict, with the embedded agent in
// a second gateway.
import { performance } from "node:perf_hooks";
import { runRouterTest } from "@appgw/sdk";
import { ms, summarize } from "../stats";
import { startBenchGateway } from "./gateway";
import { cfg } from "./options";
import { results, say, warn, type Results } from "./results";

export async function routerTests(): Promise<void> {
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
    const t = results.routerTest;
    say(
      `   ${t.passed}/${t.runs.length} passed; median ${ms(t.wallMs.p50)}, min ${ms(t.wallMs.min)}, max ${ms(t.wallMs.max)}`,
    );
  } finally {
    await b.stop();
  }
}
