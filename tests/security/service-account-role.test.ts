// Service accounts hold a router's rights, not an administrator's: a router's keys (or an
// agent's) could otherwise create admins and rewrite every route. ClearML documents service
// accounts as members of `Users`; the reference gateway adds what a router needs (register,
// read its configuration, leave) and the right to change any task (endpoint write-back, an
// agent's reports). A real gateway, a router started apart with a service account's keys, and
// the SQLite file of an older gateway for the upgrade.
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import path from "node:path";
import pino from "pino";
import { ReferenceGatewayClient } from "../../sdk/reference";
import { routerConfigFromEnv, startRouter } from "../../gateway/router";
import { attachUpstream, startUpstream } from "../helpers/dataplane";
import {
  eventually,
  rejection,
  startTestGateway,
  userClient,
  type TestGateway,
} from "../helpers/gateway";

describe("security: service accounts hold a router's rights, not an administrator's", () => {
  let t: TestGateway;
  let bot: ReferenceGatewayClient;
  let keys: { access_key: string; secret_key: string };
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    keys = (await t.client.auth.createServiceUser({ name: "sa-router" })).credentials;
    bot = new ReferenceGatewayClient({
      apiHost: t.apiUrl,
      accessKey: keys.access_key,
      secretKey: keys.secret_key,
    });
  });
  after(() => t.stop());

  it("refuses a service account every administrator action", async () => {
    const refused: [string, () => Promise<unknown>][] = [
      ["appgw.add_user", () => bot.addUser({ name: "sa-made-user" })],
      ["auth.create_service_user", () => bot.auth.createServiceUser({ name: "sa-made-sa" })],
      [
        "routers.add_or_update_route",
        () => bot.routes.save({ name: "sa-route", type: "path", path: "/sa-route" }),
      ],
      ["routers.delete_routes", () => bot.routes.delete(["any-route"])],
      ["permissions.add_or_update_user_group", () => bot.groups.save({ name: "sa-group" })],
      ["permissions.get_access_rules", () => bot.call("permissions.get_access_rules", {})],
      ["queues.create", () => bot.queues.create("sa-queue")],
      ["users.delete", () => bot.users.delete("any-user")],
    ];
    for (const [action, call] of refused) {
      const err = await rejection(call);
      assert.equal(err.code, "APPGW_FORBIDDEN", `${action}: ${err.message}`);
      assert.equal(err.statusCode, 403, action);
    }
    const me = await bot.users.me();
    assert.equal(me.user.role, "user");
    assert.deepEqual(
      me.sec_groups?.map((g) => g.id),
      ["users"],
    );
  });

  it("lets a service account register, read its configuration and leave, as a router does", async () => {
    await bot.routers.report({
      router: "sa-rights",
      url: "https://sa-rights.example.com",
      version: "1.0.0",
      timeout: 60,
    });
    assert.equal((await t.client.routers.find("sa-rights"))?.url, "https://sa-rights.example.com");
    const config = await bot.routerConfig({ router: "sa-rights", wait_sec: 0 });
    assert.ok(Array.isArray(config.routes));
    await bot.routers.unregister("sa-rights");
    assert.equal(await t.client.routers.find("sa-rights"), undefined);
  });

  it("keeps users from registering routers or changing others' tasks", async () => {
    const alice = (await userClient(t, "sa-alice")).client;
    const mallory = (await userClient(t, "sa-mallory")).client;
    const report = await rejection(() =>
      mallory.routers.report({ router: "rogue", url: "https://r.example.com", version: "1" }),
    );
    assert.equal(report.code, "APPGW_FORBIDDEN");
    const task = await alice.tasks.create({ name: "sa-alice-task", type: "application" });
    const edit = await rejection(() => mallory.tasks.editRuntime(task, { _PORT: "1" }));
    assert.equal(edit.code, "APPGW_NO_WRITE_PERMISSION");
    // A router writes endpoints back onto any user's task.
    await bot.tasks.editRuntime(task, { endpoint: "https://r.example.com/x" }, [], true);
    const [row] = await t.client.tasks.list({ id: [task] });
    assert.equal(row?.runtime?.endpoint, "https://r.example.com/x");
  });

  it("routes traffic through a router that runs with a service account's keys", async () => {
    const upstream = await startUpstream((_req, res) => res.end("served through sa-router"));
    const router = await startRouter(
      routerConfigFromEnv({
        ROUTER_NAME: "sa-router",
        CLEARML_API_HOST: t.apiUrl,
        CLEARML_API_ACCESS_KEY: keys.access_key,
        CLEARML_API_SECRET_KEY: keys.secret_key,
        ROUTER_HOST: "127.0.0.1",
        ROUTER__WEBSERVER__SERVER_PORT: "0",
      }),
      { logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) },
    );
    try {
      await router.ready;
      await t.client.routes.save({
        name: "sa-public",
        type: "path",
        path: "/sa-public",
        auth_enabled: false,
      });
      const task = await attachUpstream(t, "sa-public", upstream.port);
      const body = await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${router.port}/sa-public/`);
          return res.status === 200 ? res.text() : undefined;
        },
        10_000,
        "the route served through the service account's router",
      );
      assert.equal(body, "served through sa-router");
      // The router wrote the endpoint back onto the admin's task.
      await eventually(
        async () => {
          const [row] = await t.client.tasks.list({ id: [task] });
          return typeof row?.runtime?.endpoint === "string" || undefined;
        },
        10_000,
        "the endpoint written back",
      );
    } finally {
      await router.close();
      await upstream.close();
    }
  });
});

describe("security: an upgrade takes the admin role from existing service accounts", () => {
  it("demotes a service account an older gateway made an administrator", async () => {
    const old = await startTestGateway({ router: false, agent: false });
    const { id } = await old.client.auth.createServiceUser({ name: "sa-old" });
    await old.gw.close();
    // As a gateway before this change left it: the account an admin, the last step not run.
    const db = new Database(path.join(old.dataDir, "appgw.sqlite"));
    const version = db.pragma("user_version", { simple: true }) as number;
    db.prepare("UPDATE users SET role = 'admin' WHERE id = ?").run(id);
    db.pragma(`user_version = ${version - 1}`);
    db.close();
    const t = await startTestGateway({ router: false, agent: false, dataDir: old.dataDir });
    try {
      const [user] = await t.client.users.list({ id: [id] });
      assert.equal(user?.role, "user");
      const [admin] = await t.client.users.list({ name: "^admin$" });
      assert.equal(admin?.role, "admin", "a person's admin role stays");
    } finally {
      await t.stop();
    }
  });
});
