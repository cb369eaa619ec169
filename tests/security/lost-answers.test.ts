// Retrying after a lost answer is safe only for calls that change nothing. `queues.get_next_task`
// takes the task it returns off the queue: an SDK that retried it (as it once retried every
// `get_*` action) would take the next task too, and the first would be lost to every agent.
import assert from "node:assert/strict";
import { ReferenceGatewayClient } from "@appgw/sdk/reference";
import { lossyProxy, type ApiProxy } from "../helpers/api-proxy";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("security: a lost answer never makes the SDK take a second task", () => {
  let t: TestGateway;
  let proxy: ApiProxy;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    proxy = await lossyProxy(t.apiUrl, "queues.get_next_task");
  });
  after(async () => {
    proxy.close();
    await t.stop();
  });

  it("does not retry queues.get_next_task when its answer is lost", async () => {
    const queue = await t.client.queues.ensure("lost-answers");
    const first = await t.client.tasks.create({ name: "first", type: "application" });
    const second = await t.client.tasks.create({ name: "second", type: "application" });
    await t.client.tasks.enqueue(first, queue);
    await t.client.tasks.enqueue(second, queue);

    const agent = new ReferenceGatewayClient({ apiHost: proxy.url, ...t.admin });
    const err = await rejection(() => agent.queues.next(queue));
    assert.equal(err.code, "APPGW_CONNECTION");
    assert.equal(proxy.calls.filter((c) => c === "queues.get_next_task").length, 1);
    // The first task went with the lost answer; the second is still there for the next agent.
    assert.equal(await t.client.queues.next(queue), second);
  });
});
