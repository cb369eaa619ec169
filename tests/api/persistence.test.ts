import assert from "node:assert/strict";
import { AppGatewayClient } from "../../sdk";
import { startTestGateway, type TestGateway } from "../helpers/gateway";

describe("persistence", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("keeps routes, groups, access rules, users and tokens across a restart", async () => {
    const { id: user, credentials } = await t.client.users.create({ name: "persist-user" });
    const { id: group } = await t.client.groups.create({ name: "persist-group", users: [user] });
    const { id: route } = await t.client.routes.create({
      name: "persist",
      path: "/persist",
      access_groups: [group],
    });
    await t.client.routes.disable(route);
    const userClient = new AppGatewayClient({
      apiHost: t.apiUrl,
      accessKey: credentials.access_key,
      secretKey: credentials.secret_key,
    });
    const token = await userClient.token();
    const before = {
      route: await t.client.routes.get(route),
      group: await t.client.groups.get(group),
    };

    await t.restart();

    assert.deepEqual(await t.client.routes.get(route), before.route);
    assert.deepEqual(await t.client.groups.get(group), before.group);
    const sameToken = new AppGatewayClient({ apiHost: t.apiUrl, token });
    assert.equal(
      (await sameToken.users.me()).name,
      "persist-user",
      "tokens signed before the restart stay valid",
    );
  });
});
