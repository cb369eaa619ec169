// Regression: `pulumi up --replace` of a StaticRoute created the new resource first. Its create
// found the route's name taken by a route recording its own stack and resource (the old one's),
// took it as an interrupted run's, and the old resource's delete then removed it: the stack held
// a route that no longer existed. A replacement must delete first.
import assert from "node:assert/strict";
import { staticRouteImpl } from "../../provider/providers/staticRoute";
import type { StaticRouteState } from "../../provider/staticRoute";
import type { ConnectionConfig } from "../../provider/shim";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

describe("regression: replacing a StaticRoute deletes the old route before creating the new", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
  });
  after(() => t.stop());

  it("asks Pulumi to delete first, and the recreated route is one the gateway holds", async () => {
    const news = await checkedInputs(staticRouteImpl, {
      name: "replaced",
      path: "/replaced",
      __managedBy: "tool=pulumi&stack=p%2Fs&resource=replaced",
    });
    const first = await staticRouteImpl.create(news, conn);
    const diff = await staticRouteImpl.diff(first.id, first.outs as StaticRouteState, news, conn);
    assert.equal(diff.deleteBeforeReplace, true);
    // The order the engine then follows: the old route goes, the new one is made afresh.
    await staticRouteImpl.delete(first.id, first.outs as StaticRouteState, conn);
    const second = await staticRouteImpl.create(news, conn);
    assert.notEqual(second.id, first.id);
    assert.ok(await t.client.routes.get(second.id), "the new resource's route exists");
  });
});
