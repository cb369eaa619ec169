// A create whose answer is lost after the gateway acted (a reset connection, a proxy timeout)
// must not fail the update nor leave a duplicate: the provider finds what it made and takes it.
import assert from "node:assert/strict";
import { formatManagedBy } from "@appgw/sdk";
import { groupImpl } from "../../provider/providers/group";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl } from "../../provider/providers/staticRoute";
import { lossyProxy } from "../helpers/api-proxy";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("provider creates whose answer is lost", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const through = (url: string): ConnectionConfig => ({ apiHost: url, ...t.admin });

  it("StaticRoute takes the route it created instead of failing or duplicating it", async () => {
    const proxy = await lossyProxy(t.apiUrl, "routers.add_or_update_route");
    try {
      const inputs = {
        name: "lost-route",
        path: "/lost",
        loadBalanced: false,
        authenticated: true,
        enabled: true,
        allowDisruptiveEdits: true,
        // As a program sends it: recovery takes only a route naming this stack and resource.
        __managedBy: "tool=pulumi&stack=p%2Fs&resource=lost-route",
      };
      const { id, outs } = await staticRouteImpl.create(inputs, through(proxy.url));
      const routes = await t.client.routes.list({ name: "^lost-route$" });
      assert.deepEqual(
        routes.map((r) => r.id),
        [id],
      );
      assert.equal(outs?.path, "/lost");
    } finally {
      proxy.close();
    }
  });

  it("Group takes the group it created instead of failing or duplicating it", async () => {
    const proxy = await lossyProxy(t.apiUrl, "permissions.add_or_update_user_group");
    try {
      const { id } = await groupImpl.create(
        {
          name: "lost-group",
          description: "d",
          members: [],
          __managedBy: formatManagedBy({ stack: "shop/prod", resource: "lost-group" }),
        },
        through(proxy.url),
      );
      const groups = (await t.client.groups.list()).filter((g) => g.name === "lost-group");
      assert.deepEqual(
        groups.map((g) => g.id),
        [id],
      );
    } finally {
      proxy.close();
    }
  });

  it("does not take a same-named object that differs from what was asked", async () => {
    await t.client.routes.save({ name: "lost-other", type: "path", path: "/elsewhere" });
    const proxy = await lossyProxy(t.apiUrl, "routers.add_or_update_route");
    try {
      const inputs = {
        name: "lost-other",
        path: "/lost-other",
        loadBalanced: false,
        authenticated: true,
        enabled: true,
        allowDisruptiveEdits: true,
      };
      await assert.rejects(
        staticRouteImpl.create(inputs, through(proxy.url)),
        /already exists.*adopt/s,
      );
      const [other] = await t.client.routes.list({ name: "^lost-other$" });
      assert.equal(other?.path, "/elsewhere", "the other route was left alone");
    } finally {
      proxy.close();
    }
  });
});
