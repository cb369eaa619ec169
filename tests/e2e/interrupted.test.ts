// `kill -9` of the Pulumi CLI in the middle of `pulumi up` of 100 routes: the gateway holds routes
// the state never recorded. `pulumi cancel` (when the stack is left locked) and one more
// `pulumi up`, with no change to the program, must reach exactly the program's routes.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { PulumiProject } from "../../scripts/pulumi";
import { eventually, type TestGateway } from "../helpers/gateway";
import { routesStack, upAfterInterruption } from "./helpers";

const N = 100;

describe("an up killed with kill -9", () => {
  let t: TestGateway;
  let project: PulumiProject;
  let stop: (() => Promise<void>) | undefined;
  /**
   * The killed CLI's plugins (language host, providers): they outlive it, each the leader of a
   * process group of its own (Pulumi starts them so), with their children.
   */
  let orphans: number[] = [];

  before(async () => {
    ({ t, project, stop } = await routesStack(N));
  });
  after(async () => {
    for (const pid of orphans) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await stop?.();
  });

  const names = async () => (await t.client.routes.list({ name: "^r[0-9]+$" })).map((r) => r.name);

  it("converges to exactly the program's routes with cancel and one more up", async () => {
    const cli = spawn("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive"], {
      cwd: project.dir,
      env: project.env,
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => cli.on("exit", resolve));
    // Killed in the middle: some routes exist, not all.
    await eventually(
      async () => (await names()).length >= N / 4,
      120_000,
      "a quarter of the routes",
    );
    const children = spawnSync("pgrep", ["-P", String(cli.pid)], { encoding: "utf8" });
    orphans = children.stdout.split("\n").filter(Boolean).map(Number);
    cli.kill("SIGKILL");
    await exited;
    const before = (await names()).length;
    assert.ok(before < N, `killed before the end (${before} of ${N} routes existed)`);
    // Whatever the orphaned provider process still had in flight lands or fails; then settle.
    await new Promise((r) => setTimeout(r, 2_000));

    await upAfterInterruption(project);
    const after = await names();
    assert.equal(after.length, N, "no route duplicated or missing");
    assert.deepEqual([...after].sort(), Array.from({ length: N }, (_, i) => `r${i}`).sort());
    await project.ok(["preview", "--refresh", "--expect-no-changes"]);
    await project.ok(["destroy", "--yes", "--skip-preview"]);
    assert.deepEqual(await names(), []);
  });
});
