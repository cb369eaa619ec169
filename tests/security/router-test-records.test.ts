// A router's Test Status must come from a real router test: a user who writes the test's tag
// and a verdict on a task of their own does not get to say a router passed.
import assert from "node:assert/strict";
import { ROUTER_TEST, RUNTIME } from "@appgw/sdk";
import { startTestGateway, userClient, type TestGateway } from "../helpers/gateway";

describe("security: router test records", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  async function forgeTest(
    client: typeof t.client | Awaited<ReturnType<typeof userClient>>["client"],
  ) {
    const task = await client.tasks.create({
      name: "forged router test",
      type: "application",
      system_tags: [ROUTER_TEST.tag],
    });
    await client.tasks.editRuntime(task, {
      [RUNTIME.router]: "router-x",
      [ROUTER_TEST.runtime.status]: "passed",
      [ROUTER_TEST.runtime.reason]: "passed",
    });
    return task;
  }

  it("ignores a router-test task written by a user who is not an administrator", async () => {
    const { client } = await userClient(t, "mallory");
    await forgeTest(client);
    assert.deepEqual(await t.client.routerTests(["router-x"]), []);
  });

  it("shows one written by an administrator (the runner's own credentials)", async () => {
    const task = await forgeTest(t.client);
    const [record] = await t.client.routerTests(["router-x"]);
    assert.equal(record?.task_id, task);
    assert.equal(record?.status, "passed");
  });
});
