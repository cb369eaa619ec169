// Reads of one provider process (one Pulumi command) share their calls: a refresh lists the
// routes, groups and access rules once however many routes it reads, in parallel or one by one;
// and a read never misses a write of this process that finished before it.
import assert from "node:assert/strict";
import { groupImpl } from "../../provider/providers/group";
import { type GroupState } from "../../provider/group";
import { staticRouteImpl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
import { apiProxy, type ApiProxy } from "../helpers/api-proxy";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { nextCommand } from "../helpers/provider";

describe("provider reads made together", () => {
  let t: TestGateway;
  let proxy: ApiProxy;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    proxy = await apiProxy(t.apiUrl);
  });
  after(async () => {
    proxy.close();
    await t.stop();
  });

  const count = (action: string) => proxy.calls.filter((c) => c === action).length;

  it("refreshes 60 routes with a handful of calls, each read getting its own route", async () => {
    const { id: group } = await t.client.groups.save({ name: "batch-team" });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push(
        await t.client.routes.save({
          name: `batch-${i}`,
          type: "path",
          path: `/batch-${i}`,
          user_groups: [group],
        }),
      );
    }
    // A connection of its own, so this test's client (and its login) is fresh.
    const conn = { apiHost: proxy.url, ...t.admin };
    proxy.calls.length = 0;
    const reads = await Promise.all(
      ids.map((id) => staticRouteImpl.read(id, {} as StaticRouteState, conn)),
    );
    assert.deepEqual(
      reads.map((r) => r.props?.path),
      ids.map((_, i) => `/batch-${i}`),
    );
    assert.deepEqual(reads[0]?.props?.access, ["batch-team"]);
    assert.equal(count("routers.get_routes"), 1, proxy.calls.join(", "));
    assert.equal(count("permissions.get_user_groups"), 1);
    assert.equal(count("permissions.get_access_rules"), 1);
    assert.ok(proxy.calls.length <= 6, `${proxy.calls.length} calls: ${proxy.calls.join(", ")}`);
  });

  it("reads a change made just before, never a listing sent before the change", async () => {
    const conn = { apiHost: proxy.url, ...t.admin };
    const { id, outs } = await groupImpl.create(
      { name: "batch-fresh", description: "", members: [] },
      conn,
    );
    // A listing in flight while the update is written must not answer the update's read-back.
    const inFlight = groupImpl.read(id, outs as GroupState, conn);
    const { outs: after } = await groupImpl.update(
      id,
      outs as GroupState,
      { name: "batch-fresh", description: "changed", members: [] },
      conn,
    );
    await inFlight;
    assert.equal(after?.description, "changed");
  });

  it("reads routes one after another (--parallel 1) from one listing", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push(await t.client.routes.save({ name: `seq-${i}`, type: "path", path: `/seq-${i}` }));
    }
    const conn = { apiHost: proxy.url, ...t.admin };
    nextCommand();
    proxy.calls.length = 0;
    for (const [i, id] of ids.entries()) {
      const read = await staticRouteImpl.read(id, {} as StaticRouteState, conn);
      assert.equal(read.props?.path, `/seq-${i}`);
    }
    assert.equal(count("routers.get_routes"), 1, proxy.calls.join(", "));
  });

  it("reads a route this process changed from the server, never from the listing it took before", async () => {
    const conn = { apiHost: proxy.url, ...t.admin };
    nextCommand();
    const { id, outs } = await staticRouteImpl.create(
      {
        name: "seq-own",
        path: "/own-1",
        loadBalanced: false,
        authenticated: true,
        enabled: true,
        allowDisruptiveEdits: true,
      },
      conn,
    );
    // The listing is taken now, with the route at /own-1.
    await staticRouteImpl.read(id, outs as StaticRouteState, conn);
    await staticRouteImpl.update(
      id,
      outs as StaticRouteState,
      {
        name: "seq-own",
        path: "/own-2",
        loadBalanced: false,
        authenticated: true,
        enabled: true,
        allowDisruptiveEdits: true,
      },
      conn,
    );
    const read = await staticRouteImpl.read(id, outs as StaticRouteState, conn);
    assert.equal(read.props?.path, "/own-2");
    await staticRouteImpl.delete(id, read.props as StaticRouteState, conn);
    assert.deepEqual(await staticRouteImpl.read(id, outs as StaticRouteState, conn), {});
  });
});
