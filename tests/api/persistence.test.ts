import assert from "node:assert/strict";
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AppGatewayClient } from "@appgw/sdk";
import { hashSecret } from "../../gateway/api/tokens";
import { MIGRATIONS } from "../../gateway/store/db";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

describe("persistence", () => {
  describe("across a restart", () => {
    let t: TestGateway;
    before(async () => {
      t = await startTestGateway({ router: false, agent: false });
    });
    after(() => t.stop());

    it("keeps routes, groups, access rules, users, credentials and tokens", async () => {
      const { id: user, credentials } = await t.client.addUser({ name: "persist-user" });
      const { id: group } = await t.client.groups.save({ name: "persist-group", users: [user] });
      const route = await t.client.routes.save({
        name: "persist",
        type: "path",
        path: "/persist",
        user_groups: [group],
      });
      const rule = await t.client.accessRules.save({
        name: "persist-rule",
        description: "kept",
        access_permission: "read",
        entity_type: "route",
        entity_id: route,
        users: [user],
        groups: [],
      });
      await t.client.routes.setEnabled(route, false);
      const userClient = new AppGatewayClient({
        apiHost: t.apiUrl,
        accessKey: credentials.access_key,
        secretKey: credentials.secret_key,
      });
      const extra = await userClient.auth.createCredentials({ label: "extra" });
      const token = await userClient.token();
      const before = {
        route: await t.client.routes.get(route),
        group: await t.client.groups.get(group),
        rules: await t.client.accessRules.list([rule]),
      };

      await t.restart();

      assert.deepEqual(await t.client.routes.get(route), before.route);
      assert.deepEqual(await t.client.groups.get(group), before.group);
      assert.deepEqual(await t.client.accessRules.list([rule]), before.rules);
      const sameToken = new AppGatewayClient({ apiHost: t.apiUrl, token });
      assert.equal(
        (await sameToken.users.me()).user.name,
        "persist-user",
        "tokens signed before the restart stay valid",
      );
      const viaExtra = new AppGatewayClient({
        apiHost: t.apiUrl,
        accessKey: extra.access_key,
        secretKey: extra.secret_key,
      });
      assert.equal((await viaExtra.users.me()).user.id, user);
    });
  });

  describe("a data folder of gateway v0.1", () => {
    let t: TestGateway;
    const ts = "2026-01-01T00:00:00.000Z";
    const oldKeys = { accessKey: "OLDUSERKEY", secretKey: "old-user-secret-0123456789" };

    /** The v0.1 schema with what a v0.1 gateway would have stored in it. */
    async function v01DataDir(): Promise<string> {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgw-v01-"));
      const db = new Database(path.join(dir, "appgw.sqlite"));
      db.exec(MIGRATIONS[0] as string);
      db.pragma("user_version = 1");
      const insertUser = db.prepare(
        "INSERT INTO users (id, name, admin, access_key, secret_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
      );
      insertUser.run(
        "u-admin",
        "admin",
        1,
        "OLDADMINKEY",
        await hashSecret("old-admin-secret"),
        ts,
      );
      insertUser.run(
        "u-old",
        "old-user",
        0,
        oldKeys.accessKey,
        await hashSecret(oldKeys.secretKey),
        ts,
      );
      db.prepare(
        "INSERT INTO groups (id, name, description, system, created) VALUES ('g-old', 'old-group', 'from v0.1', 0, ?)",
      ).run(ts);
      db.prepare("INSERT INTO group_members (group_id, user_id) VALUES ('g-old', 'u-old')").run();
      db.prepare(
        `INSERT INTO routes (id, name, path, subdomain, load_balanced, authenticated, enabled, created, last_update, updated_by)
           VALUES ('r-old', 'old-route', '/old', NULL, 0, 1, 1, ?, ?, 'u-admin')`,
      ).run(ts, ts);
      db.prepare(
        "INSERT INTO access_rules (id, route_id, group_id, created) VALUES ('a-old', 'r-old', 'g-old', ?)",
      ).run(ts);
      db.prepare("INSERT INTO queues (id, name, created) VALUES ('q-old', 'old-queue', ?)").run(ts);
      db.prepare(
        `INSERT INTO tasks (id, name, type, status, queue_id, worker, user_id, system_tags, runtime, entry_point, params, created, last_update)
           VALUES ('t-old', 'old-task', 'application', 'completed', 'q-old', 'w-old', 'u-old', '["x"]', '{"a":"1"}',
             'echo.py', '{"nonce":"n1"}', ?, ?)`,
      ).run(ts, ts);
      db.prepare(
        "INSERT INTO task_log (task_id, timestamp, msg) VALUES ('t-old', ?, 'old line')",
      ).run(ts);
      db.prepare(
        `INSERT INTO routers (id, name, url, domain, version, queues, started, last_update)
           VALUES ('x', 'old-router', 'http://old', 'old', '0.1', '[]', ?, ?)`,
      ).run(ts, ts);
      db.close();
      return dir;
    }

    before(async () => {
      t = await startTestGateway({ router: false, agent: false, dataDir: await v01DataDir() });
    });
    after(() => t.stop());

    it("keeps its users and their keys; the admin's keys follow APPGW_ADMIN_*", async () => {
      const me = await t.client.users.me();
      assert.equal(me.user.id, "u-admin", "the same administrator, with the configured keys");
      const old = new AppGatewayClient({ apiHost: t.apiUrl, ...oldKeys });
      const oldMe = await old.users.me();
      assert.equal(oldMe.user.id, "u-old");
      assert.equal(oldMe.user.role, "user");
      const stale = new AppGatewayClient({
        apiHost: t.apiUrl,
        accessKey: "OLDADMINKEY",
        secretKey: "old-admin-secret",
      });
      assert.equal((await rejection(() => stale.token())).code, "APPGW_INVALID_CREDENTIALS");
    });

    it("keeps its groups, and turns a route's access groups into its user_groups", async () => {
      const group = await t.client.groups.get("g-old");
      assert.deepEqual(group?.users, [{ id: "u-old", name: "old-user" }]);
      const route = await t.client.routes.get("r-old");
      assert.equal(route?.name, "old-route");
      assert.equal(route?.type, "path");
      assert.equal(route?.auth_enabled, true);
      assert.deepEqual(route?.load_balancer, { enabled: false });
      assert.deepEqual(route?.user_groups, ["g-old"]);
      assert.equal(route?.updated_by, "u-admin");
      assert.deepEqual(await t.client.accessRules.list(), [], "no access rule of the new kind");
    });

    it("keeps its queues and tasks in ClearML's shape, and forgets its routers", async () => {
      assert.equal((await t.client.queues.get("q-old")).name, "old-queue");
      const task = await t.client.tasks.get("t-old");
      assert.equal(task.status, "completed");
      assert.equal(task.user, "u-old");
      assert.equal(task.last_worker, "w-old");
      assert.deepEqual(task.execution, { queue: "q-old" });
      assert.deepEqual(task.system_tags, ["x"]);
      assert.deepEqual(task.runtime, { a: "1" });
      assert.deepEqual(task.script, { entry_point: "echo.py" });
      assert.deepEqual(task.hyperparams, {
        General: { nonce: { section: "General", name: "nonce", value: "n1" } },
      });
      const { events } = await t.client.call("events.get_task_log", { task: "t-old" });
      assert.deepEqual(
        events.map((e) => [e.msg, e.timestamp]),
        [["old line", Date.parse(ts)]],
      );
      assert.deepEqual(await t.client.routers.list(), []);
    });
  });
});
