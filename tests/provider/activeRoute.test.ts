// StaticRoute updates of a route that is routing traffic: ClearML's `force` rules and the
// allowDisruptiveEdits guard, against a real gateway with its router and agent.
import assert from "node:assert/strict";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
import { startEchoApp, waitRouted } from "../helpers/dataplane";
import { eventually, rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

describe("StaticRoute on a route that is routing traffic", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway();
    conn = connectionOf(t);
  });
  after(() => t.stop());

  const checked = (news: Record<string, unknown>) => checkedInputs(impl, news);

  /** A route with an echo app attached, once the gateway reports it active. */
  async function activeRoute(name: string, extra: Record<string, unknown> = {}) {
    // Public, so the probe through the router needs no token.
    const inputs = await checked({
      name,
      path: `/${name}`,
      loadBalanced: true,
      authenticated: false,
      ...extra,
    });
    const { id } = await impl.create(inputs, conn);
    await startEchoApp(t, name);
    await waitRouted(t, `/${name}/`);
    await eventually(async () => (await t.client.routes.get(id))?.status === "active", 10_000);
    const read = await impl.read(id, {} as StaticRouteState, conn);
    assert.equal(read.props?.status, "Routing");
    assert.equal(read.props?.targets.length, 1);
    assert.match(read.props?.urls[0] ?? "", new RegExp(`^${t.routerUrl}/${name}$`));
    return { id, inputs, state: read.props as StaticRouteState };
  }

  it("refuses a disruptive edit when allowDisruptiveEdits is false, and changes nothing", async () => {
    const { id, state } = await activeRoute("guarded", { allowDisruptiveEdits: false });
    const err = await rejection(async () =>
      impl.update(
        id,
        state,
        await checked({
          name: "guarded",
          path: "/guarded-2",
          loadBalanced: true,
          authenticated: false,
          allowDisruptiveEdits: false,
        }),
        conn,
      ),
    );
    assert.match(err.message, /allowDisruptiveEdits/);
    assert.match(err.message, /Nothing was changed/);
    const route = await t.client.routes.get(id);
    assert.equal(route?.path, "/guarded");
    assert.equal(route?.enabled, true);
    assert.equal(route?.status, "active");
  });

  it("lets allowDisruptiveEdits: false disable and edit an active route in one update when asked to", async () => {
    const { id, state } = await activeRoute("retired", { allowDisruptiveEdits: false });
    await impl.update(
      id,
      state,
      await checked({
        name: "retired",
        path: "/retired-2",
        loadBalanced: true,
        authenticated: false,
        enabled: false,
        allowDisruptiveEdits: false,
      }),
      conn,
    );
    const route = await t.client.routes.get(id);
    assert.equal(route?.path, "/retired-2");
    assert.equal(route?.enabled, false);
  });

  it("edits an active route by disabling it with force, and routes again afterwards", async () => {
    const { id, state } = await activeRoute("forced");
    await impl.update(
      id,
      state,
      await checked({
        name: "forced",
        path: "/forced-2",
        loadBalanced: true,
        authenticated: false,
      }),
      conn,
    );
    const route = await t.client.routes.get(id);
    assert.equal(route?.path, "/forced-2");
    assert.equal(route?.enabled, true);
    await waitRouted(t, "/forced-2/");
  });

  it("deletes an active route (with force)", async () => {
    const { id, state } = await activeRoute("doomed");
    await impl.delete(id, state, conn);
    assert.equal(await t.client.routes.get(id), undefined);
  });
});
