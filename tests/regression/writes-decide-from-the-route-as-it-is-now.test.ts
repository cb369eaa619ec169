// Regression: delete decided `force` from the provider process's shared listing of routes, up
// to 10 s old. A task that attached to the route after that listing made the route active, and
// `pulumi destroy` failed: the gateway refuses to delete an active route without `force`.
// Updates and deletes now decide from the route as the gateway holds it when they run.
import assert from "node:assert/strict";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
import { startEchoApp } from "../helpers/dataplane";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf, nextCommand } from "../helpers/provider";

describe("regression: updates and deletes decide from the route as it is now", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway();
    conn = connectionOf(t);
  });
  after(() => t.stop());

  /**
   * A route an earlier run made (this process wrote nothing to it), read by this command while
   * nothing uses it; then a task attaches and a router routes it.
   */
  async function attachedAfterRead(name: string) {
    const id = await t.client.routes.save({
      name,
      type: "path",
      path: `/${name}`,
      auth_enabled: false,
      load_balancer: { enabled: false },
    });
    nextCommand();
    const read = await impl.read(id, {} as StaticRouteState, conn);
    assert.equal(read.props?.status, "Not In Use");
    await startEchoApp(t, name);
    await eventually(async () => (await t.client.routes.get(id))?.status === "active", 10_000);
    return { id, state: read.props as StaticRouteState };
  }

  it("deletes a route that became active since the process listed the routes", async () => {
    const { id, state } = await attachedAfterRead("late-attach");
    await impl.delete(id, state, conn);
    assert.equal(await t.client.routes.get(id), undefined);
  });

  it("refuses a disruptive edit of a route that became active since, with nothing changed", async () => {
    const { id, state } = await attachedAfterRead("late-guarded");
    const news = await checkedInputs(impl, {
      name: "late-guarded",
      path: "/late-guarded-2",
      authenticated: false,
      allowDisruptiveEdits: false,
    });
    await assert.rejects(impl.update(id, state, news, conn), /allowDisruptiveEdits/);
    const route = await t.client.routes.get(id);
    assert.equal(route?.path, "/late-guarded");
    assert.equal(route?.status, "active");
  });
});
