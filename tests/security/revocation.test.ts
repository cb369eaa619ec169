// Access follows the gateway's current groups, access rules and users, not the claims frozen in
// a token: removing a member, deleting an access rule or deleting a user takes effect at the
// router within a configuration change, not at the token's expiry (24 h by default).
import assert from "node:assert/strict";
import { AppGatewayClient } from "@appgw/sdk";
import { eventually, type TestGateway } from "../helpers/gateway";
import {
  createRoute,
  routerBase,
  send,
  startDataplaneGateway,
  startEchoApp,
  waitRouted,
  WsProbe,
} from "../helpers/dataplane";

describe("security: revoking access takes effect without a new login", () => {
  let t: TestGateway;
  let group: string;
  let route: string;
  before(async () => {
    t = await startDataplaneGateway();
    const admin = (await t.client.users.me()).user.id;
    ({ id: group } = await t.client.groups.save({ name: "revocation-team", users: [admin] }));
    route = await createRoute(t, { name: "guarded", groups: [group] });
    await startEchoApp(t, "guarded");
    const adminToken = await t.client.token();
    await waitRouted(t, "/guarded/ping", { headers: { authorization: `Bearer ${adminToken}` } });
  });
  after(() => t.stop());

  /** The group's members now: `users` is always sent whole. */
  const members = async () => ((await t.client.groups.get(group))?.users ?? []).map((u) => u.id);

  /** A user with a token issued now, while `inGroup` decides their membership. */
  async function userWithToken(
    name: string,
    inGroup: boolean,
  ): Promise<{ id: string; token: string }> {
    const { id, credentials } = await t.client.addUser({ name });
    if (inGroup) await t.client.groups.save({ id: group, users: [...(await members()), id] });
    const client = new AppGatewayClient({
      apiHost: t.apiUrl,
      accessKey: credentials.access_key,
      secretKey: credentials.secret_key,
    });
    return { id, token: await client.token() };
  }

  const status = async (token: string) =>
    (await send(t, "/guarded/ping", { headers: { authorization: `Bearer ${token}` } })).status;

  it("denies a member removed from the route's group, with the same token", async () => {
    const user = await userWithToken("leaver", true);
    await eventually(async () => (await status(user.token)) === 200, 5000, "member admitted");
    const current = await members();
    await t.client.groups.save({ id: group, users: current.filter((u) => u !== user.id) });
    const started = Date.now();
    await eventually(
      async () => (await status(user.token)) === 403,
      1000,
      "removed member refused",
    );
    console.log(`      (membership change -> refused: ${Date.now() - started} ms)`);
  });

  it("admits a user added to the group, with a token issued before", async () => {
    const user = await userWithToken("joiner", false);
    assert.equal(await status(user.token), 403);
    await t.client.groups.save({ id: group, users: [...(await members()), user.id] });
    await eventually(async () => (await status(user.token)) === 200, 1000, "new member admitted");
  });

  it("denies a user whose access rule was deleted, with the same token", async () => {
    const user = await userWithToken("ruled", false);
    const rule = await t.client.accessRules.save({
      name: "ruled-on-guarded",
      description: "a user allowed by name",
      access_permission: "read",
      entity_type: "route",
      entity_id: route,
      users: [user.id],
      groups: [],
    });
    await eventually(async () => (await status(user.token)) === 200, 1000, "rule admits");
    await t.client.accessRules.delete([rule]);
    await eventually(async () => (await status(user.token)) === 403, 1000, "rule gone, refused");
  });

  it("refuses the token of a deleted user at once", async () => {
    const user = await userWithToken("deleted", true);
    await eventually(async () => (await status(user.token)) === 200, 5000, "member admitted");
    await t.client.users.delete(user.id);
    await eventually(async () => (await status(user.token)) === 401, 1000, "deleted user refused");
  });

  describe("open WebSockets", () => {
    /** A WebSocket to the route's echo app, authenticated with `token`, past its greeting. */
    const socket = async (token: string) => {
      const ws = await WsProbe.open(`${routerBase(t).replace("http", "ws")}/guarded/ws`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await ws.message(0);
      return ws;
    };

    it("closes the open WebSocket of a member removed from the route's group", async () => {
      const leaver = await userWithToken("ws-leaver", true);
      const stayer = await userWithToken("ws-stayer", true);
      await eventually(async () => (await status(leaver.token)) === 200, 5000, "member admitted");
      const [gone, kept] = [await socket(leaver.token), await socket(stayer.token)];
      await t.client.groups.save({
        id: group,
        users: (await members()).filter((u) => u !== leaver.id),
      });
      await gone.whenClosed(2000);
      // The member who stayed keeps the socket the change did not concern.
      assert.equal((await kept.roundTrip("still here")).data.toString(), "still here");
      kept.close();
    });

    it("closes the open WebSocket of a deleted user", async () => {
      const user = await userWithToken("ws-deleted", true);
      await eventually(async () => (await status(user.token)) === 200, 5000, "member admitted");
      const ws = await socket(user.token);
      await t.client.users.delete(user.id);
      await ws.whenClosed(2000);
    });
  });
});
