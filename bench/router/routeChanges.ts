// Phase 2: from a route change's API call returning to the router answering as changed.
import { performance } from "node:perf_hooks";
import type { AppGatewayClient } from "@appgw/sdk";
import { ms, summarize } from "../stats";
import { pollUntil } from "./http";
import { cfg, POLL_INTERVAL_MS, POLL_LIMIT_MS } from "./options";
import { results, say, warn, type Results } from "./results";

/** The four changes timed, with the label the console and the report give each. */
export const ROUTE_CHANGES = [
  ["add_or_update_route (create) → first 200", "createToRouted"],
  ["set_route_enabled true → first 200", "enableToRouted"],
  ["set_route_enabled false → 404", "disableTo404"],
  ["delete_routes → 404", "deleteTo404"],
] as const satisfies readonly (readonly [string, keyof NonNullable<Results["routeChange"]>])[];

export async function routeChangeTrials(
  client: AppGatewayClient,
  routerUrl: string,
): Promise<void> {
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
  for (const [label, key] of ROUTE_CHANGES) {
    const s = rc[key];
    say(`   ${label}: median ${ms(s.p50)}, p90 ${ms(s.p90)}, max ${ms(s.max)} (n=${s.n})`);
  }
}
