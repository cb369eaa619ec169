// `pulumi up` of a program with a RouterTest whose queue the real clearml-agent serves: the echo
// task is a Python script the agent runs with ClearML's SDK, as it would be on ClearML.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { REPO, type PulumiProject } from "../../scripts/pulumi";
import { connect, newProject, requirePulumi } from "../e2e/helpers";
import { clearmlEnv } from "./environment";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import * as appgw from "@appgw/pulumi";

const config = new pulumi.Config();
const test = new appgw.RouterTest("router-test", {
  router: config.require("router"),
  queue: config.require("queue"),
  timeoutSec: config.requireNumber("timeoutSec"),
});
export const status = test.status;
export const reason = test.statusReason;
export const worker = test.worker;
export const endpoint = test.endpoint;
`;

describe("RouterTest on the real clearml-agent, with the real Pulumi CLI", function () {
  this.timeout(600_000);
  let project: PulumiProject;
  let cleanup = () => {};
  let router = "";

  before(async () => {
    const binDir = requirePulumi();
    const { t } = clearmlEnv();
    // Inside the repository, so @appgw/pulumi resolves from its node_modules.
    const dir = fs.mkdtempSync(path.join(REPO, "examples", ".e2e-clearml-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: clearml-router-test\nruntime: nodejs\n");
    fs.writeFileSync(
      path.join(dir, "package.json"),
      '{ "name": "clearml-router-test", "main": "index.ts" }',
    );
    fs.copyFileSync(
      path.join(REPO, "examples", "local", "tsconfig.json"),
      path.join(dir, "tsconfig.json"),
    );
    fs.writeFileSync(path.join(dir, "index.ts"), PROGRAM);
    const p = newProject(dir, binDir);
    project = p.project;
    cleanup = () => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(p.workDir, { recursive: true, force: true });
    };
    await project.stack("clearml");
    // The provider talks to the API directly: the audit is of ClearML's clients alone.
    await connect(project, t);
    router = (await t.client.routers.list())[0]?.router ?? "";
    assert.ok(router, "the gateway's router is registered");
  });
  after(() => cleanup());

  it("passes: the agent runs the echo script, and traffic through the router reaches it", async () => {
    const { t, agentQueue } = clearmlEnv();
    await project.config({ router, queue: agentQueue, timeoutSec: "240" });
    await project.ok(["up", "--yes", "--skip-preview"]);
    const out = (await project.outputs()) as Record<string, string>;
    assert.equal(out.status, "passed", JSON.stringify(out));
    assert.equal(out.worker, "appgw-suite:0", "the real agent ran the test task");
    assert.match(out.endpoint ?? "", new RegExp(`^${t.routerUrl}/service/`));
    const [test] = (await t.client.tasks.list({ system_tags: ["appgw_router_test"] })).slice(-1);
    assert.equal(test?.runtime?.appgw_test_status, "passed");
  });

  it("fails pulumi up with the test's reason when no agent serves the queue", async () => {
    const { idleQueue } = clearmlEnv();
    await project.config({ queue: idleQueue, timeoutSec: "30" });
    const up = await project.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(up.code, 0, "up fails");
    assert.match(up.output, /no_agent/);
    assert.match(up.output, new RegExp(`no agent serves queue '${idleQueue}'`));
  });
});
