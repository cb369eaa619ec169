// A load-balanced route with two targets, each the echo app of an agent process of its own.
// Sessions pinned to target A by their affinity cookie keep sending requests while A's process is
// killed with kill -9: only the requests in flight at that moment may fail, and every later
// request of those sessions must reach target B.
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import { eventually } from "../helpers/async";
import { adminClient, assertNone, clientEnv, Fleet, freePort, load, sleep } from "./helpers";

const SESSIONS = 8;

describe("a load-balanced route losing a target", function () {
  this.timeout(180_000);
  const fleet = new Fleet();
  const http = new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000 });
  after(async () => {
    await http.close();
    await fleet.cleanup();
  });

  it("moves the sessions of a killed target to the other one, failing only requests in flight", async () => {
    const routerPort = await freePort();
    const api = await fleet.api("all", { ROUTER__WEBSERVER__SERVER_PORT: String(routerPort) });
    const client = adminClient(api.apiUrl);
    await client.routes.save({
      name: "pair",
      type: "path",
      path: "/pair",
      auth_enabled: true,
      load_balancer: { enabled: true },
    });
    const agents = [];
    const tasks: string[] = [];
    for (const side of ["a", "b"]) {
      const agent = fleet.gateway(`agent-${side}`, ["--role", "agent", "--queue", `q-${side}`], {
        ...clientEnv(api.apiUrl),
        APPGW_WORKER_NAME: `agent-${side}`,
      });
      await agent.start();
      agents.push(agent);
      tasks.push(
        await client.startEcho({ queue: `q-${side}`, name: `pair-${side}`, staticRoute: "pair" }),
      );
    }
    const [taskA, taskB] = tasks as [string, string];

    const url = `http://127.0.0.1:${routerPort}/pair/`;
    const authorization = `Bearer ${await client.token()}`;
    /** One request of a session: the task that answered, and the cookie the session keeps. */
    const hit = async (cookie?: string): Promise<{ task: string; cookie?: string }> => {
      const res = await request(url, {
        headers: { authorization, ...(cookie ? { cookie } : {}) },
        dispatcher: http,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${text.slice(0, 200)}`);
      const set = [res.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith("appgw_aff_"));
      return {
        task: (JSON.parse(text) as { task: string }).task,
        cookie: set?.split(";")[0] ?? cookie,
      };
    };
    const seen = new Set<string>();
    await eventually(
      async () => seen.add((await hit()).task).size === 2,
      20_000,
      "both targets served",
    );

    const cookies: string[] = [];
    while (cookies.length < SESSIONS) {
      const first = await hit();
      if (first.task === taskA) cookies.push(first.cookie!);
    }
    const sessions = load(SESSIONS, async (i) => {
      const r = await hit(cookies[i]);
      cookies[i] = r.cookie!;
      return r.task;
    });
    await sleep(1_000);
    const killing = performance.now();
    await agents[0]!.kill();
    const killed = performance.now();
    await sleep(3_000);
    const samples = await sessions.stop();

    const failed = samples.filter((s) => s.value === undefined);
    const later = samples.filter((s) => s.start > killed);
    console.log(
      `      ${samples.length} requests of ${SESSIONS} sessions, ${failed.length} failed; ` +
        `${later.filter((s) => s.value === taskB).length} of ${later.length} after the kill reached B`,
    );
    assertNone(
      samples.filter((s) => s.end < killing && s.value !== taskA),
      "before the kill, every request reaches A",
    );
    assertNone(
      failed.filter((s) => !(s.start < killed && s.end >= killing)),
      "every request not in flight at the kill succeeds",
    );
    assertNone(
      later.filter((s) => s.value !== taskB),
      "every request after the kill reaches B",
    );
    for (let i = 0; i < SESSIONS; i++) {
      assert.ok(
        later.some((s) => s.worker === i),
        `session ${i} went on after the kill`,
      );
    }
  });
});
