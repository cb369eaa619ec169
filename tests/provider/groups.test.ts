import assert from "node:assert/strict";
import { groupImpl, type GroupState } from "../../provider/group";
import { groupAccessImpl } from "../../provider/groupAccess";
import type { ConnectionConfig } from "../../provider/shim";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

describe("Group and GroupAccess providers against a real gateway", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
    for (const name of ["ann", "ben", "cat"]) await t.client.users.create({ name });
  });
  after(() => t.stop());

  const inputs = (news: Record<string, unknown>) => checkedInputs(groupImpl, news);

  it("refuses to manage a built-in group, naming the property", async () => {
    const { failures } = await groupImpl.check({}, { name: "Admins" });
    assert.equal(failures?.[0]?.property, "name");
    assert.match(failures?.[0]?.reason ?? "", /built-in/);
  });

  it("creates a group with members given by user name", async () => {
    const { id, outs } = await groupImpl.create(
      await inputs({ name: "pg-team", members: ["ben", "ann"] }),
      conn,
    );
    const group = await t.client.groups.get(id);
    assert.deepEqual(
      group.users.map((u) => u.name),
      ["ann", "ben"],
    );
    assert.deepEqual(outs?.members, ["ann", "ben"]);
  });

  it("names members that do not exist, and creates nothing", async () => {
    const err = await rejection(async () =>
      groupImpl.create(await inputs({ name: "pg-ghosts", members: ["ann", "nobody"] }), conn),
    );
    assert.match(err.message, /members: no user named 'nobody'/);
    assert.equal(await t.client.groups.findByName("pg-ghosts"), undefined);
  });

  it("sees a member removed out of band as drift, and update restores it", async () => {
    const news = await inputs({ name: "pg-drift", members: ["ann", "cat"] });
    const { id, outs } = await groupImpl.create(news, conn);
    const ann = (await t.client.users.findByName("ann"))?.id as string;
    await t.client.groups.update({ group: id, users: [ann] });
    const read = await groupImpl.read(id, outs as GroupState, conn);
    assert.deepEqual(read.inputs?.members, ["ann"]);
    assert.equal((await groupImpl.diff(id, read.props as GroupState, news, conn)).changes, true);
    await groupImpl.update(id, read.props as GroupState, news, conn);
    assert.deepEqual(
      (await t.client.groups.get(id)).users.map((u) => u.name),
      ["ann", "cat"],
    );
  });

  it("reports a group deleted out of band as gone", async () => {
    const { id, outs } = await groupImpl.create(await inputs({ name: "pg-gone" }), conn);
    await t.client.groups.delete(id);
    assert.deepEqual(await groupImpl.read(id, outs as GroupState, conn), {});
    await groupImpl.delete(id, outs as GroupState, conn);
  });

  it("grants a group access to routes, reads only its own rules, and revokes them on delete", async () => {
    const { id: group } = await t.client.groups.create({ name: "ga-team" });
    const { id: r1 } = await t.client.routes.create({ name: "ga-1", path: "/ga-1" });
    const { id: r2 } = await t.client.routes.create({ name: "ga-2", path: "/ga-2" });
    const { id, outs } = await groupAccessImpl.create({ group, routes: [r1, r2].sort() }, conn);
    assert.deepEqual((await t.client.groups.rules({ group })).map((r) => r.route.name).sort(), [
      "ga-1",
      "ga-2",
    ]);
    // A rule made elsewhere for another route is not this resource's business.
    const { id: r3 } = await t.client.routes.create({ name: "ga-3", path: "/ga-3" });
    await t.client.groups.grant(r3, group);
    assert.deepEqual(
      (await groupAccessImpl.read(id, outs as never, conn)).inputs?.routes,
      [r1, r2].sort(),
    );
    // Revoked out of band: drift.
    await t.client.groups.revoke({ route: r2, group });
    assert.deepEqual((await groupAccessImpl.read(id, outs as never, conn)).inputs?.routes, [r1]);
    await groupAccessImpl.delete(id, outs as never, conn);
    assert.deepEqual(
      (await t.client.groups.rules({ group })).map((r) => r.route.name),
      ["ga-3"],
    );
  });

  it("composes with a route's own access list when that list is unmanaged", async () => {
    const { id: route } = await t.client.routes.create({
      name: "ga-shared",
      path: "/ga-shared",
      access_groups: ["admins"],
    });
    const { id, outs } = await groupAccessImpl.create({ group: "users", routes: [route] }, conn);
    assert.deepEqual((await t.client.routes.get(route)).access_groups.map((g) => g.id).sort(), [
      "admins",
      "users",
    ]);
    await groupAccessImpl.delete(id, outs as never, conn);
    assert.deepEqual(
      (await t.client.routes.get(route)).access_groups.map((g) => g.id),
      ["admins"],
    );
  });
});
