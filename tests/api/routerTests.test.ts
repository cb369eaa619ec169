import assert from "node:assert/strict";
import { ROUTER_TEST, RUNTIME } from "@appgw/sdk";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

/** What the provider's RouterTest writes, step by step, with documented calls only. */
describe("control API: router tests read back from their tasks (appgw.get_router_tests)", () => {
  let t: TestGateway;
  let queue: string;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    queue = await t.client.queues.create("test-q");
  });
  after(() => t.stop());

  const verdict = ROUTER_TEST.runtime;
  const testTask = async (router: string) => {
    const id = await t.client.tasks.create({
      name: `router-test-${router}`,
      type: "application",
      system_tags: [ROUTER_TEST.tag],
    });
    await t.client.tasks.editRuntime(id, { [RUNTIME.router]: router });
    await t.client.tasks.enqueue(id, queue);
    return id;
  };
  const testOf = async (router: string) => {
    const [test] = await t.client.routerTests([router]);
    assert.ok(test, `a test of ${router}`);
    return test;
  };

  it("reports a test as running while its task waits or runs, with what is known so far", async () => {
    const id = await testTask("r-running");
    let test = await testOf("r-running");
    assert.equal(test.status, "running");
    assert.equal(test.status_reason, "running");
    assert.equal(test.task_id, id);
    assert.equal(test.task_name, "router-test-r-running");
    assert.equal(test.queue, "test-q");
    assert.equal(test.worker, null);
    assert.equal(test.completed, null);
    assert.equal(test.run_time_sec, null);

    await t.client.tasks.report("started", id);
    await t.client.workers.statusReport("agent-1", id, queue);
    await t.client.tasks.log(id, "waiting for the router");
    test = await testOf("r-running");
    assert.equal(test.status, "running");
    assert.equal(test.worker, "agent-1");
    assert.deepEqual(test.log, ["waiting for the router"]);
    // A listing may leave the logs out.
    const [listed] = await t.client.routerTests(["r-running"], { withLog: false });
    assert.equal(listed?.status, "running");
    assert.deepEqual(listed?.log, []);
  });

  it("reports the verdict, times, endpoints and log the runner wrote on the task", async () => {
    const id = await testTask("r-passed");
    await t.client.tasks.report("started", id);
    await t.client.tasks.log(id, "step 1");
    await t.client.tasks.log(id, "echo answered");
    await t.client.tasks.editRuntime(id, {
      [RUNTIME.endpoint]: "http://router.example/service/x",
      [RUNTIME.browserEndpoint]: "http://router.example/service/x/",
      [verdict.status]: "passed",
      [verdict.reason]: "passed",
      [verdict.message]: "the router routed a request to the test task",
      [verdict.started]: "2026-01-01T00:00:00.000Z",
      [verdict.completed]: "2026-01-01T00:00:02.500Z",
    });
    await t.client.tasks.stop(id);
    const test = await testOf("r-passed");
    assert.deepEqual(
      { ...test, worker: undefined },
      {
        router: "r-passed",
        status: "passed",
        status_reason: "passed",
        status_message: "the router routed a request to the test task",
        started: "2026-01-01T00:00:00.000Z",
        completed: "2026-01-01T00:00:02.500Z",
        run_time_sec: 2.5,
        queue: "test-q",
        worker: undefined,
        task_name: "router-test-r-passed",
        task_id: id,
        endpoint: "http://router.example/service/x",
        browser_endpoint: "http://router.example/service/x/",
        log: ["step 1", "echo answered"],
      },
    );
  });

  it("reports a failure with its reason", async () => {
    const id = await testTask("r-failed");
    await t.client.tasks.editRuntime(id, {
      [verdict.status]: "failed",
      [verdict.reason]: "no_agent",
      [verdict.message]: "no agent serves queue 'test-q'",
    });
    await t.client.tasks.stop(id);
    const test = await testOf("r-failed");
    assert.equal(test.status, "failed");
    assert.equal(test.status_reason, "no_agent");
    assert.match(test.status_message, /no agent/);
    assert.ok(test.completed, "completed falls back to the task's own time");
    assert.ok(test.run_time_sec !== null && test.run_time_sec >= 0);
  });

  it("reports a test whose task ended without a verdict as failed, aborted", async () => {
    const id = await testTask("r-aborted");
    await t.client.tasks.editRuntime(id, { [verdict.status]: "running" });
    // The runner went away; the task was stopped by someone else.
    await t.client.tasks.stop(id);
    const test = await testOf("r-aborted");
    assert.equal(test.status, "failed");
    assert.equal(test.status_reason, "aborted");
    assert.match(test.status_message, /without a verdict/);
    assert.ok(test.completed);
  });

  it("keeps only each router's latest test, and lists every router when none is named", async () => {
    const old = await testTask("r-latest");
    await t.client.tasks.stop(old);
    const latest = await testTask("r-latest");
    assert.equal((await testOf("r-latest")).task_id, latest);
    const all = await t.client.routerTests();
    assert.deepEqual(
      all.map((x) => x.router),
      ["r-aborted", "r-failed", "r-latest", "r-passed", "r-running"],
    );
    assert.deepEqual(await t.client.routerTests(["never-tested"]), []);
  });

  it("ignores tasks without the router-test tag or without _ROUTER", async () => {
    const untagged = await t.client.tasks.create({ name: "untagged", type: "application" });
    await t.client.tasks.editRuntime(untagged, { [RUNTIME.router]: "r-untagged" });
    await t.client.tasks.create({
      name: "unpinned",
      type: "application",
      system_tags: [ROUTER_TEST.tag],
    });
    assert.deepEqual(await t.client.routerTests(["r-untagged"]), []);
    assert.equal((await t.client.routerTests()).length, 5);
  });

  it("reports a test still running well past its deadline as failed, aborted: its runner is gone", async () => {
    const late = await testTask("r-late");
    const past = new Date(Date.now() - 60_000).toISOString();
    await t.client.tasks.editRuntime(late, { [verdict.deadline]: past });
    await t.client.tasks.report("started", late);
    const test = await testOf("r-late");
    assert.equal(test.status, "failed");
    assert.equal(test.status_reason, "aborted");
    assert.match(test.status_message, /runner stopped before its verdict/);

    // Within its deadline (and its grace) a test runs on.
    const onTime = await testTask("r-on-time");
    const soon = new Date(Date.now() - 5_000).toISOString();
    await t.client.tasks.editRuntime(onTime, { [verdict.deadline]: soon });
    assert.equal((await testOf("r-on-time")).status, "running");
  });
});
