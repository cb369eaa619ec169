import assert from "node:assert/strict";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("control API: groups and access rules (permissions.*)", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const addUser = async (name: string) => (await t.client.addUser({ name })).id;
  const route = (name: string) => t.client.routes.save({ name, type: "path", path: `/${name}` });

  describe("groups", () => {
    it("lists the built-in groups as system groups; Users and Admins take no assigned members", async () => {
      const groups = await t.client.groups.list();
      const builtin = groups.filter((g) => g.system);
      assert.deepEqual(
        builtin.map((g) => [g.id, g.name, g.assignable]),
        [
          ["admins", "Admins", false],
          ["queue-admins", "Queue admins", true],
          ["users", "Users", false],
        ],
      );
      const [users] = await t.client.groups.list(["users"]);
      assert.ok(
        users?.users?.some((u) => u.name === "admin"),
        "every user is in Users",
      );
      const [admins] = await t.client.groups.list(["admins"]);
      assert.deepEqual(
        admins?.users?.map((u) => u.name),
        ["admin"],
      );
    });

    it("refuses to change or delete a built-in group (400/1104), but lets Queue admins take members", async () => {
      for (const id of ["users", "admins", "queue-admins"]) {
        const del = await rejection(() => t.client.groups.delete([id]));
        assert.equal(del.code, "APPGW_BAD_REQUEST", id);
        assert.deepEqual([del.statusCode, del.subcode], [400, 1104], id);
      }
      const rename = await rejection(() => t.client.groups.save({ id: "admins", name: "Root" }));
      assert.equal(rename.subcode, 1104);
      const members = await rejection(() => t.client.groups.save({ id: "users", users: [] }));
      assert.equal(members.subcode, 1104);
      const hank = await addUser("hank");
      const saved = await t.client.groups.save({ id: "queue-admins", users: [hank] });
      assert.deepEqual(saved, {
        id: "queue-admins",
        name: "Queue admins",
        system: true,
        assignable: true,
      });
      const [qa] = await t.client.groups.list(["queue-admins"]);
      assert.deepEqual(qa?.users, [{ id: hank, name: "hank" }]);
    });

    it("creates a group, then updates only the fields given; users replaces the members", async () => {
      const dave = await addUser("dave");
      const erin = await addUser("erin");
      const created = await t.client.groups.save({
        name: "researchers",
        description: "R&D",
        users: [dave],
      });
      assert.match(created.id, /^[0-9a-f]{32}$/);
      assert.deepEqual(created, {
        id: created.id,
        name: "researchers",
        system: false,
        assignable: true,
      });
      let group = await t.client.groups.get(created.id);
      assert.deepEqual(group?.users, [{ id: dave, name: "dave" }]);
      assert.equal(group?.description, "R&D");

      await t.client.groups.save({ id: created.id, description: "Research" });
      group = await t.client.groups.get(created.id);
      assert.equal(group?.name, "researchers");
      assert.deepEqual(
        group?.users?.map((u) => u.name),
        ["dave"],
        "members kept when users is left out",
      );

      await t.client.groups.save({ id: created.id, users: [erin] });
      group = await t.client.groups.get(created.id);
      assert.deepEqual(
        group?.users?.map((u) => u.name),
        ["erin"],
      );
      assert.equal(group?.description, "Research");
    });

    it("creates a group with the id given when no group has it", async () => {
      const saved = await t.client.groups.save({ id: "ml-team", name: "ML team" });
      assert.equal(saved.id, "ml-team");
      assert.equal((await t.client.groups.get("ml-team"))?.name, "ML team");
      const nameless = await rejection(() => t.client.groups.save({ id: "nameless" }));
      assert.deepEqual([nameless.subcode, nameless.field], [11, "name"]);
    });

    it("refuses a duplicate name whatever its case (400/801), naming the group that holds it", async () => {
      const { id } = await t.client.groups.save({ name: "unique-team" });
      const dup = await rejection(() => t.client.groups.save({ name: "UNIQUE-team" }));
      assert.deepEqual([dup.statusCode, dup.subcode, dup.field], [400, 801, "name"]);
      assert.match(dup.message, new RegExp(id));
      const { id: other } = await t.client.groups.save({ name: "other-team" });
      const rename = await rejection(() =>
        t.client.groups.save({ id: other, name: "Unique-Team" }),
      );
      assert.equal(rename.subcode, 801);
    });

    it("refuses an unknown member (400/301) and changes nothing", async () => {
      const frank = await addUser("frank");
      const { id } = await t.client.groups.save({ name: "frank-team", users: [frank] });
      const bad = await rejection(() =>
        t.client.groups.save({ id, users: ["no-such-user"], description: "x" }),
      );
      assert.equal(bad.code, "APPGW_USER_NOT_FOUND");
      assert.deepEqual([bad.subcode, bad.field], [301, "users"]);
      const group = await t.client.groups.get(id);
      assert.deepEqual(
        group?.users?.map((u) => u.name),
        ["frank"],
      );
      assert.equal(group?.description, "");
    });

    it("leaves unknown ids out of get_user_groups", async () => {
      const { id } = await t.client.groups.save({ name: "listed" });
      const groups = await t.client.groups.list([id, "no-such-group"]);
      assert.deepEqual(
        groups.map((g) => g.id),
        [id],
      );
    });

    it("deletes groups, removing them from access rules, once no route's user_groups hold them", async () => {
      const { id: gone } = await t.client.groups.save({ name: "short-lived" });
      const { id: kept } = await t.client.groups.save({ name: "long-lived" });
      const route = {
        name: "grouped",
        type: "path" as const,
        path: "/grouped",
        user_groups: [gone, kept],
      };
      const routeId = await t.client.routes.save(route);
      const rule = await t.client.accessRules.save({
        name: "grouped-rule",
        description: "",
        access_permission: "read_write",
        entity_type: "route",
        entity_id: routeId,
        users: [],
        groups: [gone, kept],
      });
      const refused = await rejection(() => t.client.groups.delete([gone]));
      assert.deepEqual([refused.statusCode, refused.subcode], [400, 1105]);
      assert.equal(refused.details.field, "groups");
      assert.deepEqual(refused.details.routes, ["grouped"]);
      assert.ok(await t.client.groups.get(gone), "a refused call deletes nothing");

      await t.client.routes.setEnabled(routeId, false);
      await t.client.routes.save({ ...route, id: routeId, user_groups: [kept] });
      assert.equal(await t.client.groups.delete([gone, "no-such-group"]), 1);
      const [r] = await t.client.accessRules.list([rule]);
      assert.deepEqual(r?.groups, [{ id: kept, name: "long-lived" }]);
      assert.equal(await t.client.groups.get(gone), undefined);
    });

    it("reports a group's access rules when asked to include permissions", async () => {
      const { id } = await t.client.groups.save({ name: "with-permissions" });
      const rule = await t.client.accessRules.save({
        name: "everything",
        description: "",
        access_permission: "read",
        entity_type: "route",
        entity_id: "*",
        users: [],
        groups: [id],
      });
      const { groups } = await t.client.call("permissions.get_user_groups", {
        groups: [id],
        include_permissions: true,
      });
      assert.deepEqual(groups[0]?.permissions, [
        {
          id: rule,
          name: "everything",
          access_permission: "read",
          entity_type: "route",
          entity_id: "*",
        },
      ]);
      await t.client.accessRules.delete([rule]);
    });
  });

  describe("access rules", () => {
    it("stores a rule in the documented shape and reads it back with names", async () => {
      const ivan = await addUser("ivan");
      const { id: team } = await t.client.groups.save({ name: "rule-team" });
      const routeId = await route("ruled");
      const saved = await t.client.call("permissions.add_or_update_access_rule", {
        name: "ruled access",
        description: "who may use /ruled",
        access_permission: "read_write",
        entity_type: "route",
        entity_id: routeId,
        users: [ivan],
        groups: [team],
      });
      assert.deepEqual(saved, { id: saved.id, name: "ruled access" });
      const [rule] = await t.client.accessRules.list([saved.id]);
      assert.deepEqual(rule, {
        id: saved.id,
        name: "ruled access",
        description: "who may use /ruled",
        access_permission: "read_write",
        entity_type: "route",
        entity_id: routeId,
        entity_name: "ruled",
        autocreated: false,
        groups: [{ id: team, name: "rule-team" }],
        users: [{ id: ivan, name: "ivan" }],
      });
    });

    it("updates a rule by id, replacing its users and groups", async () => {
      const routeId = await route("re-ruled");
      const { id: a } = await t.client.groups.save({ name: "team-a" });
      const { id: b } = await t.client.groups.save({ name: "team-b" });
      const base = {
        name: "re-ruled",
        description: "",
        access_permission: "read" as const,
        entity_type: "route" as const,
        entity_id: routeId,
        users: [],
      };
      const id = await t.client.accessRules.save({ ...base, groups: [a] });
      assert.equal(
        await t.client.accessRules.save({ ...base, id, groups: [b], name: "renamed" }),
        id,
      );
      const [rule] = await t.client.accessRules.list([id]);
      assert.equal(rule?.name, "renamed");
      assert.deepEqual(
        rule?.groups?.map((g) => g.name),
        ["team-b"],
      );
    });

    it("refuses unknown groups, users or routes with 400/10, naming the field", async () => {
      const base = {
        name: "bad",
        description: "",
        access_permission: "read" as const,
        entity_type: "route" as const,
        users: [] as string[],
        groups: [] as string[],
      };
      const group = await rejection(() => t.client.accessRules.save({ ...base, groups: ["nope"] }));
      assert.deepEqual(
        [group.code, group.subcode, group.field],
        ["APPGW_INVALID_ID", 10, "groups"],
      );
      const user = await rejection(() => t.client.accessRules.save({ ...base, users: ["nope"] }));
      assert.deepEqual([user.subcode, user.field], [10, "users"]);
      const entity = await rejection(() =>
        t.client.accessRules.save({ ...base, entity_id: "nope" }),
      );
      assert.deepEqual([entity.subcode, entity.field], [10, "entity_id"]);
    });

    it("lets a route's user groups and its rules' groups and users in (appgw.get_router_config)", async () => {
      const { id: own } = await t.client.groups.save({ name: "own-group" });
      const { id: ruled } = await t.client.groups.save({ name: "ruled-group" });
      const { id: everywhere } = await t.client.groups.save({ name: "everywhere-group" });
      const jane = await addUser("jane");
      const routeId = await t.client.routes.save({
        name: "effective",
        type: "path",
        path: "/effective",
        user_groups: [own],
      });
      const base = {
        description: "",
        access_permission: "read" as const,
        entity_type: "route" as const,
      };
      const r1 = await t.client.accessRules.save({
        ...base,
        name: "one",
        entity_id: routeId,
        users: [jane],
        groups: [ruled],
      });
      const r2 = await t.client.accessRules.save({
        ...base,
        name: "all",
        entity_id: "*",
        users: [],
        groups: [everywhere],
      });
      const config = await t.client.routerConfig({ router: "r" });
      const entry = config.routes.find((r) => r.id === routeId);
      assert.deepEqual(entry?.groups, [everywhere, own, ruled].sort());
      assert.deepEqual(entry?.users, [jane]);
      assert.equal(await t.client.accessRules.delete([r1, r2, "no-such-rule"]), 2);
      const after = (await t.client.routerConfig({ router: "r" })).routes.find(
        (r) => r.id === routeId,
      );
      assert.deepEqual(after?.groups, [own]);
      assert.deepEqual(after?.users, []);
    });

    it("drops a route's rules when the route is deleted", async () => {
      const routeId = await route("doomed");
      const id = await t.client.accessRules.save({
        name: "doomed",
        description: "",
        access_permission: "read",
        entity_type: "route",
        entity_id: routeId,
        users: [],
        groups: ["admins"],
      });
      await t.client.routes.delete([routeId]);
      assert.deepEqual(await t.client.accessRules.list([id]), []);
    });
  });
});
