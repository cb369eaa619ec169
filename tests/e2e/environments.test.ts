// examples/environments: dev and prod stacks of one program against one gateway.
import assert from "node:assert/strict";
import fs from "node:fs";
import type { PulumiProject } from "../../scripts/pulumi";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { connect, copyExample, newProject, requirePulumi } from "./helpers";

describe("examples/environments: two stacks, one gateway", () => {
  let t: TestGateway;
  let project: PulumiProject;
  let cleanup: () => void;

  before(async () => {
    const binDir = requirePulumi();
    t = await startTestGateway();
    const copy = copyExample("environments");
    const p = newProject(copy.dir, binDir);
    project = p.project;
    cleanup = () => {
      copy.remove();
      fs.rmSync(p.workDir, { recursive: true, force: true });
    };
  });
  after(async () => {
    cleanup?.();
    await t?.stop();
  });

  const names = async () => (await t.client.routes.list()).map((r) => r.name).sort();

  it("deploys dev and prod side by side, differing only by their stack config", async () => {
    for (const stack of ["dev", "prod"]) {
      await project.stack(stack);
      await connect(project, t);
      await project.ok(["up", "--yes", "--skip-preview"]);
    }
    assert.deepEqual(await names(), ["dev-llm", "dev-notebooks", "prod-llm", "prod-notebooks"]);
    const devLlm = await t.client.routes.findByName("dev-llm");
    const prodLlm = await t.client.routes.findByName("prod-llm");
    assert.equal(devLlm?.path, "/dev/llm");
    assert.equal(devLlm?.load_balancer?.enabled, false);
    assert.equal(prodLlm?.path, "/prod/llm");
    assert.equal(prodLlm?.load_balancer?.enabled, true);
    assert.equal((await t.client.routes.findByName("dev-notebooks"))?.auth_enabled, false);
    assert.equal((await t.client.routes.findByName("prod-notebooks"))?.auth_enabled, true);
    await project.stack("prod");
    assert.equal(
      ((await project.outputs()) as { routerTestStatus?: string }).routerTestStatus,
      "passed",
    );
  });

  it("changes and destroys one environment without touching the other", async () => {
    const prodBefore = await t.client.routes.list({ name: "^prod-" });
    await project.stack("dev");
    await project.config({ pathPrefix: "/staging" });
    await project.ok(["up", "--yes", "--skip-preview"]);
    assert.equal((await t.client.routes.findByName("dev-llm"))?.path, "/staging/llm");
    assert.deepEqual(await t.client.routes.list({ name: "^prod-" }), prodBefore);

    await project.ok(["destroy", "--yes", "--skip-preview"]);
    assert.deepEqual(await names(), ["prod-llm", "prod-notebooks"]);
    assert.deepEqual(await t.client.routes.list({ name: "^prod-" }), prodBefore);
    assert.ok(await t.client.groups.findByName("prod-ml-team"));
    assert.equal(await t.client.groups.findByName("dev-ml-team"), undefined);

    await project.stack("prod");
    const preview = await project.run(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(preview.code, 0, preview.output);
  });
});
