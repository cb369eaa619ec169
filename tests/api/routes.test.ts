import assert from "node:assert/strict";
import { EXTERNAL_SERVICE_TAG, RUNTIME } from "@appgw/sdk";
import {
  bearerAuth,
  rawCall,
  rejection,
  startTestGateway,
  type TestGateway,
} from "../helpers/gateway";

describe("control API: static routes (routers.*route*)", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const pathRoute = (name: string, extra: Record<string, unknown> = {}) =>
    t.client.routes.save({ name, type: "path", path: `/${name}`, ...extra });
  const get = async (id: string) => {
    const route = await t.client.routes.get(id);
    assert.ok(route, `route ${id} exists`);
    return route;
  };
  /** A router reporting that it routes `route` to these tasks. */
  const routing = (
    router: string,
    route: string,
    tasks: { id: string; upstream_server: string }[],
  ) =>
    t.client.routers.report({
      router,
      url: `http://${router}.example:8080`,
      status: { routes: [{ name: route, url: `http://${router}.example:8080/${route}`, tasks }] },
    });

  describe("create and read", () => {
    it("creates a path route with ClearML's defaults and read shape", async () => {
      const id = await pathRoute("llm");
      assert.match(id, /^[0-9a-f]{32}$/);
      const route = await get(id);
      const me = (await t.client.users.me()).user.id;
      assert.deepEqual(
        { ...route, created: undefined, last_update: undefined },
        {
          id,
          name: "llm",
          type: "path",
          path: "/llm",
          subdomain: null,
          enabled: true,
          auth_enabled: true,
          load_balancer: { enabled: true },
          user_groups: [],
          status: "available",
          urls: [],
          tasks: [],
          created: undefined,
          last_update: undefined,
          updated_by: me,
          managed_by: null,
        },
      );
      assert.ok(Date.parse(route.created ?? "") <= Date.parse(route.last_update ?? ""));
    });

    it("creates a subdomain route with the given options", async () => {
      const id = await t.client.routes.save({
        name: "notebooks",
        type: "subdomain",
        subdomain: "nb",
        enabled: false,
        auth_enabled: false,
        load_balancer: { enabled: false },
      });
      const route = await get(id);
      assert.equal(route.type, "subdomain");
      assert.equal(route.subdomain, "nb");
      assert.equal(route.path, null);
      assert.equal(route.enabled, false);
      assert.equal(route.auth_enabled, false);
      assert.deepEqual(route.load_balancer, { enabled: false });
    });

    it("refuses a path that does not begin with '/', naming the field (400/12)", async () => {
      const res = await rawCall(
        t.apiUrl,
        "routers.add_or_update_route",
        { name: "bad", type: "path", path: "llm" },
        await bearerAuth(t.client),
      );
      assert.equal(res.status, 400);
      assert.equal(res.json.meta.result_subcode, 12);
      assert.equal(res.json.meta.error_data.field, "path");
      assert.match(res.json.meta.result_msg, /^path: must begin with '\/'/);
    });

    it("needs the path of a path route and refuses the other field", async () => {
      const missing = await rejection(() => t.client.routes.save({ name: "np", type: "path" }));
      assert.equal(missing.field, "path");
      assert.match(missing.message, /required when type is 'path'/);
      const both = await rejection(() =>
        t.client.routes.save({ name: "both", type: "subdomain", subdomain: "both", path: "/both" }),
      );
      assert.equal(both.field, "path");
      assert.match(both.message, /must not be set when type is 'subdomain'/);
    });

    it("refuses reserved prefixes, traversal segments and bad subdomains", async () => {
      for (const path of ["/service/x", "/_appgw", "/a/../b", "/a/", "/a b"]) {
        const err = await rejection(() => t.client.routes.save({ name: "r", type: "path", path }));
        assert.equal(err.field, "path", path);
      }
      const err = await rejection(() =>
        t.client.routes.save({ name: "r", type: "subdomain", subdomain: "Bad_Label" }),
      );
      assert.equal(err.field, "subdomain");
    });

    it("refuses a name, path or subdomain another route holds (400/801), naming that route", async () => {
      const holder = await pathRoute("holder");
      const path = await rejection(() =>
        t.client.routes.save({ name: "other", type: "path", path: "/holder" }),
      );
      assert.deepEqual([path.statusCode, path.subcode, path.field], [400, 801, "path"]);
      assert.match(path.message, /route 'holder'/);
      assert.equal(path.details.holder, "holder");
      assert.equal(path.details.holder_id, holder);
      const name = await rejection(() =>
        t.client.routes.save({ name: "holder", type: "path", path: "/x" }),
      );
      assert.deepEqual([name.subcode, name.field], [801, "name"]);
      await t.client.routes.save({ name: "sub-holder", type: "subdomain", subdomain: "held" });
      const sub = await rejection(() =>
        t.client.routes.save({ name: "sub-other", type: "subdomain", subdomain: "held" }),
      );
      assert.deepEqual([sub.subcode, sub.field], [801, "subdomain"]);
    });

    it("refuses unknown user groups (400/10) and user groups on a route without authentication", async () => {
      const unknown = await rejection(() => pathRoute("nogroup", { user_groups: ["nope"] }));
      assert.deepEqual(
        [unknown.code, unknown.subcode, unknown.field],
        ["APPGW_INVALID_ID", 10, "user_groups"],
      );
      const open = await rejection(() =>
        pathRoute("open", { auth_enabled: false, user_groups: ["admins"] }),
      );
      assert.deepEqual([open.subcode, open.field], [12, "user_groups"]);
      assert.equal(await t.client.routes.findByName("nogroup"), undefined, "nothing half-created");
    });

    it("tells whether a name, path or subdomain is free (routers.check_route_name)", async () => {
      const id = await pathRoute("checked");
      assert.deepEqual(await t.client.routes.checkName("name", "checked"), {
        available: false,
        route: id,
      });
      assert.deepEqual(await t.client.routes.checkName("path", "/checked"), {
        available: false,
        route: id,
      });
      assert.deepEqual(await t.client.routes.checkName("path", "/free"), { available: true });
      assert.deepEqual(await t.client.routes.checkName("subdomain", "free"), { available: true });
    });
  });

  describe("update", () => {
    it("refuses to edit an enabled route until it is disabled (400/1101), and changes nothing", async () => {
      const id = await pathRoute("edit-me");
      const before = await get(id);
      const err = await rejection(() =>
        t.client.routes.save({ id, name: "edit-me", type: "path", path: "/edited" }),
      );
      assert.equal(err.code, "APPGW_BAD_REQUEST");
      assert.deepEqual([err.statusCode, err.subcode], [400, 1101]);
      assert.match(err.message, /disable it first \(routers\.set_route_enabled\)/);
      assert.deepEqual(await get(id), before);
    });

    it("edits a disabled route, keeping the fields left out, and switches it to a subdomain", async () => {
      const { id: group } = await t.client.groups.save({ name: "switch-team" });
      const id = await pathRoute("switch", {
        load_balancer: { enabled: false },
        user_groups: [group],
      });
      await t.client.routes.setEnabled(id, false);
      await t.client.routes.save({ id, name: "switched", type: "subdomain", subdomain: "switch" });
      let route = await get(id);
      assert.equal(route.name, "switched");
      assert.equal(route.type, "subdomain");
      assert.equal(route.path, null);
      assert.equal(route.subdomain, "switch");
      assert.equal(route.enabled, false, "enabled kept");
      assert.deepEqual(route.load_balancer, { enabled: false }, "load balancer kept");
      assert.deepEqual(route.user_groups, [group], "user groups kept");
      await t.client.routes.save({
        id,
        name: "switched",
        type: "subdomain",
        subdomain: "switch",
        user_groups: [],
        enabled: true,
      });
      route = await get(id);
      assert.deepEqual(route.user_groups, []);
      assert.equal(route.enabled, true);
    });

    it("refuses to update a route that does not exist (400/10)", async () => {
      const err = await rejection(() =>
        t.client.routes.save({ id: "0".repeat(32), name: "ghost", type: "path", path: "/ghost" }),
      );
      assert.deepEqual([err.code, err.subcode, err.field], ["APPGW_INVALID_ID", 10, "id"]);
      assert.equal(await t.client.routes.findByName("ghost"), undefined);
    });

    it("checks user groups against the stored auth setting on update", async () => {
      const id = await pathRoute("public-later", { auth_enabled: false });
      await t.client.routes.setEnabled(id, false);
      const err = await rejection(() =>
        t.client.routes.save({
          id,
          name: "public-later",
          type: "path",
          path: "/public-later",
          user_groups: ["admins"],
        }),
      );
      assert.equal(err.field, "user_groups");
    });
  });

  describe("enable, disable and delete", () => {
    it("refuses to disable an active route without force (400/1102)", async () => {
      const id = await pathRoute("busy");
      await routing("busy-router", "busy", [{ id: "t1", upstream_server: "10.0.0.1:80" }]);
      assert.equal((await get(id)).status, "active");
      const err = await rejection(() => t.client.routes.setEnabled(id, false));
      assert.deepEqual([err.statusCode, err.subcode], [400, 1102]);
      assert.equal((await get(id)).enabled, true);
      await t.client.routes.setEnabled(id, false, true);
      assert.equal((await get(id)).enabled, false);
      await t.client.routers.unregister("busy-router");
    });

    it("refuses to enable or disable a route that does not exist (400/10)", async () => {
      const err = await rejection(() => t.client.routes.setEnabled("0".repeat(32), true));
      assert.deepEqual([err.subcode, err.field], [10, "id"]);
    });

    it("deletes routes, ignoring unknown ids", async () => {
      const a = await pathRoute("gone-a");
      const b = await pathRoute("gone-b");
      assert.equal(await t.client.routes.delete([a, b, "no-such-route"]), 2);
      assert.equal(await t.client.routes.get(a), undefined);
      assert.equal(await t.client.routes.delete([a]), 0);
    });

    it("deletes nothing when one of the routes is active, unless forced", async () => {
      const idle = await pathRoute("idle");
      const active = await pathRoute("live");
      await routing("live-router", "live", [{ id: "t2", upstream_server: "10.0.0.2:80" }]);
      const err = await rejection(() => t.client.routes.delete([idle, active]));
      assert.equal(err.subcode, 1102);
      assert.match(err.message, /'live'/);
      assert.ok(await t.client.routes.get(idle), "nothing deleted");
      assert.equal(await t.client.routes.delete([idle, active], true), 2);
      await t.client.routers.unregister("live-router");
    });
  });

  describe("get_routes", () => {
    before(async () => {
      await pathRoute("filter-a");
      await pathRoute("filter-b", { enabled: false, auth_enabled: false });
      await t.client.routes.save({ name: "filter-c", type: "subdomain", subdomain: "filter-c" });
    });
    const names = async (filter: Parameters<typeof t.client.routes.list>[0]) =>
      (await t.client.routes.list(filter)).map((r) => r.name);

    it("filters by name, path and subdomain regexes, and refuses an invalid one", async () => {
      assert.deepEqual(await names({ name: "^filter-" }), ["filter-a", "filter-b", "filter-c"]);
      assert.deepEqual(await names({ path: "^/filter-[ab]$" }), ["filter-a", "filter-b"]);
      assert.deepEqual(await names({ subdomain: "^filter" }), ["filter-c"]);
      const err = await rejection(() => t.client.routes.list({ name: "(" }));
      assert.equal(err.field, "name");
    });

    it("filters by ids, enabled, auth_enabled and type", async () => {
      const [a] = await t.client.routes.list({ name: "^filter-a$" });
      assert.deepEqual(await names({ id: [a?.id ?? "", "no-such-route"] }), ["filter-a"]);
      assert.deepEqual(await names({ name: "^filter-", enabled: false }), ["filter-b"]);
      assert.deepEqual(await names({ name: "^filter-", auth_enabled: true }), [
        "filter-a",
        "filter-c",
      ]);
      assert.deepEqual(await names({ name: "^filter-", type: ["subdomain"] }), ["filter-c"]);
      assert.deepEqual(await names({ name: "^filter-", type: ["path", "subdomain"] }), [
        "filter-a",
        "filter-b",
        "filter-c",
      ]);
    });

    it("orders, pages and trims the answer, always keeping the id", async () => {
      assert.deepEqual(await names({ name: "^filter-", order_by: ["-name"] }), [
        "filter-c",
        "filter-b",
        "filter-a",
      ]);
      assert.deepEqual(
        await names({ name: "^filter-", order_by: ["name"], page: 1, page_size: 2 }),
        ["filter-c"],
      );
      // Trimmed routes lack fields the SDK's route schema requires: read them off the wire.
      const res = await rawCall(
        t.apiUrl,
        "routers.get_routes",
        { name: "^filter-a$", only_fields: ["name", "load_balancer.enabled"] },
        await bearerAuth(t.client),
      );
      const [trimmed] = res.json.data.routes;
      assert.deepEqual(trimmed, {
        id: trimmed.id,
        name: "filter-a",
        load_balancer: { enabled: true },
      });
      // The SDK asks for the fields every route has along with those named, so it can read them.
      const [viaSdk] = await t.client.routes.list({
        name: "^filter-a$",
        only_fields: ["load_balancer.enabled"],
      });
      assert.deepEqual(
        { name: viaSdk?.name, type: viaSdk?.type, lb: viaSdk?.load_balancer },
        { name: "filter-a", type: "path", lb: { enabled: true } },
      );
    });
  });

  describe("derived fields", () => {
    it("lists the running tasks that ask for the route, with the targets and URLs routers report", async () => {
      const id = await pathRoute("served");
      const queue = await t.client.queues.ensure("served-q");
      const project = (await t.client.call("projects.create", { name: "p1" })).id;
      const ask = async (name: string, key: string) => {
        const task = await t.client.tasks.create({
          name,
          type: "application",
          project,
          system_tags: [EXTERNAL_SERVICE_TAG],
        });
        await t.client.tasks.editRuntime(task, { [key]: "served" });
        await t.client.tasks.enqueue(task, queue);
        await t.client.tasks.report("started", task);
        return task;
      };
      const first = await ask("first", RUNTIME.modeParam);
      const second = await ask("second", `${RUNTIME.modeParam}__api`);
      let route = await get(id);
      assert.equal(route.status, "available", "no router routes it yet");
      assert.deepEqual(route.tasks, [
        { id: first, name: "first", project, target: null },
        { id: second, name: "second", project, target: null },
      ]);
      assert.deepEqual(route.urls, []);

      await routing("served-router", "served", [{ id: first, upstream_server: "10.0.0.9:8000" }]);
      route = await get(id);
      assert.equal(route.status, "active");
      assert.deepEqual(route.urls, ["http://served-router.example:8080/served"]);
      assert.equal(route.tasks?.find((x) => x.id === first)?.target, "10.0.0.9:8000");

      await t.client.tasks.report("completed", first);
      route = await get(id);
      assert.deepEqual(
        route.tasks?.map((x) => x.name),
        ["second"],
        "a task that ended no longer asks for the route",
      );
      await t.client.routers.unregister("served-router");
      route = await get(id);
      assert.equal(route.status, "available", "no router online reports it");
      assert.deepEqual(route.urls, []);
    });

    it("refuses a second running task on a single-endpoint route (400/1103)", async () => {
      await pathRoute("single", { load_balancer: { enabled: false } });
      const queue = await t.client.queues.ensure("single-q");
      const ids: string[] = [];
      for (const name of ["one", "two"]) {
        const task = await t.client.tasks.create({ name, type: "application" });
        await t.client.tasks.enqueue(task, queue);
        await t.client.tasks.report("started", task);
        ids.push(task);
      }
      await t.client.tasks.editRuntime(ids[0] as string, { [RUNTIME.modeParam]: "single" });
      const err = await rejection(() =>
        t.client.tasks.editRuntime(ids[1] as string, { [RUNTIME.modeParam]: "single" }),
      );
      assert.deepEqual([err.statusCode, err.subcode], [400, 1103]);
      assert.match(err.message, /'one'/);
    });
  });
});
