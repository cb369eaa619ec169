import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { EXTERNAL_SERVICE_TAG, RUNTIME } from "../../sdk";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("router tests (routers.start_test)", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway();
  });
  after(() => t.stop());

  const routerId = async () => (await t.client.routers.getByName("router-1")).id;
  const queueId = (name: string) => t.client.queues.ensure(name);

  /** Plays an agent by hand: takes the next task of `queue` and lets `act` decide what it does. */
  async function handAgent(queue: string, act: (task: string) => Promise<void>): Promise<void> {
    const q = await queueId(queue);
    await t.client.queues.registerWorker(`hand-${queue}`, [q]);
    const task = await t.client.queues.next(q, `hand-${queue}`, 10);
    assert.ok(task, "the test task was enqueued");
    await t.client.tasks.started(task, `hand-${queue}`);
    await act(task);
  }

  it("passes when the router routes a request to the test task, with every Test Details field", async () => {
    const router = await routerId();
    const started = Date.now();
    await t.client.routers.startTest({ router, queue: await queueId("default"), timeout_sec: 30 });
    const test = await t.client.routers.waitForTest(router, { pollMs: 20 });
    const took = Date.now() - started;
    assert.equal(test.status, "passed", test.status_message);
    assert.equal(test.status_reason, "passed");
    assert.equal(test.worker, "test-agent");
    assert.equal(test.queue.name, "default");
    assert.equal(test.task.name, "router-test-router-1");
    assert.ok(
      test.endpoint?.startsWith(`${t.routerUrl}/service/${test.task.id}`),
      test.endpoint ?? "",
    );
    assert.ok(test.browser_endpoint);
    assert.ok(test.completed && test.run_time_sec !== null && test.run_time_sec > 0);
    assert.ok(
      test.log.some((l) => l.includes("echo answered")),
      test.log.join("\n"),
    );
    assert.ok(
      test.log.some((l) => l.includes("[task] echo service listening")),
      "the task's own log is part of the test log",
    );
    const [listed] = await t.client.routers.list({ id: [router] });
    assert.equal(listed?.test_status, "passed");
    assert.equal(listed?.last_tested, test.started);
    // The test task is ended, so its route goes away.
    assert.equal((await t.client.tasks.get(test.task.id)).status, "stopped");
    console.log(
      `      (passing router test took ${took} ms end to end; run_time_sec ${test.run_time_sec})`,
    );
  });

  it("refuses a second test of the same router while one runs", async () => {
    const router = await routerId();
    const q = await queueId("slow-q");
    await t.client.routers.startTest({ router, queue: q, timeout_sec: 5 });
    const err = await rejection(() =>
      t.client.routers.startTest({ router, queue: q, timeout_sec: 5 }),
    );
    assert.equal(err.code, "APPGW_TEST_RUNNING");
    await t.client.routers.waitForTest(router, { pollMs: 50 });
  });

  it("fails with no_agent when no agent serves the queue", async () => {
    const router = await routerId();
    await t.client.routers.startTest({
      router,
      queue: await queueId("nobody-home"),
      timeout_sec: 30,
    });
    const test = await t.client.routers.waitForTest(router, { pollMs: 50 });
    assert.equal(test.status, "failed");
    assert.equal(test.status_reason, "no_agent");
    assert.match(test.status_message, /no agent serves queue 'nobody-home'/);
  });

  it("fails with not_started when the queue's agents never take the task", async () => {
    const router = await routerId();
    const q = await queueId("busy-q");
    await t.client.queues.registerWorker("busy-worker", [q]);
    await t.client.routers.startTest({ router, queue: q, timeout_sec: 5 });
    const test = await t.client.routers.waitForTest(router, { pollMs: 50 });
    assert.equal(test.status_reason, "not_started");
    assert.match(test.status_message, /busy-worker/);
  });

  it("fails with not_routed when the router never publishes an endpoint", async () => {
    // A router that registers and heartbeats but routes nothing.
    const { id: ghost } = await t.client.routers.register({
      name: "ghost",
      url: "http://127.0.0.1:9",
      version: "0",
      queues: [],
      domain: "localhost",
    });
    const q = await queueId("ghost-q");
    await t.client.routers.startTest({ router: ghost, queue: q, timeout_sec: 5 });
    await handAgent("ghost-q", async (task) => {
      await t.client.tasks.setRuntime(task, {
        [RUNTIME.service]: "EXTERNAL",
        [RUNTIME.address]: "127.0.0.1",
        [RUNTIME.port]: "9",
      });
      await t.client.tasks.edit({ task, system_tags: [EXTERNAL_SERVICE_TAG] });
    });
    const test = await t.client.routers.waitForTest(ghost, { pollMs: 50 });
    assert.equal(test.status_reason, "not_routed");
    assert.match(test.status_message, /router 'ghost' did not create a route/);
  });

  it("fails with wrong_response when something else answers at the endpoint", async () => {
    const impostor = http.createServer((_req, res) => res.end("hello from someone else"));
    await new Promise<void>((r) => impostor.listen(0, "127.0.0.1", r));
    try {
      const router = await routerId();
      const q = await queueId("impostor-q");
      await t.client.routers.startTest({ router, queue: q, timeout_sec: 10 });
      await handAgent("impostor-q", async (task) => {
        const port = String((impostor.address() as AddressInfo).port);
        await t.client.tasks.setRuntime(task, {
          [RUNTIME.service]: "EXTERNAL",
          [RUNTIME.address]: "127.0.0.1",
          [RUNTIME.port]: port,
        });
        await t.client.tasks.edit({ task, system_tags: [EXTERNAL_SERVICE_TAG] });
      });
      const test = await t.client.routers.waitForTest(router, { pollMs: 50 });
      assert.equal(test.status_reason, "wrong_response");
      assert.match(test.status_message, /hello from someone else/);
    } finally {
      impostor.close();
    }
  });

  it("fails with task_failed when the task fails, keeping its reason", async () => {
    const router = await routerId();
    const q = await queueId("failing-q");
    await t.client.routers.startTest({ router, queue: q, timeout_sec: 10 });
    await handAgent("failing-q", (task) => t.client.tasks.failed(task, "image pull failed"));
    const test = await t.client.routers.waitForTest(router, { pollMs: 50 });
    assert.equal(test.status_reason, "task_failed");
    assert.match(test.status_message, /image pull failed/);
  });

  it("refuses a test of a plain-HTTP router outside loopback, saying how to fix it", async () => {
    const { id } = await t.client.routers.register({
      name: "remote",
      url: "http://gw.example.com",
      version: "0",
      queues: [],
      domain: "example.com",
    });
    const err = await rejection(() => t.client.routers.startTest({ router: id, queue: "x" }));
    assert.equal(err.code, "APPGW_QUEUE_NOT_FOUND");
    const insecure = await rejection(async () =>
      t.client.routers.startTest({ router: id, queue: await queueId("default") }),
    );
    assert.equal(insecure.code, "APPGW_TEST_INSECURE");
    assert.match(insecure.message, /HTTPS/);
  });
});
