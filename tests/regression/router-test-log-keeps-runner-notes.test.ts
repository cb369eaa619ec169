// Regression: the router test's result showed the task's console log in place of the runner's
// own lines whenever the gateway returned one, so the runner's notes that never reached that
// console were lost: "stopping the test task failed: ..." after the gateway's answer to
// tasks.stop was lost on the way, say. The result's log now keeps them after the console.
import assert from "node:assert/strict";
import { AppGatewayClient } from "@appgw/sdk";
import { runRouterTest } from "../../sdk/routerTest";
import { lossyProxy, type ApiProxy } from "../helpers/api-proxy";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("regression: the router test's log keeps the runner's own notes", () => {
  let t: TestGateway;
  let proxy: ApiProxy;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    // A router that reports and routes nothing; a worker that serves the queue and takes nothing.
    await t.client.routers.report({ router: "noted", url: "http://127.0.0.1:9", timeout: 60 });
    const queue = await t.client.queues.ensure("noted-q");
    await t.client.workers.register("noted-worker", [queue]);
    proxy = await lossyProxy(t.apiUrl, "tasks.stop");
  });
  after(async () => {
    proxy.close();
    await t.stop();
  });

  it("returns the task's console and the note that stopping the task failed", async () => {
    // The runner reaches the gateway through a proxy that loses the answer to tasks.stop.
    const client = new AppGatewayClient({ apiHost: proxy.url, ...t.admin, retryDelayMs: 10 });
    let agentLine: Promise<void> | undefined;
    const result = await runRouterTest(client, {
      router: "noted",
      queue: "noted-q",
      timeoutSec: 2,
      allowInsecure: false,
      // What an agent prints on the task's console, which only the gateway holds.
      onTaskCreated: (task) => (agentLine = t.client.tasks.log(task, "agent: pulling the image")),
    });
    await agentLine;
    assert.equal(result.statusReason, "not_started", result.statusMessage);
    assert.equal(proxy.calls.filter((c) => c === "tasks.stop").length, 1, "the stop was sent");

    assert.ok(result.log.includes("agent: pulling the image"), result.log.join("\n"));
    assert.ok(
      result.log.some((l) => l.startsWith("FAILED (not_started)")),
      result.log.join("\n"),
    );
    const note = result.log.filter((l) => l.startsWith("stopping the test task failed: "));
    assert.equal(note.length, 1, result.log.join("\n"));
    assert.match(note[0]!, /tasks\.stop: cannot reach/);
    assert.equal(result.log.at(-1), note[0], "the runner's note comes after the console");
  });
});
