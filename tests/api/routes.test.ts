import assert from "node:assert/strict";
import { rawCall, rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("static routes (control API)", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  it("creates a path route with ClearML's fields and a template URL while not in use", async () => {
    const { id } = await t.client.routes.create({ name: "llm", path: "/llm" });
    const route = await t.client.routes.get(id);
    assert.equal(route.name, "llm");
    assert.equal(route.path, "/llm");
    assert.equal(route.subdomain, null);
    assert.equal(route.type, "url");
    assert.equal(route.enabled, true);
    assert.equal(route.authenticated, true);
    assert.deepEqual(route.load_balancer, { enabled: false });
    assert.equal(route.status, "not_in_use");
    assert.equal(route.route_url, "<router url>/llm");
    assert.deepEqual(route.targets, []);
    assert.deepEqual(route.tasks, []);
    assert.equal(route.updated_by.name, "admin");
    assert.ok(Date.parse(route.created) <= Date.parse(route.last_update));
  });

  it("creates a subdomain route whose template names the router domain", async () => {
    const { id } = await t.client.routes.create({
      name: "notebooks",
      subdomain: "nb",
      load_balancer: { enabled: true },
    });
    const route = await t.client.routes.get(id);
    assert.equal(route.type, "subdomain");
    assert.equal(route.route_url, "nb.<router domain>");
    assert.equal(route.load_balancer.enabled, true);
  });

  it("refuses a path that does not begin with '/', naming the field", async () => {
    const res = await rawCall(
      t.apiUrl,
      "routers.create_route",
      { name: "bad", path: "llm" },
      {
        authorization: `Bearer ${await t.client.token()}`,
      },
    );
    assert.equal(res.status, 400);
    assert.equal(res.json.meta.error_data.code, "APPGW_INVALID_REQUEST");
    assert.equal(res.json.meta.error_data.field, "path");
    assert.match(res.json.meta.result_msg, /must begin with '\/'/);
  });

  it("refuses a route with both or neither of path and subdomain", async () => {
    const both = await rejection(() =>
      t.client.routes.create({ name: "both", path: "/both", subdomain: "both" }),
    );
    assert.equal(both.code, "APPGW_INVALID_REQUEST");
    assert.match(both.message, /exactly one of path or subdomain/);
    const neither = await rejection(() => t.client.routes.create({ name: "neither" }));
    assert.equal(neither.field, "path");
  });

  it("refuses reserved prefixes, traversal segments and bad subdomains", async () => {
    for (const path of ["/service/x", "/_appgw", "/a/../b", "/a/", "/a b"]) {
      const err = await rejection(() => t.client.routes.create({ name: "r", path }));
      assert.equal(err.field, "path", path);
    }
    const err = await rejection(() =>
      t.client.routes.create({ name: "r", subdomain: "Bad_Label" }),
    );
    assert.equal(err.field, "subdomain");
  });

  it("refuses unknown fields by name", async () => {
    const err = await rejection(() =>
      t.client.call("routers.create_route", { name: "x", path: "/x", colour: "red" } as never),
    );
    assert.equal(err.code, "APPGW_INVALID_REQUEST");
    assert.match(err.message, /colour/);
  });

  it("refuses to edit an enabled route without disabling it first, and changes nothing", async () => {
    const { id } = await t.client.routes.create({ name: "edit-me", path: "/edit-me" });
    const before = await t.client.routes.get(id);
    const err = await rejection(() => t.client.routes.update({ route: id, path: "/edited" }));
    assert.equal(err.code, "APPGW_ROUTE_ENABLED");
    assert.equal(err.statusCode, 409);
    assert.equal(err.subcode, 60);
    assert.deepEqual(await t.client.routes.get(id), before);
  });

  it("edits a disabled route, including switching it from a path to a subdomain", async () => {
    const { id } = await t.client.routes.create({ name: "switch", path: "/switch" });
    await t.client.routes.disable(id);
    await t.client.routes.update({ route: id, subdomain: "switch" });
    let route = await t.client.routes.get(id);
    assert.equal(route.path, null);
    assert.equal(route.subdomain, "switch");
    assert.equal(route.type, "subdomain");
    await t.client.routes.update({ route: id, name: "switched", authenticated: false });
    await t.client.routes.enable(id);
    route = await t.client.routes.get(id);
    assert.equal(route.name, "switched");
    assert.equal(route.authenticated, false);
    assert.equal(route.enabled, true);
  });

  it("names the route that already holds a path, name or subdomain", async () => {
    await t.client.routes.create({ name: "holder", path: "/held" });
    const path = await rejection(() => t.client.routes.create({ name: "other", path: "/held" }));
    assert.equal(path.code, "APPGW_ROUTE_PATH_TAKEN");
    assert.match(path.message, /route 'holder'/);
    assert.equal(path.details.holder, "holder");
    const name = await rejection(() =>
      t.client.routes.create({ name: "holder", path: "/elsewhere" }),
    );
    assert.equal(name.code, "APPGW_ROUTE_NAME_TAKEN");
  });

  it("filters get_routes by a name regex and refuses an invalid one", async () => {
    await t.client.routes.create({ name: "filter-a", path: "/filter-a" });
    await t.client.routes.create({ name: "filter-b", path: "/filter-b" });
    const found = await t.client.routes.list({ name: "^filter-" });
    assert.deepEqual(
      found.map((r) => r.name),
      ["filter-a", "filter-b"],
    );
    const err = await rejection(() => t.client.routes.list({ name: "(" }));
    assert.equal(err.field, "name");
  });

  it("deletes a route, after which it is not found", async () => {
    const { id } = await t.client.routes.create({ name: "gone", path: "/gone" });
    await t.client.routes.delete(id);
    assert.equal((await rejection(() => t.client.routes.get(id))).code, "APPGW_ROUTE_NOT_FOUND");
    assert.equal((await rejection(() => t.client.routes.delete(id))).code, "APPGW_ROUTE_NOT_FOUND");
  });

  it("grants and lists group access, and refuses groups on a public route", async () => {
    const { id: group } = await t.client.groups.create({ name: "ml-team" });
    const { id } = await t.client.routes.create({
      name: "guarded",
      path: "/guarded",
      access_groups: [group],
    });
    assert.deepEqual((await t.client.routes.get(id)).access_groups, [
      { id: group, name: "ml-team" },
    ]);
    assert.deepEqual(await t.client.groups.grant(id, "admins").then((r) => r.created), true);
    assert.deepEqual(await t.client.groups.grant(id, "admins").then((r) => r.created), false);
    const rules = await t.client.groups.rules({ route: id });
    assert.deepEqual(rules.map((r) => r.group.name).sort(), ["Admins", "ml-team"]);
    assert.equal(await t.client.groups.revoke({ route: id, group: "admins" }), 1);
    const err = await rejection(() =>
      t.client.routes.create({
        name: "public",
        path: "/public",
        authenticated: false,
        access_groups: [group],
      }),
    );
    assert.equal(err.field, "access_groups");
    const missing = await rejection(() =>
      t.client.routes.create({ name: "nogroup", path: "/nogroup", access_groups: ["nope"] }),
    );
    assert.equal(missing.code, "APPGW_GROUP_NOT_FOUND");
    assert.equal(await t.client.routes.findByName("nogroup"), undefined, "nothing half-created");
  });
});
