import assert from "node:assert/strict";
import { AppGatewayClient } from "../../sdk";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("groups (permissions.*)", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("has the built-in Users, Admins and Queue admins groups, which cannot be deleted", async () => {
    const groups = await t.client.groups.list();
    const builtin = groups
      .filter((g) => g.system)
      .map((g) => g.name)
      .sort();
    assert.deepEqual(builtin, ["Admins", "Queue admins", "Users"]);
    for (const id of ["users", "admins", "queue-admins"]) {
      const err = await rejection(() => t.client.groups.delete(id));
      assert.equal(err.code, "APPGW_GROUP_SYSTEM", id);
    }
    const rename = await rejection(() => t.client.groups.update({ group: "admins", name: "Root" }));
    assert.equal(rename.code, "APPGW_GROUP_SYSTEM");
  });

  it("lists every user in Users and administrators in Admins", async () => {
    const { id } = await t.client.users.create({ name: "carol" });
    const [users] = await t.client.groups.list({ id: ["users"] });
    assert.ok(users?.users.some((u) => u.id === id && u.name === "carol"));
    const [admins] = await t.client.groups.list({ id: ["admins"] });
    assert.deepEqual(
      admins?.users.map((u) => u.name),
      ["admin"],
    );
  });

  it("creates, updates members of and deletes a custom group", async () => {
    const { id: dave } = await t.client.users.create({ name: "dave" });
    const { id: erin } = await t.client.users.create({ name: "erin" });
    const { id } = await t.client.groups.create({
      name: "researchers",
      description: "R&D",
      users: [dave],
    });
    let group = await t.client.groups.get(id);
    assert.deepEqual(group.users, [{ id: dave, name: "dave" }]);
    assert.equal(group.description, "R&D");
    assert.equal(group.system, false);
    await t.client.groups.update({ group: id, users: [erin, dave], description: "Research" });
    group = await t.client.groups.get(id);
    assert.deepEqual(
      group.users.map((u) => u.name),
      ["dave", "erin"],
    );
    assert.equal(group.description, "Research");
    await t.client.groups.delete(id);
    assert.equal((await rejection(() => t.client.groups.get(id))).code, "APPGW_GROUP_NOT_FOUND");
  });

  it("refuses a duplicate name and an unknown member without changing the group", async () => {
    const { id } = await t.client.groups.create({ name: "unique-team" });
    const dup = await rejection(() => t.client.groups.create({ name: "unique-team" }));
    assert.equal(dup.code, "APPGW_GROUP_NAME_TAKEN");
    const { id: frank } = await t.client.users.create({ name: "frank" });
    await t.client.groups.update({ group: id, users: [frank] });
    const bad = await rejection(() =>
      t.client.groups.update({ group: id, users: ["no-such-user"], description: "x" }),
    );
    assert.equal(bad.code, "APPGW_USER_NOT_FOUND");
    const group = await t.client.groups.get(id);
    assert.deepEqual(
      group.users.map((u) => u.name),
      ["frank"],
    );
    assert.equal(group.description, "");
  });

  it("puts a user's custom groups in their token claims", async () => {
    const { id: gina, credentials } = await t.client.users.create({ name: "gina" });
    const { id: group } = await t.client.groups.create({ name: "gina-team", users: [gina] });
    const gClient = new AppGatewayClient({
      apiHost: t.apiUrl,
      accessKey: credentials.access_key,
      secretKey: credentials.secret_key,
    });
    const token = await gClient.token();
    const claims = await t.gw.api.tokens.verify(token);
    assert.deepEqual(claims.groups.sort(), [group, "users"].sort());
    assert.equal(claims.admin, false);
  });
});
