import assert from "node:assert/strict";
import { formatManagedBy } from "@appgw/sdk";
import { groupImpl } from "../../provider/providers/group";
import { type GroupState } from "../../provider/group";
import { groupAccessImpl } from "../../provider/providers/groupAccess";
import { type GroupAccessState } from "../../provider/groupAccess";
import { staticRouteImpl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
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
  /** The inputs the program gives a GroupAccess named `resource`. */
  const access = (group: string, routes: string[], resource = "access") =>
    checkedInputs(groupAccessImpl, { group, routes, __managedBy: marker(resource) });
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

  it("replaces a group by deleting it first, so the new one never takes the old one's group", async () => {
    const news = await inputs({ name: "pg-replaced", __managedBy: marker("replaced") });
    const { id, outs } = await groupImpl.create(news, conn);
    const diff = await groupImpl.diff(id, outs as GroupState, news, conn);
    assert.equal(diff.deleteBeforeReplace, true);
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
    const { id, outs } = await groupAccessImpl.create(await access(group, [r1, r2]), conn);
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
    await groupAccessImpl.create(await access(group, [r]), conn);
    const read = await staticRouteImpl.read(r, {} as StaticRouteState, conn);
    assert.deepEqual(read.props?.access, ["ga-shown"]);
  });

  it("finds its rule again when a create is repeated (an interrupted run), instead of granting twice", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-retry" });
    const r = await route("ga-retry");
    const first = await groupAccessImpl.create(await access(group, [r]), conn);
    const again = await groupAccessImpl.create(await access(group, [r]), conn);
    assert.deepEqual(again.outs?.rules, first.outs?.rules);
    const rules = (await t.client.accessRules.list()).filter((x) => x.entity_id === r);
    assert.equal(rules.length, 1);
  });

  /** A rule as 0.5 and earlier wrote it: named for the pair, recording no owner. */
  const legacyRule = (group: string, route: string) =>
    t.client.accessRules.save({
      name: `appgw-access:${group}:${route}`,
      description: "Route access managed by Pulumi (appgw GroupAccess)",
      access_permission: "read_write",
      entity_type: "route",
      entity_id: route,
      users: [],
      groups: [group],
    });
  const rulesOf = async (group: string) =>
    (await t.client.accessRules.list()).filter((x) => (x.groups ?? []).some((g) => g.id === group));

  it("reads state from 0.1.0, which recorded no rules, by the rule named for the pair", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-old" });
    const r = await route("ga-old");
    await legacyRule(group, r);
    const read = await groupAccessImpl.read(group, { group, routes: [r] }, conn);
    assert.deepEqual(read.inputs?.routes, [r]);
  });

  it("reads, updates and deletes state from 0.5, recording its owner on the rules it keeps", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-05" });
    const [r1, r2] = [await route("ga-05-a"), await route("ga-05-b")];
    const rules = { [r1]: await legacyRule(group, r1), [r2]: await legacyRule(group, r2) };
    // As 0.5 wrote it: the group as id, no marker.
    const old: GroupAccessState = { group, routes: [r1, r2].sort(), rules };
    nextCommand();
    const read = await groupAccessImpl.read(group, old, conn);
    assert.deepEqual(read.props, old);
    const news = await access(group, [r1], "ga-05");
    assert.equal(
      (await groupAccessImpl.diff(group, read.props as GroupAccessState, news, conn)).changes,
      true,
      "an update records the owner on its rules",
    );
    const { outs } = await groupAccessImpl.update(group, old, news, conn);
    assert.deepEqual(outs?.rules, { [r1]: rules[r1] }, "the same rule, so access never lapsed");
    const [kept, ...others] = await rulesOf(group);
    assert.equal(others.length, 0, "the dropped route's rule is gone");
    assert.match(
      kept?.description ?? "",
      /managed-by: tool=pulumi&stack=shop%2Fprod&resource=ga-05$/,
    );
    assert.equal(
      (await groupAccessImpl.diff(group, outs as GroupAccessState, news, conn)).changes,
      false,
    );
    await groupAccessImpl.delete(group, outs as GroupAccessState, conn);
    assert.deepEqual(await rulesOf(group), []);
  });

  it("parts two 0.5 resources that shared a rule: one takes it, the other makes its own", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-shared" });
    const r = await route("ga-shared");
    const old: GroupAccessState = {
      group,
      routes: [r],
      rules: { [r]: await legacyRule(group, r) },
    };
    // One `up` updates both at once.
    const [a, b] = await Promise.all(
      ["ga-shared-a", "ga-shared-b"].map(async (name) =>
        groupAccessImpl.update(group, old, await access(group, [r], name), conn),
      ),
    );
    assert.notEqual(a.outs?.rules?.[r], b.outs?.rules?.[r]);
    assert.equal((await rulesOf(group)).length, 2);
    await groupAccessImpl.delete(group, a.outs as GroupAccessState, conn);
    assert.deepEqual(
      (await rulesOf(group)).map((x) => x.id),
      [b.outs?.rules?.[r]],
      "b's access stands",
    );
  });

  it("leaves a 0.5 rule another resource has taken when deleting state that still records it", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-taken" });
    const r = await route("ga-taken");
    const old: GroupAccessState = {
      group,
      routes: [r],
      rules: { [r]: await legacyRule(group, r) },
    };
    await groupAccessImpl.update(group, old, await access(group, [r], "taker"), conn);
    nextCommand();
    assert.deepEqual(await groupAccessImpl.read(group, old, conn), {}, "no longer this state's");
    await groupAccessImpl.delete(group, old, conn);
    assert.equal((await rulesOf(group)).length, 1, "the taker's access stands");
  });

  it("records a renamed stack or resource on its rules at the next update", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-renamed" });
    const r = await route("ga-renamed");
    const { id, outs } = await groupAccessImpl.create(await access(group, [r], "before"), conn);
    const news = await access(group, [r], "after");
    const state = outs as GroupAccessState;
    assert.equal((await groupAccessImpl.diff(id, state, news, conn)).changes, true);
    const { outs: after } = await groupAccessImpl.update(id, state, news, conn);
    assert.deepEqual(after?.rules, state.rules, "the same rule");
    const [rule] = await rulesOf(group);
    assert.match(rule?.description ?? "", /resource=after$/);
  });

  it("revokes, at its next update, a route an interrupted update granted and the program dropped", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-cut" });
    const [r1, r2] = [await route("ga-cut-1"), await route("ga-cut-2")];
    const { id, outs } = await groupAccessImpl.create(await access(group, [r1], "cut"), conn);
    const state = outs as GroupAccessState;
    // The killed run granted r2; the state never heard of it.
    await groupAccessImpl.update(id, state, await access(group, [r1, r2], "cut"), conn);
    nextCommand();
    assert.deepEqual(
      (await groupAccessImpl.read(id, state, conn)).inputs?.routes,
      [r1, r2].sort(),
      "refresh reports it",
    );
    await groupAccessImpl.update(id, state, await access(group, [r1], "cut"), conn);
    assert.deepEqual(
      (await rulesOf(group)).map((x) => x.entity_id),
      [r1],
    );
  });

  it("replaces a grant by deleting it first, so the old one's delete cannot revoke the new one's rules", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-replaced" });
    const r = await route("ga-replaced");
    const news = await access(group, [r], "replaced");
    const old = await groupAccessImpl.create(news, conn);
    // `pulumi up --replace`: the same inputs, so the same owner.
    const diff = await groupAccessImpl.diff(old.id, old.outs as GroupAccessState, news, conn);
    assert.equal(diff.deleteBeforeReplace, true);
    await groupAccessImpl.delete(old.id, old.outs as GroupAccessState, conn);
    const { outs } = await groupAccessImpl.create(news, conn);
    assert.deepEqual(
      (await rulesOf(group)).map((x) => x.id),
      [outs?.rules?.[r]],
    );
  });

  it("refuses inputs without the owner's marker, naming it", async () => {
    const { failures } = await groupAccessImpl.check({}, { group: "g", routes: ["r"] });
    assert.equal(failures?.[0]?.property, "__managedBy");
    const long = await groupAccessImpl.check(
      {},
      { group: "g", routes: ["r"], __managedBy: marker("x".repeat(1000)) },
    );
    assert.match(long.failures?.[0]?.reason ?? "", /shorter name/);
  });

  it("updates the routes of a grant: adds new rules and removes dropped ones", async () => {
    const { id: group } = await t.client.groups.save({ name: "ga-move" });
    const a = await route("ga-move-a");
    const b = await route("ga-move-b");
    const { id, outs } = await groupAccessImpl.create(await access(group, [a]), conn);
    const { outs: after } = await groupAccessImpl.update(
      id,
      outs as GroupAccessState,
      await access(group, [b]),
      conn,
    );
    assert.deepEqual(Object.keys(after?.rules ?? {}), [b]);
    const held = (await t.client.accessRules.list())
      .filter((x) => (x.groups ?? []).some((g) => g.id === group))
      .map((x) => x.entity_id);
    assert.deepEqual(held, [b]);
  });
});
