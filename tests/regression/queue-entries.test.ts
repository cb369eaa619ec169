// Regressions in queue bookkeeping: a task started by a worker that never popped it stayed in
// its queue for another worker to pop; deleting a queue left its waiting tasks `queued` forever.
import assert from "node:assert/strict";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("regression: queue entries follow the task", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("removes a task from its queue when it starts, popped or not", async () => {
    const queue = await t.client.queues.ensure("started-unpopped");
    const id = await t.client.tasks.create({ name: "direct-start", type: "testing" });
    await t.client.tasks.enqueue(id, queue);
    await t.client.tasks.report("started", id);
    assert.deepEqual((await t.client.queues.get(queue)).entries, []);
    assert.equal(await t.client.queues.next(queue), null);
  });

  it("returns the waiting tasks of a force-deleted queue to created, so they can be enqueued elsewhere", async () => {
    const doomed = await t.client.queues.ensure("doomed");
    const other = await t.client.queues.ensure("other");
    const id = await t.client.tasks.create({ name: "waiting", type: "testing" });
    await t.client.tasks.enqueue(id, doomed);
    await t.client.queues.delete(doomed, true);
    const task = await t.client.tasks.get(id);
    assert.equal(task.status, "created");
    assert.equal(task.execution?.queue, null);
    await t.client.tasks.enqueue(id, other);
    assert.equal((await t.client.tasks.get(id)).execution?.queue, other);
  });
});
