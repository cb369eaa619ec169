// Two routers (separate processes, `--role router`) serve one route under load; router 1 is killed
// with kill -9 and started again on its port. It must serve again within 2 s of its restart, and
// router 2, which shares the control API and the app with it, must not fail a single request.
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import { eventually } from "../helpers/async";
import {
  adminClient,
  assertNone,
  clientEnv,
  Fleet,
  freePort,
  load,
  sleep,
  type GatewayProcess,
  type Sample,
} from "./helpers";

const WORKERS_PER_ROUTER = 4;
const RESTART_BUDGET_MS = 2_000;

describe("a router killed under load", function () {
  this.timeout(180_000);
  const fleet = new Fleet();
  const http = new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000 });
  after(async () => {
    await http.close();
    await fleet.cleanup();
  });

  it("serves again within 2 s of its restart while the other router fails no request", async () => {
    // API and agent (with its embedded router, which no client uses) in one process.
    const api = await fleet.api("all", {
      ROUTER_NAME: "embedded",
      ROUTER__WEBSERVER__SERVER_PORT: "0",
    });
    const client = adminClient(api.apiUrl);
    await client.routes.save({
      name: "steady",
      type: "path",
      path: "/steady",
      auth_enabled: true,
      load_balancer: { enabled: false },
    });
    const task = await client.startEcho({
      queue: "default",
      name: "steady-app",
      staticRoute: "steady",
    });
    const headers = { authorization: `Bearer ${await client.token()}` };

    const routers: { proc: GatewayProcess; url: string }[] = [];
    for (const name of ["router-1", "router-2"]) {
      const port = await freePort();
      // From the build, as the image runs it: what is timed is the router's start, not tsx's.
      const proc = fleet.gateway(
        name,
        ["--role", "router"],
        {
          ...clientEnv(api.apiUrl),
          ROUTER_NAME: name,
          ROUTER__WEBSERVER__SERVER_PORT: String(port),
        },
        { built: true },
      );
      await proc.start();
      routers.push({ proc, url: `http://127.0.0.1:${port}/steady/` });
    }
    /** One request through a router: the app's answer, or a throw. */
    const once = async (url: string): Promise<string> => {
      const res = await request(url, { headers, dispatcher: http });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${text.slice(0, 200)}`);
      return (JSON.parse(text) as { task: string }).task;
    };
    for (const r of routers)
      await eventually(async () => (await once(r.url)) === task, 20_000, `${r.url} serving`);

    const [one, two] = routers as [(typeof routers)[0], (typeof routers)[0]];
    const began = performance.now();
    const load1 = load(WORKERS_PER_ROUTER, () => once(one.url));
    const load2 = load(WORKERS_PER_ROUTER, () => once(two.url));
    await sleep(1_500);
    await one.proc.kill();
    await sleep(500);
    const restarted = performance.now();
    let readyAfter = NaN;
    const ready = one.proc.start().then(() => (readyAfter = performance.now() - restarted));
    const served = await eventually(
      async () => load1.samples.find((s) => s.start >= restarted && s.value === task),
      30_000,
      "router 1 serving after its restart",
    );
    await ready;
    await sleep(1_500);
    const [samples1, samples2] = await Promise.all([load1.stop(), load2.stop()]);
    const ended = performance.now();

    const failed = (samples: Sample<string>[]) => samples.filter((s) => s.value !== task);
    const back = served.end - restarted;
    console.log(
      `      router 1: ready ${readyAfter.toFixed(0)} ms and serving ${back.toFixed(0)} ms after its restart; ` +
        `router 2: ${samples2.length} requests in ${((ended - began) / 1000).toFixed(1)} s, ` +
        `${failed(samples2).length} failed; router 1: ${samples1.length} requests, ${failed(samples1).length} failed`,
    );
    assertNone(failed(samples2), "every request through router 2 succeeds");
    assert.ok(samples2.length > 100, `router 2 was under load (${samples2.length} requests)`);
    assert.ok(
      back < RESTART_BUDGET_MS,
      `router 1 served again ${back.toFixed(0)} ms after its restart`,
    );
    assertNone(
      failed(samples1.filter((s) => s.start > served.end)),
      "every request through router 1 succeeds once it is back",
    );
  });
});
