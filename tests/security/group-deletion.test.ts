// An authenticated route restricted to groups or users must never open to every signed-in user
// as a side effect of deleting a group or a user. Before, deleting a route's last group left it
// with no groups, which the router reads as "every signed-in user".
import assert from "node:assert/strict";
import { eventually, rejection, userClient, type TestGateway } from "../helpers/gateway";
import {
  createRoute,
  send,
  startDataplaneGateway,
  startEchoApp,
  waitRouted,
} from "../helpers/dataplane";

describe("security: deleting a group or a user never opens a restricted route", () => {
  let t: TestGateway;
  before(async () => {
    t = await startDataplaneGateway();
  });
  after(() => t.stop());

  const status = async (path: string, token: string) =>
    (await send(t, path, { headers: { authorization: `Bearer ${token}` } })).status;

  it("refuses to delete a route's last group, and the route stays closed to others", async () => {
    const admin = (await t.client.users.me()).user.id;
    const { id: team } = await t.client.groups.save({ name: "only-team", users: [admin] });
    await createRoute(t, { name: "team-only", groups: [team] });
    await startEchoApp(t, "team-only");
    const adminToken = await t.client.token();
    await waitRouted(t, "/team-only/x", { headers: { authorization: `Bearer ${adminToken}` } });
    const outsider = await (await userClient(t, "outsider")).client.token();
    assert.equal(await status("/team-only/x", outsider), 403);

    const err = await rejection(() => t.client.groups.delete([team]));
    // 400/1105, APPGW_GROUP_IN_USE (the SDK names only ClearML's documented codes).
    assert.deepEqual([err.statusCode, err.subcode], [400, 1105]);
    assert.match(err.message, /team-only/);
    assert.ok(await t.client.groups.get(team), "the group is still there");
    assert.equal(await status("/team-only/x", outsider), 403);
  });

  it("keeps a route closed when the only user its access rule names is deleted", async () => {
    const routeId = await createRoute(t, { name: "rule-only" });
    const named = await userClient(t, "named");
    await t.client.accessRules.save({
      name: "named-on-rule-only",
      description: "one user by name",
      access_permission: "read",
      entity_type: "route",
      entity_id: routeId,
      users: [named.id],
      groups: [],
    });
    await startEchoApp(t, "rule-only");
    await waitRouted(t, "/rule-only/x", {
      headers: { authorization: `Bearer ${await named.client.token()}` },
    });
    const other = await (await userClient(t, "other")).client.token();
    assert.equal(await status("/rule-only/x", other), 403);

    await t.client.users.delete(named.id);
    // The rule now names no one: the route admits no one rather than everyone.
    const [rule] = (await t.client.accessRules.list()).filter((r) => r.entity_id === routeId);
    assert.deepEqual(rule?.users, []);
    await eventually(async () => (await status("/rule-only/x", other)) === 403, 1000);
    for (let i = 0; i < 5; i++) assert.equal(await status("/rule-only/x", other), 403);
  });
});
