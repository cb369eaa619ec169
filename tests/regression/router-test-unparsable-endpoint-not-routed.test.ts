// Regression: a router test whose task was given an endpoint that is not a URL ended `aborted`
// with "Invalid URL" (a TypeError from `new URL`), as if the runner itself had broken. The
// router did not route the task to an address anyone can reach: the test fails `not_routed`,
// saying which endpoint it got.
import assert from "node:assert/strict";
import { RUNTIME } from "@appgw/sdk";
import { runRouterTest } from "../../sdk/routerTest";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("regression: a task endpoint that is not a URL fails the router test as not_routed", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    await t.client.routers.report({ router: "garbled", url: "http://127.0.0.1:9", timeout: 60 });
    const queue = await t.client.queues.ensure("garbled-q");
    await t.client.workers.register("garbled-worker", [queue]);
  });
  after(() => t.stop());

  it("reports not_routed naming the endpoint, and records that verdict on the task", async () => {
    let written: Promise<void> | undefined;
    const result = await runRouterTest(t.client, {
      router: "garbled",
      queue: "garbled-q",
      timeoutSec: 10,
      allowInsecure: false,
      // What a broken router could write back on the task.
      onTaskCreated: (task) =>
        (written = t.client.tasks.editRuntime(task, { [RUNTIME.endpoint]: "garbled endpoint" })),
    });
    await written;
    assert.equal(result.status, "failed");
    assert.equal(result.statusReason, "not_routed", result.statusMessage);
    assert.match(result.statusMessage, /'garbled endpoint' is not a URL/);
    const [record] = await t.client.routerTests(["garbled"]);
    assert.equal(record?.status_reason, "not_routed");
  });
});
