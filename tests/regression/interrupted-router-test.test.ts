// Regression: a router test running when the gateway process died stayed `running` for ever
// (only the process that started it can finish it), so a RouterTest resource waiting on it
// would hang `pulumi up`. A new process now ends such tests as aborted.
import assert from "node:assert/strict";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("regression: a router test cut off by a restart", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("is reported as aborted after the gateway starts again, with the reason in its log", async () => {
    const { id: router } = await t.client.routers.register({
      name: "interrupted",
      url: "http://127.0.0.1:9",
      version: "0",
      queues: [],
      domain: "localhost",
    });
    const queue = await t.client.queues.ensure("interrupted-q");
    // What a process that died mid-test leaves behind.
    t.gw.api.store.routers.saveTest({
      router,
      queue,
      task: { id: "task-1", name: "router-test-interrupted" },
      status: "running",
      status_reason: "running",
      status_message: "waiting for an agent",
      started: new Date().toISOString(),
      completed: null,
      run_time_sec: null,
      worker: null,
      endpoint: null,
      browser_endpoint: null,
      timeout_sec: 60,
      log: ["started"],
    });
    assert.equal((await t.client.routers.getTest(router)).status, "running");

    await t.restart();

    const test = await t.client.routers.getTest(router);
    assert.equal(test.status, "failed");
    assert.equal(test.status_reason, "aborted");
    assert.match(test.status_message, /restarted during the test/);
    assert.ok(test.completed);
    assert.equal(test.log.length, 2);
    assert.match(test.log[1] ?? "", /failed: the gateway restarted/);
  });
});
