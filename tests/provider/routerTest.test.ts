// The router test, run by the provider with documented calls only, against a real gateway with
// its router and agent. Each failure reason is provoked for real.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { routerTestImpl } from "../../provider/providers/routerTest";
import { runRouterTest, type RouterTestOptions } from "../../sdk/routerTest";
import { EXTERNAL_SERVICE_TAG, ROUTER_TEST, RUNTIME } from "@appgw/sdk";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

describe("RouterTest against a real gateway", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway();
  });
  after(() => t.stop());

  const run = (opts: Partial<RouterTestOptions> & { queue: string }) =>
    runRouterTest(t.client, { router: "router-1", timeoutSec: 20, allowInsecure: false, ...opts });

  /**
   * Plays an agent by hand on `queue`: registers a worker serving it now (the runner checks for
   * one before it launches the task), then takes the test task and lets `act` decide what it does.
   */
  async function handAgent(
    queue: string,
  ): Promise<(act: (task: string) => Promise<void>) => Promise<void>> {
    const q = await t.client.queues.ensure(queue);
    const worker = `hand-${queue}`;
    await t.client.workers.register(worker, [q]);
    return async (act) => {
      let task: string | null = null;
      for (let i = 0; i < 200 && !task; i++) {
        task = await t.client.queues.next(q);
        if (!task) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(task, "the test task was enqueued");
      await t.client.tasks.report("started", task);
      await t.client.workers.statusReport(worker, task);
      await act(task);
    };
  }

  /** Points a task at an address of our choosing, as an app would ask for an endpoint. */
  async function serveAt(task: string, port: number): Promise<void> {
    await t.client.tasks.editRuntime(task, {
      [RUNTIME.service]: "EXTERNAL",
      [RUNTIME.address]: "127.0.0.1",
      [RUNTIME.port]: String(port),
    });
    await t.client.tasks.edit({
      task,
      system_tags: [ROUTER_TEST.tag, EXTERNAL_SERVICE_TAG],
      force: true,
    });
  }

  it("passes through the provider with every Test Details field, recorded on the task", async () => {
    await t.client.queues.ensure("default");
    const inputs = await checkedInputs(routerTestImpl, {
      router: "router-1",
      queue: "default",
      timeoutSec: 30,
    });
    const { id, outs } = await routerTestImpl.create(inputs, connectionOf(t));
    assert.equal(id, "router-1");
    assert.equal(outs?.status, "passed", outs?.statusMessage);
    assert.equal(outs?.statusReason, "passed");
    assert.equal(outs?.worker, "test-agent");
    assert.equal(outs?.queue, "default");
    assert.match(outs?.taskName ?? "", /router-1/);
    assert.ok(outs?.endpoint.startsWith(`${t.routerUrl}/service/${outs.taskId}`), outs?.endpoint);
    assert.ok(outs?.browserEndpoint);
    assert.ok(outs?.completed && outs.runTimeSec > 0);
    assert.ok(
      outs?.logTail.some((l) => l.includes("carries the test's nonce")),
      outs?.logTail.join("\n"),
    );

    const task = await t.client.tasks.get(outs.taskId);
    assert.equal(task.status, "stopped", "the test task is stopped afterwards");
    assert.ok(task.system_tags?.includes(ROUTER_TEST.tag));
    assert.equal(task.runtime?.[ROUTER_TEST.runtime.status], "passed");
    const [record] = await t.client.routerTests(["router-1"]);
    assert.equal(record?.status, "passed", "the gateway shows the router's Test Status");
    assert.equal(record?.task_id, outs.taskId);
    assert.equal(record?.endpoint, outs.endpoint, "the endpoint outlives the stopped task's route");
    assert.ok(record?.log.some((l) => l.includes("carries the test's nonce")));
  });

  it("fails pulumi up with the reason and the log's tail", async () => {
    await t.client.queues.ensure("empty-q");
    const inputs = await checkedInputs(routerTestImpl, {
      router: "router-1",
      queue: "empty-q",
      timeoutSec: 5,
    });
    const err = await rejection(() => routerTestImpl.create(inputs, connectionOf(t)));
    assert.match(err.message, /router test of 'router-1' failed \(no_agent\)/);
    assert.match(err.message, /last \d+ lines of the test log/);
  });

  it("fails with router_offline naming the routers that are registered", async () => {
    const result = await run({ router: "nowhere", queue: "default" });
    assert.equal(result.statusReason, "router_offline");
    assert.match(result.statusMessage, /'router-1'/);
    assert.equal(result.taskId, "", "no task is launched for a router that is not there");
  });

  it("fails with not_started when the queue's agents never take the task", async () => {
    const q = await t.client.queues.ensure("busy-q");
    await t.client.workers.register("busy-worker", [q]);
    const started = Date.now();
    const result = await run({ queue: "busy-q", timeoutSec: 5 });
    assert.equal(result.statusReason, "not_started");
    // Every wait of the runner has the test's deadline (issue 9: one loop once had none).
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    assert.equal(
      (await t.client.tasks.get(result.taskId)).status,
      "stopped",
      "the task is not left queued",
    );
  });

  it("fails with not_routed when the router never gives the task an endpoint", async () => {
    // A router that reports but routes nothing; the test task is pinned to it.
    await t.client.routers.report({ router: "ghost", url: "http://127.0.0.1:9", timeout: 60 });
    const take = await handAgent("ghost-q");
    const pending = run({ router: "ghost", queue: "ghost-q", timeoutSec: 5 });
    await take((task) => serveAt(task, 9));
    const result = await pending;
    assert.equal(result.statusReason, "not_routed");
    await t.client.routers.unregister("ghost");
  });

  it("fails with wrong_response when something else answers at the endpoint", async () => {
    const impostor = http.createServer((_req, res) => res.end("hello from someone else"));
    await new Promise<void>((r) => impostor.listen(0, "127.0.0.1", r));
    try {
      const take = await handAgent("impostor-q");
      const pending = run({ queue: "impostor-q", timeoutSec: 8 });
      await take((task) => serveAt(task, (impostor.address() as AddressInfo).port));
      const result = await pending;
      assert.equal(result.statusReason, "wrong_response");
      assert.match(result.statusMessage, /hello from someone else/);
    } finally {
      impostor.close();
    }
  });

  it("fails with task_failed when the task fails, keeping its reason", async () => {
    const take = await handAgent("failing-q");
    const pending = run({ queue: "failing-q", timeoutSec: 10 });
    await take((task) =>
      t.client.tasks.report("failed", task, { status_reason: "image pull failed" }),
    );
    const result = await pending;
    assert.equal(result.statusReason, "task_failed");
    assert.match(result.statusMessage, /image pull failed/);
    const [record] = await t.client.routerTests(["router-1"]);
    assert.equal(record?.status, "failed");
    assert.equal(record?.status_reason, "task_failed");
  });

  it("refuses a plain-HTTP router outside loopback before sending anything, saying how to fix it", async () => {
    await t.client.routers.report({ router: "remote", url: "http://gw.example.com", timeout: 60 });
    const result = await run({ router: "remote", queue: "default" });
    assert.equal(result.statusReason, "insecure");
    assert.match(result.statusMessage, /HTTPS/);
    assert.match(result.statusMessage, /allowInsecure/);
    assert.equal(result.taskId, "");
    await t.client.routers.unregister("remote");
  });
});
