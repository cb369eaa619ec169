import assert from "node:assert/strict";
import { RUNTIME, EXTERNAL_SERVICE_TAG } from "../../sdk";
import { rejection, startTestGateway, userClient, type TestGateway } from "../helpers/gateway";

describe("queues, tasks and workers", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("hands a queued task to a worker waiting in a long poll", async () => {
    const queue = await t.client.queues.ensure("long-poll");
    await t.client.queues.registerWorker("w1", [queue]);
    const waiting = t.client.queues.next(queue, "w1", 5);
    await new Promise((r) => setTimeout(r, 100));
    const { id } = await t.client.tasks.create({ name: "job" });
    await t.client.tasks.enqueue(id, queue);
    assert.equal(await waiting, id);
    assert.equal((await t.client.tasks.get(id)).status, "queued");
    await t.client.tasks.started(id, "w1");
    const task = await t.client.tasks.get(id);
    assert.equal(task.status, "in_progress");
    assert.equal(task.worker, "w1");
    assert.ok(task.started);
  });

  it("returns no entry when nothing arrives within the wait", async () => {
    const queue = await t.client.queues.ensure("empty");
    assert.equal(await t.client.queues.next(queue, "w2", 0.2), null);
  });

  it("refuses invalid state transitions", async () => {
    const { id } = await t.client.tasks.create({ name: "early" });
    const err = await rejection(() => t.client.tasks.completed(id));
    assert.equal(err.code, "APPGW_TASK_STATE");
  });

  it("merges runtime properties and removes keys set to null", async () => {
    const { id } = await t.client.tasks.create({ name: "props" });
    await t.client.tasks.setRuntime(id, { a: "1", b: "2" });
    await t.client.tasks.setRuntime(id, { b: null, c: "3" });
    assert.deepEqual((await t.client.tasks.get(id)).runtime, { a: "1", c: "3" });
  });

  it("refuses a second running task on a single-endpoint static route", async () => {
    await t.client.routes.create({ name: "single", path: "/single" });
    const queue = await t.client.queues.ensure("single-q");
    const attach = {
      [RUNTIME.service]: "EXTERNAL",
      [RUNTIME.address]: "127.0.0.1",
      [RUNTIME.port]: "9",
      [RUNTIME.mode]: "path",
      [RUNTIME.modeParam]: "single",
    };
    const ids: string[] = [];
    for (const name of ["first", "second"]) {
      const { id } = await t.client.tasks.create({ name, system_tags: [EXTERNAL_SERVICE_TAG] });
      await t.client.tasks.enqueue(id, queue);
      await t.client.tasks.started(id, "w3");
      ids.push(id);
    }
    await t.client.tasks.setRuntime(ids[0] as string, attach);
    const err = await rejection(() => t.client.tasks.setRuntime(ids[1] as string, attach));
    assert.equal(err.code, "APPGW_ROUTE_BUSY");
    assert.match(err.message, /'first'/);
    const route = await t.client.routes.findByName("single");
    assert.equal(route?.status, "pending");
    assert.deepEqual(
      route?.tasks.map((x) => x.name),
      ["first"],
    );
  });

  it("keeps the stop request for the worker running the task", async () => {
    const queue = await t.client.queues.ensure("stop-q");
    await t.client.queues.registerWorker("w4", [queue]);
    const { id } = await t.client.tasks.create({ name: "to-stop" });
    await t.client.tasks.enqueue(id, queue);
    await t.client.tasks.started(id, "w4");
    assert.deepEqual(await t.client.queues.heartbeat("w4", id), []);
    await t.client.tasks.stop(id, "no longer needed");
    assert.deepEqual(await t.client.queues.heartbeat("w4", id), [id]);
    assert.equal((await t.client.tasks.get(id)).status_reason, "no longer needed");
  });

  it("lets users manage only their own tasks", async () => {
    const alice = await userClient(t, "alice-tasks");
    const { id } = await t.client.tasks.create({ name: "admins" });
    const err = await rejection(() => alice.client.tasks.stop(id));
    assert.equal(err.code, "APPGW_FORBIDDEN");
    const own = await alice.client.tasks.create({ name: "alices" });
    await alice.client.tasks.stop(own.id);
    assert.equal((await t.client.tasks.get(own.id)).user.name, "alice-tasks");
  });

  it("stores and returns a task's log in order", async () => {
    const { id } = await t.client.tasks.create({ name: "logger" });
    await t.client.tasks.log(id, ["one", "two"]);
    await t.client.tasks.log(id, ["three"]);
    assert.deepEqual(await t.client.tasks.getLog(id), ["one", "two", "three"]);
  });
});
