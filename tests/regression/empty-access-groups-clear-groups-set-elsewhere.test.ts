// Regression: `diff` saw no change from an unset `accessGroups` to `[]`, so a program that set
// `accessGroups: []` never cleared the groups added to its route out of band. Unset leaves the
// route's groups alone (others may grant access); `[]` means the route names no group itself.
import assert from "node:assert/strict";
import type { ConnectionConfig } from "../../provider/shim";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
import { startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf, nextCommand } from "../helpers/provider";

describe("regression: accessGroups [] clears the groups set elsewhere, unset leaves them", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  let group: string;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
    group = (await t.client.groups.save({ name: "added-elsewhere" })).id;
  });
  after(() => t.stop());

  /** A route created without accessGroups, given a group out of band, and refreshed. */
  async function routeWithGroupAddedElsewhere(name: string) {
    const { id } = await impl.create(await checkedInputs(impl, { name, path: `/${name}` }), conn);
    await t.client.routes.setEnabled(id, false);
    await t.client.routes.save({ id, name, type: "path", path: `/${name}`, user_groups: [group] });
    await t.client.routes.setEnabled(id, true);
    nextCommand();
    const refreshed = await impl.read(id, {} as StaticRouteState, conn);
    assert.equal(refreshed.inputs?.accessGroups, undefined, "unset: not reported as drift");
    return { id, state: refreshed.props as StaticRouteState };
  }

  it("from unset to [] is a change, and the update removes the group", async () => {
    const { id, state } = await routeWithGroupAddedElsewhere("emptied");
    const news = await checkedInputs(impl, { name: "emptied", path: "/emptied", accessGroups: [] });
    assert.equal((await impl.diff(id, state, news, conn)).changes, true);
    const { outs } = await impl.update(id, state, news, conn);
    assert.deepEqual((await t.client.routes.get(id))?.user_groups, []);
    assert.deepEqual(outs?.accessGroups, []);
    assert.equal((await t.client.routes.get(id))?.enabled, true);
  });

  it("unset stays no change, and the group stays", async () => {
    const { id, state } = await routeWithGroupAddedElsewhere("left-alone");
    const news = await checkedInputs(impl, { name: "left-alone", path: "/left-alone" });
    assert.equal((await impl.diff(id, state, news, conn)).changes, false);
    assert.deepEqual((await t.client.routes.get(id))?.user_groups, [group]);
  });

  it("once [] is recorded, a group added elsewhere shows as drift", async () => {
    const inputs = await checkedInputs(impl, {
      name: "kept-empty",
      path: "/kept-empty",
      accessGroups: [],
    });
    const { id } = await impl.create(inputs, conn);
    await t.client.routes.setEnabled(id, false);
    await t.client.routes.save({
      id,
      name: "kept-empty",
      type: "path",
      path: "/kept-empty",
      user_groups: [group],
    });
    nextCommand();
    const refreshed = await impl.read(
      id,
      { accessGroups: [] } as unknown as StaticRouteState,
      conn,
    );
    assert.deepEqual(refreshed.inputs?.accessGroups, [group]);
    assert.equal(
      (await impl.diff(id, refreshed.props as StaticRouteState, inputs, conn)).changes,
      true,
    );
  });
});
