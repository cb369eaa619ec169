// examples/local through the real `pulumi` CLI against a real gateway: the life of a stack
// from `up` to `destroy`, drift included. The steps build on each other, in order.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { startAgent } from "../../gateway/agent";
import { REPO, type PulumiProject } from "../../scripts/pulumi";
import { ReferenceGatewayClient } from "../../sdk/reference";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";
import { attachApp, connect, copyExample, get, newProject, requirePulumi } from "./helpers";

describe("examples/local with the real Pulumi CLI", () => {
  let t: TestGateway;
  let project: PulumiProject;
  let cleanup: () => void;
  let token: string;

  before(async () => {
    const binDir = requirePulumi();
    t = await startTestGateway();
    const copy = copyExample("local");
    const p = newProject(copy.dir, binDir);
    project = p.project;
    cleanup = () => {
      copy.remove();
      fs.rmSync(p.workDir, { recursive: true, force: true });
    };
    await project.stack("e2e");
    await connect(project, t);
    token = await t.client.token();
  });
  after(async () => {
    cleanup?.();
    await t?.stop();
  });

  const routeNamed = async (name: string) => {
    const route = await t.client.routes.findByName(name);
    assert.ok(route, `route '${name}' exists`);
    return route;
  };

  it("1. up creates every object, and the outputs match the gateway's own view", async () => {
    await project.ok(["up", "--yes", "--skip-preview"]);
    const out = (await project.outputs()) as {
      routes: Record<string, { urls: string[]; status: string; access: string[] }>;
      teamGroupId: string;
      routerTest: { status: string; worker: string; endpoint: string };
    };
    const llm = await routeNamed("llm");
    assert.equal(llm.path, "/llm");
    assert.equal(llm.load_balancer?.enabled, true);
    assert.deepEqual([...(llm.user_groups ?? [])].sort(), ["admins", out.teamGroupId].sort());
    // The router reports the new route a moment after it exists: its URL is real, never a
    // template, and refresh records it.
    const url = `${t.routerUrl}/llm`;
    await eventually(
      async () => (await routeNamed("llm")).urls?.includes(url),
      10_000,
      "llm's URL",
    );
    await project.ok(["refresh", "--yes", "--skip-preview"]);
    const state = JSON.parse((await project.ok(["stack", "export"])).stdout) as {
      deployment: { resources: { urn: string; outputs?: { observed?: { urls?: string[] } } }[] };
    };
    const recorded = state.deployment.resources.find((r) => r.urn.endsWith("StaticRoute::llm"));
    assert.deepEqual(recorded?.outputs?.observed?.urls, [url]);
    assert.deepEqual(out.routes.llm?.access, ["Admins", "ml-team"]);
    assert.deepEqual(out.routes.status?.access, ["Public"]);
    const notebooks = await routeNamed("notebooks");
    assert.equal(notebooks.subdomain, "notebooks");
    const rules = await t.client.accessRules.list();
    assert.ok(
      rules.some(
        (r) =>
          r.entity_type === "route" &&
          r.entity_id === notebooks.id &&
          (r.groups ?? []).some((g) => g.id === out.teamGroupId),
      ),
      "GroupAccess granted the team through an access rule",
    );
    assert.equal((await routeNamed("status")).auth_enabled, false);
    assert.equal((await t.client.groups.get(out.teamGroupId))?.name, "ml-team");
    const [test] = await t.client.routerTests(["router-1"]);
    assert.equal(out.routerTest.status, "passed");
    assert.equal(test?.status, "passed", "the gateway shows the router's Test Status");
    assert.equal(out.routerTest.worker, test?.worker);
    assert.equal(out.routerTest.endpoint, test?.endpoint);
  });

  it("2. a second up and preview --expect-no-changes report no changes", async () => {
    const up = await project.ok(["up", "--yes", "--skip-preview"]);
    assert.match(up.output, /7 unchanged/);
    const preview = await project.run(["preview", "--expect-no-changes"]);
    assert.equal(preview.code, 0, preview.output);
    const refreshed = await project.run(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(refreshed.code, 0, refreshed.output);
  });

  it("3. changing the path of an enabled route in the program updates it in place, and traffic follows", async () => {
    const before = await routeNamed("llm");
    await attachApp(t.client, "llm");
    await eventually(
      async () => (await routeNamed("llm")).status === "active",
      10_000,
      "llm routing",
    );
    assert.equal((await get(`${t.routerUrl}/llm/ping`, token)).status, 200);

    await project.config({ llmPath: "/models" });
    const up = await project.ok(["up", "--yes", "--skip-preview"]);
    assert.match(up.output, /llm\s+updated/);
    const after = await routeNamed("llm");
    assert.equal(after.id, before.id, "updated in place, not replaced");
    assert.equal(after.path, "/models");
    assert.equal(after.enabled, true);
    await eventually(
      async () => (await get(`${t.routerUrl}/models/ping`, token)).status === 200,
      5000,
      "traffic on /models",
    );
    assert.equal((await get(`${t.routerUrl}/llm/ping`, token)).status, 404);
  });

  it("4. drift made out of band fails preview --refresh --expect-no-changes with exit 7; refresh records it; up restores", async () => {
    const expectDrift = async (pattern: RegExp) => {
      const preview = await project.run(["preview", "--refresh", "--expect-no-changes", "--diff"]);
      assert.equal(preview.code, 7, preview.output);
      assert.match(preview.output, pattern);
    };
    const status = await routeNamed("status");
    const llm = await routeNamed("llm");
    const notebooks = await routeNamed("notebooks");

    // A route edited out of band (it is routing: disabling it takes `force`).
    await t.client.routes.setEnabled(llm.id, false, true);
    await t.client.routes.save({ id: llm.id, name: "llm", type: "path", path: "/hijacked" });
    await t.client.routes.setEnabled(llm.id, true);
    await expectDrift(/path\s*:\s*"\/hijacked" => "\/models"/);
    // The CI wrapper users copy (examples/ci) says the same.
    const check = await project.exec(path.join(REPO, "examples", "ci", "drift-check.sh"), ["e2e"]);
    assert.equal(check.code, 7, check.output);
    assert.match(check.stderr, /has DRIFT or undeployed changes/);
    // A route disabled out of band.
    await t.client.routes.setEnabled(status.id, false);
    await expectDrift(/enabled\s*:\s*false => true/);
    // A route deleted out of band.
    await t.client.routes.delete([notebooks.id]);
    await expectDrift(/\+\s+pulumi-nodejs:dynamic\/appgw:StaticRoute: \(create\)[\s\S]*notebooks/);

    // refresh records the truth.
    await project.ok(["refresh", "--yes", "--skip-preview"]);
    const state = JSON.parse((await project.ok(["stack", "export"])).stdout) as {
      deployment: { resources: { urn: string; outputs?: Record<string, unknown> }[] };
    };
    const outputsOf = (name: string) =>
      state.deployment.resources.find((r) => r.urn.endsWith(`StaticRoute::${name}`))?.outputs;
    assert.equal(outputsOf("llm")?.path, "/hijacked");
    assert.equal(outputsOf("status")?.enabled, false);
    assert.equal(outputsOf("notebooks"), undefined, "the deleted route left the state");

    // up restores the desired state.
    await project.ok(["up", "--yes", "--skip-preview"]);
    assert.equal((await routeNamed("llm")).path, "/models");
    assert.equal((await routeNamed("status")).enabled, true);
    assert.equal((await routeNamed("notebooks")).subdomain, "notebooks");
    const clean = await project.run(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, clean.output);
  });

  it("4b. a group member removed out of band is drift, and up puts them back", async () => {
    await t.client.addUser({ name: "e2e-user" });
    await project.config({ teamMembers: JSON.stringify(["e2e-user"]) });
    await project.ok(["up", "--yes", "--skip-preview"]);
    const group = await t.client.groups.findByName("ml-team");
    assert.deepEqual(
      group?.users?.map((u) => u.name),
      ["e2e-user"],
    );
    await t.client.groups.save({ id: group?.id as string, users: [] });
    const preview = await project.run(["preview", "--refresh", "--expect-no-changes", "--diff"]);
    assert.equal(preview.code, 7, preview.output);
    assert.match(preview.output, /members/);
    await project.ok(["up", "--yes", "--refresh", "--skip-preview"]);
    assert.deepEqual(
      (await t.client.groups.findByName("ml-team"))?.users?.map((u) => u.name),
      ["e2e-user"],
    );
  });

  it("5. a router test that cannot pass fails up with the reason and the log tail; fixed, up passes", async () => {
    await t.client.queues.ensure("no-agent-here");
    await project.config({ testQueue: "no-agent-here" });
    const failed = await project.run(["up", "--yes", "--skip-preview"]);
    assert.notEqual(failed.code, 0);
    assert.match(failed.output, /router test of 'router-1' failed \(no_agent\)/);
    assert.match(failed.output, /no agent serves queue 'no-agent-here'/);
    assert.match(failed.output, /lines of the test log/);

    // The fix: an agent starts serving the queue.
    const agent = await startAgent(
      { worker: "late-agent", queues: ["no-agent-here"], address: "127.0.0.1", maxTasks: 2 },
      new ReferenceGatewayClient({ apiHost: t.apiUrl, ...t.admin }),
      pino({ level: "silent" }),
    );
    try {
      const fixed = await project.ok(["up", "--yes", "--skip-preview"]);
      assert.match(fixed.output, /router-test\s+updated/);
      const out = (await project.outputs()) as { routerTest: { status: string; worker: string } };
      assert.equal(out.routerTest.status, "passed");
      assert.equal(out.routerTest.worker, "late-agent");
    } finally {
      await agent.close();
    }
  });

  it("7. the exported state holds no plaintext secret: neither the API secret nor a token", async () => {
    const exported = (await project.ok(["stack", "export"])).stdout;
    assert.ok(!exported.includes(t.admin.secretKey), "the API secret is not in state");
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.eyJ/.test(exported), "no JWT in state");
    const config = fs.readFileSync(`${project.dir}/Pulumi.e2e.yaml`, "utf8");
    assert.ok(!config.includes(t.admin.secretKey), "the stack config holds the secret encrypted");
    assert.match(config, /secure:/);
  });

  it("6. destroy leaves the gateway without any object the stack made", async () => {
    await project.ok(["destroy", "--yes", "--skip-preview"]);
    const routes = (await t.client.routes.list()).map((r) => r.name);
    for (const name of ["llm", "notebooks", "status"])
      assert.ok(!routes.includes(name), `${name} is gone`);
    assert.equal(await t.client.groups.findByName("ml-team"), undefined);
  });
});
