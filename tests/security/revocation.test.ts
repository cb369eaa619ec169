// Access follows the gateway's current groups and users, not the claims frozen in a token:
// removing a member or deleting a user takes effect at the router within a configuration
// change, not at the token's expiry (12 h by default).
import assert from "node:assert/strict";
import { AppGatewayClient } from "../../sdk";
import { eventually, type TestGateway } from "../helpers/gateway";
import { send, startDataplaneGateway, startEchoApp, waitRouted } from "../helpers/dataplane";

describe("security: revoking access takes effect without a new login", () => {
  let t: TestGateway;
  let group: string;
  before(async () => {
    t = await startDataplaneGateway();
    ({ id: group } = await t.client.groups.create({ name: "revocation-team" }));
    await t.client.routes.create({ name: "guarded", path: "/guarded", access_groups: [group] });
    await startEchoApp(t, "guarded");
    const adminToken = await t.client.token();
    await t.client.groups.update({ group, users: [(await t.client.users.me()).id] });
    await waitRouted(t, "/guarded/ping", { headers: { authorization: `Bearer ${adminToken}` } });
  });
  after(() => t.stop());

  /** A user with a token issued now, while `inGroup` decides their membership. */
  async function userWithToken(
    name: string,
    inGroup: boolean,
  ): Promise<{ id: string; token: string }> {
    const { id, credentials } = await t.client.users.create({ name });
    if (inGroup) {
      const current = (await t.client.groups.get(group)).users.map((u) => u.id);
      await t.client.groups.update({ group, users: [...current, id] });
    }
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
    const current = (await t.client.groups.get(group)).users.map((u) => u.id);
    await t.client.groups.update({ group, users: current.filter((u) => u !== user.id) });
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
    const current = (await t.client.groups.get(group)).users.map((u) => u.id);
    await t.client.groups.update({ group, users: [...current, user.id] });
    await eventually(async () => (await status(user.token)) === 200, 1000, "new member admitted");
  });

  it("refuses the token of a deleted user at once", async () => {
    const user = await userWithToken("deleted", true);
    await eventually(async () => (await status(user.token)) === 200, 5000, "member admitted");
    await t.client.users.delete(user.id);
    await eventually(async () => (await status(user.token)) === 401, 1000, "deleted user refused");
  });
});
