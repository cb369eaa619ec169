// The SDK against ClearML's documented API, with no gateway of ours: a fake server answers with
// bodies shaped exactly as the reference documents them (tests/sdk/reference.ts),
// and every test checks the request the SDK sent and what it made of the answer.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AuthenticationError,
  BadResponseError,
  ConnectionError,
  DOCUMENTED_ACTIONS,
  InternalError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  type AppGatewayClient,
  type AppGatewayError,
} from "@appgw/sdk";
import {
  EXAMPLES,
  FakeClearML,
  GROUP_ID,
  KEYS,
  QUEUE_ID,
  ROUTE,
  ROUTE_ID,
  RULE_ID,
  TASK_ID,
  USER_ID,
  fail,
  jwt,
  ok,
  rejection,
  type Answer,
} from "./fake-clearml";

const basic = `Basic ${Buffer.from(`${KEYS.accessKey}:${KEYS.secretKey}`).toString("base64")}`;

describe("SDK contract with ClearML's documented API (fake ClearML server)", () => {
  let fake: FakeClearML;
  let client: AppGatewayClient;

  before(async () => {
    fake = await FakeClearML.start();
  });
  beforeEach(() => {
    fake.reset();
    client = fake.client();
  });
  after(() => fake.stop());

  /** A client with a fixed token the server accepts and no credentials: it never logs in. */
  function tokenClient(opts = {}): AppGatewayClient {
    fake.tokens.add("fixed-token");
    return fake.client({
      accessKey: undefined,
      secretKey: undefined,
      token: "fixed-token",
      ...opts,
    });
  }

  describe("login and tokens", () => {
    it("logs in with HTTP Basic on auth.login, then sends Bearer <token> on every call", async () => {
      const info = await client.serverInfo();
      assert.deepEqual(fake.actions(), ["auth.login", "server.info"]);
      const [login, call] = fake.requests;
      assert.equal(login!.path, "/auth.login");
      assert.equal(login!.headers.authorization, basic);
      assert.deepEqual(login!.body, {});
      assert.equal(call!.method, "POST");
      assert.equal(call!.path, "/server.info");
      assert.equal(call!.headers.authorization, "Bearer token-1");
      assert.match(String(call!.headers["content-type"]), /^application\/json/);
      assert.deepEqual(call!.body, {});
      assert.equal(info.version, "3.26.0");
      assert.equal(info.api_version, "2.31");
      assert.equal(info.uid, "ce4e1a2b", "unknown fields pass through");
    });

    it("works with an auth.login answer of {token} only, logging in once for many calls", async () => {
      fake.on("auth.login", fake.grant("opaque-token-without-expiry"));
      assert.equal(await client.token(), "opaque-token-without-expiry");
      await client.routes.list();
      await client.groups.list();
      assert.equal(fake.calls("auth.login").length, 1);
      assert.equal(
        fake.only("permissions.get_user_groups").headers.authorization,
        "Bearer opaque-token-without-expiry",
      );
    });

    it("logs in again once on a 401/30 answer and retries the call with the new token", async () => {
      await client.serverInfo();
      fake.tokens.clear(); // token-1 expires on the server
      const routes = await client.routes.list();
      assert.equal(routes[0]!.id, ROUTE_ID);
      assert.deepEqual(fake.actions(), [
        "auth.login",
        "server.info",
        "routers.get_routes",
        "auth.login",
        "routers.get_routes",
      ]);
      const [first, retry] = fake.calls("routers.get_routes");
      assert.equal(first!.headers.authorization, "Bearer token-1");
      assert.equal(retry!.headers.authorization, "Bearer token-2");
      assert.deepEqual(retry!.body, first!.body);
    });

    it("renews only once: a call that answers 401 again fails with its code", async () => {
      fake.on("routers.get_routes", fail(401, 31, "Blocked token"));
      const err = await rejection(() => client.routes.list());
      assert.equal(err.code, "APPGW_BLOCKED_TOKEN");
      assert.equal(fake.calls("auth.login").length, 2);
      assert.equal(fake.calls("routers.get_routes").length, 2);
    });

    it("renews a JWT token whose exp is within a minute before using it", async () => {
      const soon = jwt(Math.floor(Date.now() / 1000) + 30);
      fake.tokens.add(soon);
      await fake.client({ token: soon }).serverInfo();
      assert.deepEqual(fake.actions(), ["auth.login", "server.info"]);
      assert.equal(fake.only("server.info").headers.authorization, "Bearer token-1");
    });

    it("uses a JWT token whose exp is more than a minute away without logging in", async () => {
      const later = jwt(Math.floor(Date.now() / 1000) + 3600);
      fake.tokens.add(later);
      await fake.client({ token: later }).serverInfo();
      assert.deepEqual(fake.actions(), ["server.info"]);
      assert.equal(fake.only("server.info").headers.authorization, `Bearer ${later}`);
    });

    it("without credentials, a 401 on a given token is returned as is, with no login", async () => {
      const c = fake.client({ accessKey: undefined, secretKey: undefined, token: "revoked" });
      const err = await rejection(() => c.routes.list());
      assert.equal(err.code, "APPGW_INVALID_TOKEN");
      assert.deepEqual(fake.actions(), ["routers.get_routes"]);
    });

    it("fails on wrong credentials (401/22) after a single login attempt", async () => {
      const c = fake.client({ secretKey: "wrong" });
      const err = await rejection(() => c.routes.list());
      assert.equal(err.code, "APPGW_INVALID_CREDENTIALS");
      assert.equal(err.endpoint, "auth.login");
      assert.deepEqual(fake.actions(), ["auth.login"]);
    });

    it("refuses an auth.login answer without a token, naming the field", async () => {
      fake.on("auth.login", ok({ expires_in: 3600 }));
      const err = await rejection(() => client.serverInfo());
      assert.equal(err.code, "APPGW_BAD_RESPONSE");
      assert.equal(err.field, "token");
      assert.match(err.message, /auth\.login: response field 'token'/);
      assert.deepEqual(fake.actions(), ["auth.login"]);
    });
  });

  describe("routes (routers.*route*)", () => {
    it("save creates with routers.add_or_update_route and no id, returning the new id", async () => {
      const id = await client.routes.save({
        name: "llm-api",
        type: "path",
        path: "/llm",
        enabled: false,
        auth_enabled: true,
        load_balancer: { enabled: false },
        user_groups: [GROUP_ID],
      });
      assert.equal(id, ROUTE_ID);
      assert.deepEqual(fake.only("routers.add_or_update_route").body, {
        name: "llm-api",
        type: "path",
        path: "/llm",
        enabled: false,
        auth_enabled: true,
        load_balancer: { enabled: false },
        user_groups: [GROUP_ID],
      });
    });

    it("save updates when given an id, sending it", async () => {
      await client.routes.save({ id: ROUTE_ID, name: "web", type: "subdomain", subdomain: "web" });
      assert.deepEqual(fake.only("routers.add_or_update_route").body, {
        id: ROUTE_ID,
        name: "web",
        type: "subdomain",
        subdomain: "web",
      });
    });

    it("setEnabled sends {id, enabled}, and force only when asked", async () => {
      await client.routes.setEnabled(ROUTE_ID, false);
      await client.routes.setEnabled(ROUTE_ID, false, true);
      const [plain, forced] = fake.calls("routers.set_route_enabled");
      assert.deepEqual(plain!.body, { id: ROUTE_ID, enabled: false });
      assert.deepEqual(forced!.body, { id: ROUTE_ID, enabled: false, force: true });
    });

    it("delete sends {ids, force} and returns the documented deleted count", async () => {
      fake.on("routers.delete_routes", ok({ deleted: 2 }));
      assert.equal(await client.routes.delete([ROUTE_ID, "other"], true), 2);
      assert.deepEqual(fake.only("routers.delete_routes").body, {
        ids: [ROUTE_ID, "other"],
        force: true,
      });
    });

    it("list parses the documented route: updated_by a string, urls strings, tasks, extras", async () => {
      const routes = await client.routes.list({ enabled: true, order_by: ["-last_update"] });
      assert.deepEqual(fake.only("routers.get_routes").body, {
        enabled: true,
        order_by: ["-last_update"],
      });
      assert.deepEqual(routes, [ROUTE], "every documented field as sent, the unknown one too");
      const [route] = routes;
      assert.equal(route!.updated_by, USER_ID);
      assert.deepEqual(route!.urls, ["https://router-1.example.com/llm"]);
      assert.equal(route!.tasks![0]!.target, "10.0.0.7:8000");
      assert.equal(route!.status, "active");
    });

    it("list fills the documented defaults of enabled and auth_enabled", async () => {
      fake.on("routers.get_routes", ok({ routes: [{ id: ROUTE_ID, name: "r", type: "path" }] }));
      const [route] = await client.routes.list();
      assert.equal(route!.enabled, true);
      assert.equal(route!.auth_enabled, true);
    });

    it("reads enum values it does not know (a newer server) instead of failing the whole listing", async () => {
      fake.on(
        "routers.get_routes",
        ok({ routes: [ROUTE, { ...ROUTE, id: "b".repeat(32), type: "tcp", status: "pending" }] }),
      );
      const routes = await client.routes.list();
      assert.deepEqual(
        routes.map((r) => [r.type, r.status]),
        [
          [ROUTE.type, ROUTE.status],
          ["tcp", "pending"],
        ],
      );
      fake.on(
        "permissions.get_access_rules",
        ok({ rules: [{ id: "r1", entity_type: "endpoint", access_permission: "admin" }] }),
      );
      assert.equal((await client.accessRules.list())[0]?.entity_type, "endpoint");
    });

    it("get reads back by id with get_routes {id: [id]}, undefined when not listed", async () => {
      assert.equal((await client.routes.get(ROUTE_ID))?.name, "llm-api");
      fake.on("routers.get_routes", ok({ routes: [] }));
      assert.equal(await client.routes.get("0".repeat(32)), undefined);
      const [first, second] = fake.calls("routers.get_routes");
      assert.deepEqual(first!.body, { id: [ROUTE_ID] });
      assert.deepEqual(second!.body, { id: ["0".repeat(32)] });
    });

    it("findByName sends an anchored, escaped regex and keeps only the exact name", async () => {
      const exact = { ...ROUTE, name: "a.b (1)" };
      fake.on(
        "routers.get_routes",
        ok({ routes: [{ ...ROUTE, id: "x", name: "aXb (1)" }, exact] }),
      );
      assert.equal((await client.routes.findByName("a.b (1)"))?.id, ROUTE_ID);
      assert.deepEqual(fake.only("routers.get_routes").body, { name: "^a\\.b \\(1\\)$" });
    });

    it("checkName sends {field, value} and returns the undocumented object as is", async () => {
      fake.on("routers.check_route_name", ok({ available: false, route: ROUTE_ID }));
      assert.deepEqual(await client.routes.checkName("path", "/llm"), {
        available: false,
        route: ROUTE_ID,
      });
      assert.deepEqual(fake.only("routers.check_route_name").body, {
        field: "path",
        value: "/llm",
      });
    });

    const badRoutes: [string, Record<string, unknown>, string][] = [
      ["updated_by as an object", { updated_by: { id: USER_ID } }, "routes.0.updated_by"],
      ["urls as a string", { urls: "https://router-1.example.com/llm" }, "routes.0.urls"],
      ["no name", { name: undefined }, "routes.0.name"],
      ["a type that is not a string", { type: 7 }, "routes.0.type"],
      ["a task without id", { tasks: [{ name: "t" }] }, "routes.0.tasks.0.id"],
    ];
    for (const [what, change, field] of badRoutes) {
      it(`refuses a route with ${what} as APPGW_BAD_RESPONSE naming ${field}`, async () => {
        fake.on("routers.get_routes", ok({ routes: [{ ...ROUTE, ...change }] }));
        const err = await rejection(() => client.routes.list());
        assert.ok(err instanceof BadResponseError);
        assert.equal(err.code, "APPGW_BAD_RESPONSE");
        assert.equal(err.field, field);
        assert.ok(err.message.includes(`'${field}'`), err.message);
        assert.equal(err.endpoint, "routers.get_routes");
      });
    }

    it("refuses an add_or_update_route answer without id", async () => {
      fake.on("routers.add_or_update_route", ok({}));
      const err = await rejection(() =>
        client.routes.save({ name: "r", type: "path", path: "/r" }),
      );
      assert.equal(err.code, "APPGW_BAD_RESPONSE");
      assert.equal(err.field, "id");
    });
  });

  describe("groups and access rules (permissions.*)", () => {
    it("save sends add_or_update_user_group with the whole member list", async () => {
      const saved = await client.groups.save({
        id: GROUP_ID,
        name: "ml-team",
        description: "ML engineers",
        users: [USER_ID],
      });
      assert.deepEqual(fake.only("permissions.add_or_update_user_group").body, {
        id: GROUP_ID,
        name: "ml-team",
        description: "ML engineers",
        users: [USER_ID],
      });
      assert.deepEqual(saved, { id: GROUP_ID, name: "ml-team", system: false, assignable: true });
    });

    it("list sends {} for all groups or {groups} for some, and parses members", async () => {
      const all = await client.groups.list();
      await client.groups.list([GROUP_ID]);
      const [first, second] = fake.calls("permissions.get_user_groups");
      assert.deepEqual(first!.body, {});
      assert.deepEqual(second!.body, { groups: [GROUP_ID] });
      assert.equal(all.length, 2);
      assert.deepEqual(all[0]!.users, [{ id: USER_ID, name: "alice", email: "alice@example.com" }]);
      assert.equal(all[1]!.system, true);
      assert.equal(all[1]!.assignable, false);
    });

    it("get and findByName list every group (there is no lookup) and pick one", async () => {
      assert.equal((await client.groups.get(GROUP_ID))?.name, "ml-team");
      assert.equal((await client.groups.findByName("Users"))?.system, true);
      assert.equal((await client.groups.findByName("ML-TEAM"))?.id, GROUP_ID, "whatever the case");
      assert.equal(await client.groups.findByName("nobody"), undefined);
      for (const call of fake.calls("permissions.get_user_groups")) assert.deepEqual(call.body, {});
    });

    it("defaults system to false and assignable to true when a group leaves them out", async () => {
      fake.on("permissions.get_user_groups", ok({ groups: [{ id: GROUP_ID, name: "g" }] }));
      const [g] = await client.groups.list();
      assert.equal(g!.system, false);
      assert.equal(g!.assignable, true);
    });

    it("delete sends {groups} and returns deleted", async () => {
      assert.equal(await client.groups.delete([GROUP_ID]), 1);
      assert.deepEqual(fake.only("permissions.delete_user_groups").body, { groups: [GROUP_ID] });
    });

    it("refuses a group without name as APPGW_BAD_RESPONSE naming groups.0.name", async () => {
      fake.on("permissions.get_user_groups", ok({ groups: [{ id: GROUP_ID }] }));
      const err = await rejection(() => client.groups.list());
      assert.equal(err.code, "APPGW_BAD_RESPONSE");
      assert.equal(err.field, "groups.0.name");
    });

    it("accessRules.save sends every required field and returns the id", async () => {
      const body = {
        name: "llm-api access",
        description: "ml-team may call llm-api",
        access_permission: "read_write" as const,
        entity_type: "route" as const,
        entity_id: ROUTE_ID,
        users: [],
        groups: [GROUP_ID],
      };
      assert.equal(await client.accessRules.save(body), RULE_ID);
      assert.deepEqual(fake.only("permissions.add_or_update_access_rule").body, body);
    });

    it("accessRules.list sends {rules} and parses the documented rule", async () => {
      const [rule] = await client.accessRules.list([RULE_ID]);
      assert.deepEqual(fake.only("permissions.get_access_rules").body, { rules: [RULE_ID] });
      assert.deepEqual(rule, EXAMPLES["permissions.get_access_rules"].rules[0]);
    });

    it("accessRules.delete sends {rules} and returns deleted", async () => {
      assert.equal(await client.accessRules.delete([RULE_ID]), 1);
      assert.deepEqual(fake.only("permissions.delete_access_rules").body, { rules: [RULE_ID] });
    });
  });

  describe("routers (registered routers)", () => {
    it("list sends get_task_routers and parses router, url, uptime, routes", async () => {
      const routers = await client.routers.list();
      assert.deepEqual(fake.only("routers.get_task_routers").body, {});
      assert.deepEqual(routers, EXAMPLES["routers.get_task_routers"].routers);
      assert.equal((await client.routers.find("router-1"))?.url, "https://router-1.example.com");
      assert.equal(await client.routers.find("router-2"), undefined);
    });

    it("report sends task_router_report as given; unregister sends {router}", async () => {
      const report = {
        router: "router-1",
        url: "https://router-1.example.com",
        version: "1.4.0",
        timeout: 60,
        status: {
          last_update_timestamp: 1746180000,
          uptime: 10,
          tasks: [TASK_ID],
          routes: [
            {
              name: "llm-api",
              url: "https://router-1.example.com/llm",
              tasks: [{ id: TASK_ID, upstream_server: "10.0.0.7:8000" }],
            },
          ],
        },
      };
      await client.routers.report(report);
      await client.routers.unregister("router-1");
      assert.deepEqual(fake.only("routers.task_router_report").body, report);
      assert.deepEqual(fake.only("routers.unregister").body, { router: "router-1" });
    });

    it("refuses a router without url as APPGW_BAD_RESPONSE naming routers.0.url", async () => {
      fake.on("routers.get_task_routers", ok({ routers: [{ router: "router-1", url: 8080 }] }));
      const err = await rejection(() => client.routers.list());
      assert.equal(err.code, "APPGW_BAD_RESPONSE");
      assert.equal(err.field, "routers.0.url");
    });
  });

  describe("tasks and their logs (tasks.*, events.*)", () => {
    it("create sends the documented fields and returns the id", async () => {
      const body = {
        name: "router test",
        type: "application",
        system_tags: ["appgw_router_test"],
        script: { entry_point: "appgw_echo.py", binary: "python3", diff: "print(1)" },
        hyperparams: { General: { nonce: { section: "General", name: "nonce", value: "n" } } },
      };
      assert.equal(await client.tasks.create(body), TASK_ID);
      assert.deepEqual(fake.only("tasks.create").body, body);
    });

    it("get sends {task} and returns the documented task", async () => {
      const task = await client.tasks.get(TASK_ID);
      assert.deepEqual(fake.only("tasks.get_by_id").body, { task: TASK_ID });
      assert.deepEqual(task, EXAMPLES["tasks.get_by_id"].task);
    });

    it("list accepts tasks trimmed by only_fields to a few fields", async () => {
      fake.on(
        "tasks.get_all",
        ok({ tasks: [{ id: TASK_ID, runtime: { _PORT: "8000" } }, { id: "t2" }], scroll_id: "s" }),
      );
      const filter = {
        system_tags: ["external_service"],
        status: ["in_progress" as const],
        only_fields: ["id", "runtime"],
      };
      const tasks = await client.tasks.list(filter);
      assert.deepEqual(fake.only("tasks.get_all").body, filter);
      assert.deepEqual(tasks, [{ id: TASK_ID, runtime: { _PORT: "8000" } }, { id: "t2" }]);
    });

    it("refuses a task answer without task as APPGW_BAD_RESPONSE naming task", async () => {
      fake.on("tasks.get_by_id", ok({}));
      const err = await rejection(() => client.tasks.get(TASK_ID));
      assert.equal(err.code, "APPGW_BAD_RESPONSE");
      assert.equal(err.field, "task");
    });

    it("edit sends the whole runtime map with force", async () => {
      const body = { task: TASK_ID, force: true, runtime: { _SERVICE: "EXTERNAL", _PORT: "80" } };
      await client.tasks.edit(body);
      assert.deepEqual(fake.only("tasks.edit").body, body);
    });

    it("editRuntime sends add_or_update, remove only when given, and force", async () => {
      await client.tasks.editRuntime(TASK_ID, { endpoint: "https://x" }, ["_ROUTER"]);
      await client.tasks.editRuntime(TASK_ID, { a: "1" }, [], false);
      const [first, second] = fake.calls("tasks.edit_runtime");
      assert.deepEqual(first!.body, {
        task: TASK_ID,
        add_or_update: { endpoint: "https://x" },
        remove: ["_ROUTER"],
        force: true,
      });
      assert.deepEqual(second!.body, { task: TASK_ID, add_or_update: { a: "1" }, force: false });
    });

    it("enqueue sends {task, queue}; stop sends force and status_reason only when given", async () => {
      await client.tasks.enqueue(TASK_ID, QUEUE_ID);
      await client.tasks.stop(TASK_ID);
      await client.tasks.stop(TASK_ID, "test over", true);
      assert.deepEqual(fake.only("tasks.enqueue").body, { task: TASK_ID, queue: QUEUE_ID });
      const [plain, forced] = fake.calls("tasks.stop");
      assert.deepEqual(plain!.body, { task: TASK_ID });
      assert.deepEqual(forced!.body, { task: TASK_ID, status_reason: "test over", force: true });
    });

    it("report sends tasks.<status> with the status reason and message", async () => {
      for (const status of ["started", "stopped", "completed", "failed"] as const) {
        await client.tasks.report(status, TASK_ID, { status_reason: `is ${status}` });
        assert.deepEqual(fake.only(`tasks.${status}`).body, {
          task: TASK_ID,
          status_reason: `is ${status}`,
        });
      }
    });

    it("log sends events.add of type log; getLog reads events.get_task_log oldest first", async () => {
      const before = Date.now();
      await client.tasks.log(TASK_ID, "hello", "gpu-01:0");
      const add = fake.only("events.add").body;
      assert.deepEqual(
        { ...add, timestamp: 0 },
        {
          type: "log",
          task: TASK_ID,
          msg: "hello",
          timestamp: 0,
          worker: "gpu-01:0",
        },
      );
      assert.ok(add.timestamp >= before && add.timestamp <= Date.now(), "epoch milliseconds");
      assert.deepEqual(await client.tasks.getLog(TASK_ID), ["serving on :8000", "ready"]);
      assert.deepEqual(fake.only("events.get_task_log").body, {
        task: TASK_ID,
        batch_size: 1000,
        navigate_earlier: false,
      });
    });
  });

  describe("queues (queues.*)", () => {
    it("create sends {name}; get sends {queue}; delete sends force only when asked", async () => {
      assert.equal(await client.queues.create("gpu"), QUEUE_ID);
      assert.equal((await client.queues.get(QUEUE_ID)).name, "default");
      await client.queues.delete(QUEUE_ID);
      await client.queues.delete(QUEUE_ID, true);
      assert.deepEqual(fake.only("queues.create").body, { name: "gpu" });
      assert.deepEqual(fake.only("queues.get_by_id").body, { queue: QUEUE_ID });
      const [plain, forced] = fake.calls("queues.delete");
      assert.deepEqual(plain!.body, { queue: QUEUE_ID });
      assert.deepEqual(forced!.body, { queue: QUEUE_ID, force: true });
    });

    it("list parses the documented queue with its entries", async () => {
      const queues = await client.queues.list({ only_fields: ["id", "name", "entries"] });
      assert.deepEqual(fake.only("queues.get_all").body, {
        only_fields: ["id", "name", "entries"],
      });
      assert.deepEqual(queues, EXAMPLES["queues.get_all"].queues);
    });

    it("ensure finds the queue by exact name and creates it only when missing", async () => {
      assert.equal(await client.queues.ensure("default"), QUEUE_ID);
      assert.deepEqual(fake.only("queues.get_all").body, { name: "^default$" });
      assert.equal(fake.calls("queues.create").length, 0);
      fake.on("queues.get_all", ok({ queues: [] }));
      fake.on("queues.create", ok({ id: "b".repeat(32) }));
      assert.equal(await client.queues.ensure("gpu.a100"), "b".repeat(32));
      assert.deepEqual(fake.calls("queues.get_all")[1]!.body, { name: "^gpu\\.a100$" });
      assert.deepEqual(fake.only("queues.create").body, { name: "gpu.a100" });
    });

    it("next returns the entry's task, or null for an empty queue", async () => {
      assert.equal(await client.queues.next(QUEUE_ID), TASK_ID);
      assert.deepEqual(fake.only("queues.get_next_task").body, { queue: QUEUE_ID });
      fake.on("queues.get_next_task", ok({}));
      assert.equal(await client.queues.next(QUEUE_ID), null);
      fake.on("queues.get_next_task", ok({ entry: null }));
      assert.equal(await client.queues.next(QUEUE_ID), null);
    });
  });

  describe("workers (workers.*)", () => {
    it("register, statusReport and unregister send the documented fields", async () => {
      const before = Math.floor(Date.now() / 1000);
      await client.workers.register("gpu-01:0", [QUEUE_ID], 600);
      await client.workers.statusReport("gpu-01:0", TASK_ID, QUEUE_ID);
      await client.workers.statusReport("gpu-01:0");
      await client.workers.unregister("gpu-01:0");
      assert.deepEqual(fake.only("workers.register").body, {
        worker: "gpu-01:0",
        queues: [QUEUE_ID],
        timeout: 600,
      });
      const [busy, idle] = fake.calls("workers.status_report");
      assert.ok(Number.isInteger(busy!.body.timestamp) && busy!.body.timestamp >= before);
      assert.deepEqual(busy!.body, {
        worker: "gpu-01:0",
        timestamp: busy!.body.timestamp,
        task: TASK_ID,
        queue: QUEUE_ID,
      });
      assert.deepEqual(Object.keys(idle!.body).sort(), ["timestamp", "worker"]);
      assert.deepEqual(fake.only("workers.unregister").body, { worker: "gpu-01:0" });
    });

    it("list sends last_seen only when given and parses the documented worker", async () => {
      const workers = await client.workers.list();
      await client.workers.list(0);
      const [all, filtered] = fake.calls("workers.get_all");
      assert.deepEqual(all!.body, {});
      assert.deepEqual(filtered!.body, { last_seen: 0 });
      assert.deepEqual(workers, EXAMPLES["workers.get_all"].workers);
    });
  });

  describe("users and auth (users.*, auth.*)", () => {
    it("users.list, findByName and byName send anchored regex filters, one name each", async () => {
      fake.on(
        "users.get_all",
        ok({
          users: [
            { id: USER_ID, name: "alice" },
            { id: "u2", name: "b.c" },
            { id: "u3", name: "alice2" },
          ],
        }),
      );
      assert.equal((await client.users.findByName("alice"))?.id, USER_ID);
      const byName = await client.users.byName(["alice", "b.c", "nobody"]);
      assert.deepEqual([...byName.keys()], ["alice", "b.c"]);
      const [find, ...each] = fake.calls("users.get_all");
      assert.deepEqual(find!.body, { name: "^alice$" });
      assert.deepEqual(each.map((c) => JSON.stringify(c.body)).sort(), [
        '{"name":"^alice$"}',
        '{"name":"^b\\\\.c$"}',
        '{"name":"^nobody$"}',
      ]);
      assert.equal((await client.users.byName([])).size, 0);
      assert.equal(fake.calls("users.get_all").length, 4, "no names, no request");
    });

    it("users.list parses the documented user; me parses get_current_user", async () => {
      const [u] = await client.users.list({ id: [USER_ID], include_auth: true });
      assert.deepEqual(fake.only("users.get_all").body, { id: [USER_ID], include_auth: true });
      assert.deepEqual(u, EXAMPLES["users.get_all"].users[0]);
      const me = await client.users.me();
      assert.deepEqual(fake.only("users.get_current_user").body, {});
      assert.equal(me.user.name, "alice");
      assert.deepEqual(me.sec_groups, [{ id: GROUP_ID, name: "ml-team" }]);
    });

    it("users.delete sends {user}", async () => {
      await client.users.delete(USER_ID);
      assert.deepEqual(fake.only("users.delete").body, { user: USER_ID });
    });

    it("createServiceUser returns the id and the one-time key pair", async () => {
      const made = await client.auth.createServiceUser({ name: "router-svc" });
      assert.deepEqual(fake.only("auth.create_service_user").body, { name: "router-svc" });
      assert.equal(made.credentials.secret_key, "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t");
      assert.equal(made.id, "6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d");
    });

    it("createCredentials and revokeCredentials send the documented fields", async () => {
      const creds = await client.auth.createCredentials({ label: "ci", expiration_sec: 86400 });
      assert.equal(creds.access_key, "GK4Q1UJ3T9WXAZB7");
      assert.equal(await client.auth.revokeCredentials("GK4Q1UJ3T9WXAZB7"), 1);
      assert.deepEqual(fake.only("auth.create_credentials").body, {
        label: "ci",
        expiration_sec: 86400,
      });
      assert.deepEqual(fake.only("auth.revoke_credentials").body, {
        access_key: "GK4Q1UJ3T9WXAZB7",
      });
    });

    it("refuses credentials without secret_key, naming credentials.secret_key", async () => {
      fake.on("auth.create_credentials", ok({ credentials: { access_key: "AK" } }));
      const err = await rejection(() => client.auth.createCredentials());
      assert.equal(err.code, "APPGW_BAD_RESPONSE");
      assert.equal(err.field, "credentials.secret_key");
    });
  });

  describe("every call", () => {
    it("the public client sends only documented actions, and reaches every one of them", async () => {
      await client.token();
      await client.serverInfo();
      await client.call("tasks.get_all", { id: [TASK_ID] });
      await client.routes.save({ name: "r", type: "path", path: "/r" });
      await client.routes.setEnabled(ROUTE_ID, true);
      await client.routes.delete([ROUTE_ID]);
      await client.routes.get(ROUTE_ID);
      await client.routes.checkName("name", "r");
      await client.groups.save({ name: "g" });
      await client.groups.list();
      await client.groups.delete([GROUP_ID]);
      await client.accessRules.save({
        name: "a",
        description: "",
        access_permission: "read",
        entity_type: "route",
        users: [],
        groups: [],
      });
      await client.accessRules.list();
      await client.accessRules.delete([RULE_ID]);
      await client.routers.list();
      await client.routers.report({ router: "r1", url: "https://r1.example.com" });
      await client.routers.unregister("r1");
      await client.tasks.create({ name: "t", type: "application" });
      await client.tasks.get(TASK_ID);
      await client.tasks.edit({ task: TASK_ID, force: true });
      await client.tasks.editRuntime(TASK_ID, {});
      await client.tasks.enqueue(TASK_ID, QUEUE_ID);
      await client.tasks.stop(TASK_ID);
      for (const s of ["started", "stopped", "completed", "failed"] as const) {
        await client.tasks.report(s, TASK_ID);
      }
      await client.tasks.log(TASK_ID, "line");
      // What ClearML's own clients send; the reference gateway answers them (tests/clearml).
      await client.call("tasks.ping", { task: TASK_ID });
      await client.call("tasks.dequeue", { task: TASK_ID });
      await client.call("tasks.set_requirements", { task: TASK_ID, requirements: { pip: "" } });
      await client.call("events.add_batch", { requests: [] });
      await client.call("projects.create", { name: "p" });
      await client.call("projects.get_all", {});
      await client.call("projects.get_by_id", { project: "p" });
      await client.tasks.getLog(TASK_ID);
      await client.queues.ensure("default");
      await client.queues.create("q");
      await client.queues.get(QUEUE_ID);
      await client.queues.delete(QUEUE_ID);
      await client.queues.next(QUEUE_ID);
      await client.workers.register("w", [QUEUE_ID]);
      await client.workers.statusReport("w");
      await client.workers.unregister("w");
      await client.workers.list();
      await client.users.list();
      await client.users.me();
      await client.users.delete(USER_ID);
      await client.auth.createServiceUser({ name: "svc" });
      await client.auth.createCredentials();
      await client.auth.revokeCredentials("AK");

      const sent = new Set(fake.actions());
      const undocumented = [...sent].filter((a) => !DOCUMENTED_ACTIONS.has(a as never));
      assert.deepEqual(undocumented, [], "only actions ClearML documents");
      const missed = [...DOCUMENTED_ACTIONS.keys()].filter((a) => !sent.has(a));
      assert.deepEqual(missed, [], "the sweep above covers every documented action");
      for (const r of fake.requests) assert.equal(r.path, `/${r.action}`);
    });
  });

  describe("error envelopes", () => {
    // Every pair of clearml-api.md's error table the SDK classifies, with ClearML's name.
    const documented: [number, number, string, string, new (...a: any[]) => AppGatewayError][] = [
      [400, 10, "APPGW_INVALID_ID", "Invalid object id", InvalidRequestError],
      [400, 11, "APPGW_MISSING_FIELDS", "Missing required fields: name", InvalidRequestError],
      [400, 12, "APPGW_INVALID_REQUEST", "Validation error: page_size", InvalidRequestError],
      [400, 101, "APPGW_TASK_NOT_FOUND", "Invalid task id: id=0f1e", InvalidRequestError],
      [400, 110, "APPGW_TASK_STATE", "Invalid task status: expected=created", InvalidRequestError],
      [400, 301, "APPGW_USER_NOT_FOUND", "Invalid user id", InvalidRequestError],
      [400, 401, "APPGW_PROJECT_NOT_FOUND", "Invalid project id", InvalidRequestError],
      [400, 701, "APPGW_QUEUE_NOT_FOUND", "Invalid queue id: queue=a1b2", InvalidRequestError],
      [400, 702, "APPGW_QUEUE_NOT_EMPTY", "Queue is not empty", InvalidRequestError],
      [
        400,
        801,
        "APPGW_ALREADY_EXISTS",
        "Value combination already exists: name",
        InvalidRequestError,
      ],
      [401, 20, "APPGW_UNAUTHORIZED", "Missing authentication header", AuthenticationError],
      [401, 21, "APPGW_BAD_CREDENTIALS", "Bad credentials", AuthenticationError],
      [401, 22, "APPGW_INVALID_CREDENTIALS", "Invalid credentials", AuthenticationError],
      [401, 30, "APPGW_INVALID_TOKEN", "Invalid token", AuthenticationError],
      [401, 31, "APPGW_BLOCKED_TOKEN", "Blocked token", AuthenticationError],
      [403, 20, "APPGW_FORBIDDEN", "Role not allowed: role=user", PermissionError],
      [403, 21, "APPGW_NO_WRITE_PERMISSION", "No write permission", PermissionError],
      [404, 0, "APPGW_UNKNOWN_ENDPOINT", "Unable to find endpoint for name", NotFoundError],
      [500, 0, "APPGW_INTERNAL", "General data error", InternalError],
    ];
    for (const [status, subcode, code, msg, Cls] of documented) {
      it(`classifies ${status}/${subcode} as ${code}, keeping status, subcode and result_msg`, async () => {
        const c = tokenClient();
        fake.on("tasks.get_by_id", fail(status, subcode, msg, { id: TASK_ID }));
        const err = await rejection(() => c.tasks.get(TASK_ID));
        assert.ok(err instanceof Cls, `${err.constructor.name} is a ${Cls.name}`);
        assert.equal(err.code, code);
        assert.equal(err.statusCode, status);
        assert.equal(err.subcode, subcode);
        assert.equal(err.message, `tasks.get_by_id: ${msg}`);
        assert.equal(err.details.result_msg, msg);
        assert.equal(err.details.id, TASK_ID, "error_data is kept in details");
        assert.equal(err.endpoint, "tasks.get_by_id");
        assert.match(String(err.requestId), /^[0-9a-f]{32}$/, "meta.id is kept");
        assert.equal(fake.calls("tasks.get_by_id").length, 1, "an error answer is not retried");
      });
    }

    const unclassified: [string, number, number, string][] = [
      ["routers.add_or_update_route", 400, 1234, "APPGW_BAD_REQUEST"],
      ["routers.add_or_update_route", 400, 1101, "APPGW_BAD_REQUEST"],
      ["routers.add_or_update_route", 400, 16, "APPGW_BAD_REQUEST"],
      ["routers.add_or_update_route", 400, 0, "APPGW_BAD_REQUEST"],
      ["routers.add_or_update_route", 401, 10, "APPGW_UNAUTHORIZED"],
      ["routers.add_or_update_route", 403, 99, "APPGW_FORBIDDEN"],
      ["routers.add_or_update_route", 500, 1, "APPGW_INTERNAL"],
      ["routers.add_or_update_route", 503, 0, "APPGW_INTERNAL"],
    ];
    for (const [action, status, subcode, code] of unclassified) {
      it(`reads the undocumented pair ${status}/${subcode} as the generic ${code}, keeping status, subcode and result_msg`, async () => {
        const c = tokenClient();
        const msg = `Route refused (${status}/${subcode})`;
        fake.on(action, fail(status, subcode, msg));
        const err = await rejection(() => c.routes.save({ name: "r", type: "path", path: "/r" }));
        assert.equal(err.code, code);
        assert.equal(err.statusCode, status);
        assert.equal(err.subcode, subcode);
        assert.ok(err.message.includes(msg), err.message);
        assert.equal(err.details.result_msg, msg);
      });
    }

    it("ignores error_data.code: only result_code/result_subcode classify", async () => {
      const c = tokenClient();
      fake.on("routers.set_route_enabled", fail(400, 1101, "Route is enabled", { code: "x" }));
      const err = await rejection(() => c.routes.setEnabled(ROUTE_ID, false));
      assert.equal(err.code, "APPGW_BAD_REQUEST");
      assert.equal(err.subcode, 1101);
    });

    it("falls back to HTTP <code>/<subcode> as the message when result_msg is empty", async () => {
      const c = tokenClient();
      fake.on("queues.delete", fail(400, 702, ""));
      const err = await rejection(() => c.queues.delete(QUEUE_ID));
      assert.equal(err.code, "APPGW_QUEUE_NOT_EMPTY");
      assert.equal(err.message, "queues.delete: HTTP 400/702");
    });

    /** What, the answer, its status, and how many tries the read gets (a 502 is retried). */
    const notEnvelopes: [string, Answer, number, number][] = [
      ["an HTML proxy page", { raw: "<html>502 Bad Gateway</html>", status: 502 }, 502, 4],
      ["JSON without meta", { raw: '{"data": {}}', status: 200, contentType: "json" }, 200, 1],
      [
        "a meta whose result_code is a string",
        { raw: '{"meta": {"result_code": "200"}, "data": {}}', status: 200 },
        200,
        1,
      ],
      ["an empty body", { raw: "", status: 200 }, 200, 1],
    ];
    for (const [what, answer, status, tries] of notEnvelopes) {
      const retried = tries > 1 ? `after ${tries} tries` : "at once";
      it(`refuses ${what} as APPGW_BAD_RESPONSE ${retried}`, async () => {
        const c = tokenClient();
        fake.on("routers.get_routes", answer);
        const err = await rejection(() => c.routes.list());
        assert.ok(err instanceof BadResponseError);
        assert.equal(err.code, "APPGW_BAD_RESPONSE");
        assert.equal(err.statusCode, status);
        assert.match(err.message, /routers\.get_routes: HTTP \d+ without a ClearML envelope/);
        assert.equal(fake.calls("routers.get_routes").length, tries);
      });
    }
  });

  describe("retries", () => {
    it("retries a read after a dropped connection and returns the answer", async () => {
      const c = tokenClient();
      fake.once("routers.get_routes", { drop: true });
      const routes = await c.routes.list();
      assert.equal(routes[0]!.id, ROUTE_ID);
      assert.equal(fake.calls("routers.get_routes").length, 2);
    });

    it("gives up on a read after maxRetries retries with APPGW_CONNECTION", async () => {
      const c = tokenClient({ maxRetries: 2 });
      fake.on("tasks.get_all", { drop: true });
      const err = await rejection(() => c.tasks.list());
      assert.ok(err instanceof ConnectionError);
      assert.equal(err.code, "APPGW_CONNECTION");
      assert.match(err.message, /^tasks\.get_all: cannot reach /);
      assert.equal(fake.calls("tasks.get_all").length, 3, "one try and two retries");
    });

    it("does not retry queues.get_next_task: the task may already be off the queue", async () => {
      const c = tokenClient();
      fake.on("queues.get_next_task", { drop: true });
      const err = await rejection(() => c.queues.next(QUEUE_ID));
      assert.equal(err.code, "APPGW_CONNECTION");
      assert.equal(fake.calls("queues.get_next_task").length, 1);
    });

    const writes: [string, (c: AppGatewayClient) => Promise<unknown>][] = [
      [
        "routers.add_or_update_route",
        (c) => c.routes.save({ name: "r", type: "path", path: "/r" }),
      ],
      ["routers.set_route_enabled", (c) => c.routes.setEnabled(ROUTE_ID, false)],
      ["routers.delete_routes", (c) => c.routes.delete([ROUTE_ID])],
      ["permissions.add_or_update_user_group", (c) => c.groups.save({ name: "g" })],
      ["tasks.create", (c) => c.tasks.create({ name: "t", type: "application" })],
      ["tasks.enqueue", (c) => c.tasks.enqueue(TASK_ID, QUEUE_ID)],
      ["queues.create", (c) => c.queues.create("q")],
      ["auth.create_credentials", (c) => c.auth.createCredentials()],
    ];
    for (const [action, write] of writes) {
      it(`does not retry the write ${action} after a dropped connection`, async () => {
        const c = tokenClient();
        fake.on(action, { drop: true });
        const err = await rejection(() => write(c));
        assert.equal(err.code, "APPGW_CONNECTION");
        assert.equal(fake.calls(action).length, 1);
      });
    }

    it("does not retry a read that got an error envelope", async () => {
      const c = tokenClient();
      fake.on("routers.get_routes", fail(500, 0, "General data error"));
      await rejection(() => c.routes.list());
      assert.equal(fake.calls("routers.get_routes").length, 1);
    });
  });

  describe("APPGW_SDK_TRACE", () => {
    it("appends every action called to the file (read at module load: run in a child process)", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-trace-"));
      const file = path.join(dir, "trace.txt");
      fs.writeFileSync(file, "earlier\n");
      const root = path.resolve(__dirname, "..", "..");
      const script = `
        const { AppGatewayClient } = require(${JSON.stringify(path.join(root, "sdk", "index.ts"))});
        const c = new AppGatewayClient({
          apiHost: process.env.FAKE_URL,
          accessKey: process.env.FAKE_AK,
          secretKey: process.env.FAKE_SK,
        });
        c.serverInfo().then(() => c.routes.list()).catch((e) => { console.error(e); process.exit(1); });
      `;
      try {
        await new Promise<void>((resolve, reject) =>
          execFile(
            process.execPath,
            ["-r", "tsx/cjs", "-e", script],
            {
              cwd: root,
              env: {
                ...process.env,
                APPGW_SDK_TRACE: file,
                FAKE_URL: fake.url,
                FAKE_AK: KEYS.accessKey,
                FAKE_SK: KEYS.secretKey,
              },
            },
            (err, _stdout, stderr) =>
              err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(),
          ),
        );
        assert.equal(
          fs.readFileSync(file, "utf8"),
          "earlier\nauth.login\nserver.info\nrouters.get_routes\n",
        );
        assert.deepEqual(fake.actions(), ["auth.login", "server.info", "routers.get_routes"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
