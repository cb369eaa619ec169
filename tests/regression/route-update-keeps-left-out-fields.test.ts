// Regression: `routers.add_or_update_route {id, path}` was refused for the missing `name` and
// `type`, though an update keeps every field it leaves out (docs/clearml-compatibility.md). An
// update now may name only what it changes; the route it makes, with the stored fields, must
// still be consistent (a path route has a path and no subdomain, and the other way round). A
// create still needs a name and a type.
import assert from "node:assert/strict";
import type { ActionRequest } from "@appgw/sdk";
import { bearerAuth, rawCall, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("regression: a route update keeps the fields it leaves out, name and type included", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  /** A raw write, to see the status and subcode the API answers. */
  const write = async (body: Record<string, unknown>) =>
    rawCall(t.apiUrl, "routers.add_or_update_route", body, await bearerAuth(t.client));
  /** A disabled route, so that it can be edited at once. */
  const disabled = async (body: ActionRequest<"routers.add_or_update_route">) => {
    const id = await t.client.routes.save({ ...body, enabled: false });
    return { id, before: await t.client.routes.get(id) };
  };
  const refused = (
    res: Awaited<ReturnType<typeof write>>,
    subcode: number,
    field: string,
    reason: RegExp,
  ) => {
    assert.equal(res.status, 400, JSON.stringify(res.json.meta));
    assert.equal(res.json.meta.result_subcode, subcode, res.json.meta.result_msg);
    assert.equal(res.json.meta.error_data.field, field, res.json.meta.result_msg);
    assert.match(res.json.meta.result_msg, reason);
  };

  it("changes the path of {id, path} and keeps name, type and every other field", async () => {
    const { id: group } = await t.client.groups.save({ name: "kept-team" });
    const { id, before } = await disabled({
      name: "moves",
      type: "path",
      path: "/moves",
      auth_enabled: true,
      load_balancer: { enabled: false },
      user_groups: [group],
    });
    const res = await write({ id, path: "/moved" });
    assert.equal(res.status, 200, res.json.meta.result_msg);
    assert.equal(res.json.data.id, id);
    const after = await t.client.routes.get(id);
    assert.deepEqual(
      { ...after, last_update: undefined },
      { ...before, path: "/moved", last_update: undefined },
    );
  });

  it("renames with {id, name}, keeping the path", async () => {
    const { id } = await disabled({ name: "old-name", type: "path", path: "/renamed" });
    await t.client.routes.save({ id, name: "new-name" });
    const route = await t.client.routes.get(id);
    assert.equal(route?.name, "new-name");
    assert.equal(route?.path, "/renamed");
    assert.equal(route?.type, "path");
  });

  it("keeps a subdomain route's subdomain when the update leaves it out, type given or not", async () => {
    const { id } = await disabled({ name: "sub-kept", type: "subdomain", subdomain: "kept" });
    await t.client.routes.save({ id, auth_enabled: false });
    await t.client.routes.save({ id, type: "subdomain", load_balancer: { enabled: false } });
    const route = await t.client.routes.get(id);
    assert.equal(route?.type, "subdomain");
    assert.equal(route?.subdomain, "kept");
    assert.equal(route?.path, null);
    assert.equal(route?.auth_enabled, false);
    assert.deepEqual(route?.load_balancer, { enabled: false });
  });

  it("refuses {id, path} on a subdomain route naming path, and changes nothing", async () => {
    const { id, before } = await disabled({ name: "sub-only", type: "subdomain", subdomain: "so" });
    refused(
      await write({ id, path: "/so" }),
      12,
      "path",
      /must not be set when type is 'subdomain'/,
    );
    refused(
      await write({ id, subdomain: "so", path: "/so" }),
      12,
      "path",
      /must not be set when type is 'subdomain'/,
    );
    assert.deepEqual(await t.client.routes.get(id), before);
  });

  it("switches the type when the update gives it with the new field, and not without it", async () => {
    const { id, before } = await disabled({ name: "switches", type: "subdomain", subdomain: "sw" });
    refused(await write({ id, type: "path" }), 12, "path", /is required when type is 'path'/);
    refused(
      await write({ id, type: "path", path: "/sw", subdomain: "sw" }),
      12,
      "subdomain",
      /must not be set when type is 'path'/,
    );
    assert.deepEqual(await t.client.routes.get(id), before, "nothing changed");
    const res = await write({ id, type: "path", path: "/sw" });
    assert.equal(res.status, 200, res.json.meta.result_msg);
    const route = await t.client.routes.get(id);
    assert.deepEqual(
      [route?.name, route?.type, route?.path, route?.subdomain],
      ["switches", "path", "/sw", null],
    );
  });

  it("still needs a name and a type to create a route (400/11 naming the field), and creates nothing", async () => {
    refused(await write({ type: "path", path: "/nameless" }), 11, "name", /^name: is required/);
    refused(await write({ name: "typeless", path: "/typeless" }), 11, "type", /^type: is required/);
    refused(await write({ name: "np", type: "path" }), 12, "path", /required when type is 'path'/);
    const names = (await t.client.routes.list()).map((r) => r.name);
    assert.ok(!names.includes("typeless") && !names.includes("np"), names.join(", "));
    assert.equal((await t.client.routes.list({ path: "^/nameless$" })).length, 0);
  });
});
