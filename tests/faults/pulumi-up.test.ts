// `kill -9` of the gateway (not the CLI: tests/e2e/interrupted.test.ts does that) in the middle of
// `pulumi up` of 100 StaticRoutes, a restart on the same data folder and port, and one more up:
// the gateway ends with exactly the program's routes and the state matches it.
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import type { PulumiProject } from "../../scripts/pulumi";
import { apiProxy, type ApiProxy } from "../helpers/api-proxy";
import { eventually } from "../helpers/async";
import { connect, requirePulumi, routesProject, upAfterInterruption } from "../e2e/helpers";
import { adminClient, Fleet, type ApiProcess } from "./helpers";

const N = 100;
const PROGRAM = Array.from({ length: N }, (_, i) => `r${i}`).sort();
/** The interrupted up ends by itself once its calls fail; past this it is killed. */
const CUT_SHORT_UP_MS = 180_000;

describe("kill -9 of the gateway during pulumi up", function () {
  this.timeout(900_000);
  const fleet = new Fleet();
  let binDir: string;
  const removals: (() => void)[] = [];

  before(() => {
    binDir = requirePulumi();
  });
  after(async () => {
    removals.forEach((remove) => remove());
    await fleet.cleanup();
  });

  /** A gateway process and a stack of the N routes using it, through the proxy `via` makes if any. */
  async function stack(
    via?: (apiUrl: string) => Promise<ApiProxy>,
  ): Promise<{ api: ApiProcess; project: PulumiProject; proxy?: ApiProxy }> {
    const api = await fleet.api();
    const proxy = via && (await via(api.apiUrl));
    if (proxy) removals.push(() => proxy.close());
    const { project, remove } = routesProject(N, binDir);
    removals.push(remove);
    await project.stack("faults");
    await connect(project, { ...api, apiUrl: proxy?.url ?? api.apiUrl });
    return { api, project, proxy };
  }

  const routes = (api: ApiProcess) => adminClient(api.apiUrl).routes.list({ name: "^r[0-9]+$" });

  /**
   * One more up after the restart, then the checks: exactly the program's routes, `kept` among
   * them (adopted, not replaced), no drift; and the state still destroys them all.
   */
  async function converges(api: ApiProcess, project: PulumiProject, kept: string[] = []) {
    await upAfterInterruption(project);
    const final = await routes(api);
    assert.deepEqual(
      final.map((r) => r.name).sort(),
      PROGRAM,
      "exactly the program's routes, none twice, none missing",
    );
    const ids = new Set(final.map((r) => r.id));
    for (const id of kept) assert.ok(ids.has(id), `route ${id} kept`);
    await project.ok(["preview", "--refresh", "--expect-no-changes"]);
    await project.ok(["destroy", "--yes", "--skip-preview"]);
    assert.deepEqual(await routes(api), []);
  }

  /**
   * Runs `pulumi up` and, once a quarter of the routes exist, `strike`, which must take the
   * gateway down; returns when the up has ended (failed, or killed past CUT_SHORT_UP_MS), after
   * starting the gateway again on its data folder and port. Returns how many routes it has.
   */
  async function upStruckMidway(
    api: ApiProcess,
    project: PulumiProject,
    strike: () => Promise<void> | void,
  ): Promise<number> {
    const began = performance.now();
    const up = project.run(["up", "--yes", "--skip-preview"], { timeoutMs: CUT_SHORT_UP_MS });
    await eventually(
      async () => (await routes(api)).length >= N / 4,
      300_000,
      "a quarter of the routes",
    );
    await strike();
    const cut = await up;
    assert.notEqual(cut.code, 0, `the up fails once its gateway is gone:\n${cut.output}`);
    assert.ok(!api.process.running, "the gateway was killed");
    await api.process.start();
    const stored = (await routes(api)).length;
    console.log(
      `      killed with ${stored} of ${N} routes stored; the up ended ` +
        `${((performance.now() - began) / 1000).toFixed(1)} s after it began`,
    );
    assert.ok(stored < N, "killed mid-up");
    return stored;
  }

  it("converges to exactly the 100 routes when the gateway is killed mid-up and restarted", async () => {
    const { api, project } = await stack();
    await upStruckMidway(api, project, () => api.process.kill());
    await converges(api, project);
  });

  it("adopts a route the gateway stored but died before answering, with no duplicate", async () => {
    const { api, project, proxy } = await stack(apiProxy);
    const lost: string[] = [];
    proxy!.onLost = async (answer) => {
      lost.push((JSON.parse(answer) as { data: { id: string } }).data.id);
      await api.process.kill();
    };
    // The next create is carried out and stored, and the gateway dies before its answer leaves.
    await upStruckMidway(api, project, () => {
      proxy!.lose = "routers.add_or_update_route";
    });
    proxy!.lose = undefined;
    assert.ok(lost.length >= 1, "a create was answered by the gateway and the answer lost");
    const stored = new Set((await routes(api)).map((r) => r.id));
    for (const id of lost) assert.ok(stored.has(id), `route ${id} was stored before the kill`);
    await converges(api, project, lost);
  });
});
