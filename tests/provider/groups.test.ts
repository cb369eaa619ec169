import assert from "node:assert/strict";
import { formatManagedBy } from "@appgw/sdk";
import { groupImpl, type GroupState } from "../../provider/group";
import { groupAccessImpl, type GroupAccessState } from "../../provider/groupAccess";
import { staticRouteImpl, type StaticRouteState } from "../../provider/staticRoute";
import type { ConnectionConfig } from "../../provider/shim";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf, nextCommand } from "../helpers/provider";

describe("Group and GroupAccess providers against a real gateway", () => {
  let t: TestGateway;
  let conn: ConnectionConfig;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    conn = connectionOf(t);
    for (const name of ["ann", "ben", "cat"]) await t.client.addUser({ name });
  });
  after(() => t.stop());

  const inputs = (news: Record<string, unknown>) => checkedInputs(groupImpl, news);
  /** The marker the program gives resource `resource` of stack shop/prod. */
  const marker = (resource: string) => formatManagedBy({ stack: "shop/prod", resource });
  const members = async (id: string) =>
    ((await t.client.groups.get(id))?.users ?? []).map((u) => u.name).sort();
  const route = async (name: string) =>
    t.client.routes.save({ name, type: "path", path: `/${name}` });

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
    assert.deepEqual(await members(id), ["ann", "ben"]);
    assert.deepEqual(outs?.members, ["ann", "ben"]);
    assert.equal(outs?.memberIds.length, 2);
  });

  it("names members that do not exist, and creates nothing", async () => {
    const err = await rejection(async () =>
      groupImpl.create(await inputs({ name: "pg-ghosts", members: ["ann", "nobody"] }), conn),
    );
    assert.match(err.message, /members: no user named 'nobody'/);
    assert.equal(await t.client.groups.findByName("pg-ghosts"), undefined);
  });

  it("advises adopt when the name is taken, and adopts the group when asked", async () => {
    const { id: existing } = await t.client.groups.save({ name: "pg-legacy" });
    const err = await rejection(async () =>
      groupImpl.create(await inputs({ name: "pg-legacy" }), conn),
    );
    assert.match(err.message, /already exists.*adopt: true/s);
    const { id } = await groupImpl.create(
      await inputs({ name: "pg-legacy", members: ["cat"], adopt: true }),
      conn,
    );
    assert.equal(id, existing);
    assert.deepEqual(await members(id), ["cat"]);
  });

  it("sees a member removed out of band as drift, and update restores it", async () => {
    const news = await inputs({ name: "pg-drift", members: ["ann", "cat"] });
    const { id, outs } = await groupImpl.create(news, conn);
    const ann = (await t.client.users.findByName("ann"))?.id as string;
    await t.client.groups.save({ id, users: [ann] });
    nextCommand();
    const read = await groupImpl.read(id, outs as GroupState, conn);
    assert.deepEqual(read.inputs?.members, ["ann"]);
    assert.equal((await groupImpl.diff(id, read.props as GroupState, news, conn)).changes, true);
    await groupImpl.update(id, read.props as GroupState, news, conn);
    assert.deepEqual(await members(id), ["ann", "cat"]);
  });

  it("renames a group in place", async () => {
    const { id, outs } = await groupImpl.create(await inputs({ name: "pg-before" }), conn);
    await groupImpl.update(id, outs as GroupState, await inputs({ name: "pg-after" }), conn);
    assert.equal((await t.client.groups.get(id))?.name, "pg-after");
  });

  it("reports a group deleted out of band as gone, and deleting it again is a no-op", async () => {
    const { id, outs } = await groupImpl.create(await inputs({ name: "pg-gone" }), conn);
    await t.client.groups.delete([id]);
    nextCommand();
    assert.deepEqual(await groupImpl.read(id, outs as GroupState, conn), {});
    await groupImpl.delete(id, outs as GroupState, conn);
  });

  it("records its stack and resource on the group's description, and reads the description without it", async () => {
    const news = await inputs({
      name: "pg-owned",
      description: "The team",
      __managedBy: marker("team"),
    });
    const { id, outs } = await groupImpl.create(news, conn);
    assert.equal(
      (await t.client.groups.get(id))?.description,
      "The team\nmanaged-by: tool=pulumi&stack=shop%2Fprod&resource=team",
    );
    assert.equal(outs?.description, "The team");
    nextCommand();
    const read = await groupImpl.read(id, outs as GroupState, conn);
    assert.equal(read.inputs?.description, "The team");
    assert.equal((await groupImpl.diff(id, read.props as GroupState, news, conn)).changes, false);
  });

  it("keeps a description the record does not fit beside as it is", async () => {
    const description = "d".repeat(1024);
    const news = await inputs({ name: "pg-full", description, __managedBy: marker("full") });
    const { id, outs } = await groupImpl.create(news, conn);
    assert.equal((await t.client.groups.get(id))?.description, description);
    assert.equal(outs?.description, description);
  });

  it("after an interrupted run, takes the group its stack and resource made, and no other's", async () => {
    const news = await inputs({
      name: "pg-killed",
      members: ["ann"],
      __managedBy: marker("killed"),
    });
    // The killed run: the gateway made the group, the state never heard of it.
    const { id: made } = await groupImpl.create({ ...news, members: [] }, conn);
    const { id, outs } = await groupImpl.create(news, conn);
    assert.equal(id, made);
    assert.deepEqual(await members(id), ["ann"], "brought to the program's");
    assert.deepEqual(outs?.members, ["ann"]);
    const other = await inputs({ name: "pg-killed", __managedBy: marker("another") });
    await assert.rejects(groupImpl.create(other, conn), /already exists.*adopt: true/s);
  });

  it("reads a group written before owners were recorded, and records its owner at the next update", async () => {
    const { id } = await t.client.groups.save({ name: "pg-05", description: "old" });
    const old: GroupState = { name: "pg-05", description: "old", members: [], memberIds: [] };
    nextCommand();
    const read = await groupImpl.read(id, old, conn);
    assert.deepEqual(read.props, old);
    const news = await inputs({ name: "pg-05", description: "new", __managedBy: marker("pg-05") });
    await groupImpl.update(id, old, news, conn);
    assert.match(
      (await t.client.groups.get(id))?.description ?? "",
      /^new\nmanaged-by: .*resource=pg-05$/,
    );
  });

  it("grants a group access to routes with one access rule per route, and revokes them on delete", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-team" });
    const r1 = await route("ga-1");
    const r2 = await route("ga-2");
    const { id, outs } = await groupAccessImpl.create({ group, routes: [r1, r2].sort() }, conn);
    const rules = await t.client.accessRules.list();
    const ours = rules.filter((r) => (r.groups ?? []).some((g) => g.id === group));
    assert.deepEqual(
      ours.map((r) => r.entity_type),
      ["route", "route"],
    );
    assert.deepEqual(ours.map((r) => r.entity_id).sort(), [r1, r2].sort());
    assert.deepEqual(Object.keys(outs?.rules ?? {}).sort(), [r1, r2].sort());

    // A rule made elsewhere for another route is not this resource's business.
    const r3 = await route("ga-3");
    const foreign = await t.client.accessRules.save({
      name: "someone else's",
      description: "",
      access_permission: "read",
      entity_type: "route",
      entity_id: r3,
      users: [],
      groups: [group],
    });
    const state = outs as GroupAccessState;
    nextCommand();
    assert.deepEqual((await groupAccessImpl.read(id, state, conn)).inputs?.routes, [r1, r2].sort());
    // Revoked out of band: drift.
    await t.client.accessRules.delete([state.rules?.[r2] as string]);
    nextCommand();
    assert.deepEqual((await groupAccessImpl.read(id, state, conn)).inputs?.routes, [r1]);
    await groupAccessImpl.delete(id, state, conn);
    assert.deepEqual(
      (await t.client.accessRules.list())
        .filter((r) => (r.groups ?? []).some((g) => g.id === group))
        .map((r) => r.id),
      [foreign],
    );
  });

  it("shows a group granted through GroupAccess in the route's access output", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-shown" });
    const r = await route("ga-shown");
    await groupAccessImpl.create({ group, routes: [r] }, conn);
    const read = await staticRouteImpl.read(r, {} as StaticRouteState, conn);
    assert.deepEqual(read.props?.access, ["ga-shown"]);
  });

  it("finds its rule again when the answer to a grant was lost, instead of granting twice", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-retry" });
    const r = await route("ga-retry");
    const first = await groupAccessImpl.create({ group, routes: [r] }, conn);
    const again = await groupAccessImpl.create({ group, routes: [r] }, conn);
    assert.deepEqual(again.outs?.rules, first.outs?.rules);
    const rules = (await t.client.accessRules.list()).filter((x) => x.entity_id === r);
    assert.equal(rules.length, 1);
  });

  it("reads state from before rules were recorded by the rule named for the pair", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-old" });
    const r = await route("ga-old");
    await groupAccessImpl.create({ group, routes: [r] }, conn);
    const read = await groupAccessImpl.read(group, { group, routes: [r] }, conn);
    assert.deepEqual(read.inputs?.routes, [r]);
  });

  it("updates the routes of a grant: adds new rules and removes dropped ones", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-move" });
    const a = await route("ga-move-a");
    const b = await route("ga-move-b");
    const { outs } = await groupAccessImpl.create({ group, routes: [a] }, conn);
    const { outs: after } = await groupAccessImpl.update(
      group,
      outs as GroupAccessState,
      { group, routes: [b] },
      conn,
    );
    assert.deepEqual(Object.keys(after?.rules ?? {}), [b]);
    const held = (await t.client.accessRules.list())
      .filter((x) => (x.groups ?? []).some((g) => g.id === group))
      .map((x) => x.entity_id);
    assert.deepEqual(held, [b]);
  });
});
