import assert from "node:assert/strict";
import { SignJWT, generateKeyPair } from "jose";
import { AppGatewayClient } from "@appgw/sdk";
import {
  basicAuth,
  bearerAuth,
  rawCall,
  rejection,
  startTestGateway,
  userClient,
  type TestGateway,
} from "../helpers/gateway";

describe("control API: envelope, login and users", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false, tokenTtlSec: 3600 });
  });
  after(() => t.stop());

  const adminBasic = () => basicAuth(t.admin.accessKey, t.admin.secretKey);
  const expOf = (token: string) =>
    JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()).exp as number;

  describe("the envelope", () => {
    it("answers a login with the token only, in ClearML's envelope", async () => {
      const res = await rawCall(t.apiUrl, "auth.login", {}, adminBasic());
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.json.data), ["token"]);
      const { meta } = res.json;
      assert.match(meta.id, /^[0-9a-f]{32}$/);
      assert.equal(meta.trx, meta.id, "trx is the id when the client sends none");
      assert.deepEqual(meta.endpoint, {
        name: "auth.login",
        requested_version: "2.31",
        actual_version: "2.31",
      });
      assert.equal(meta.result_code, 200);
      assert.equal(meta.result_subcode, 0);
      assert.equal(meta.result_msg, "OK");
      assert.equal(meta.error_stack, null);
      assert.deepEqual(meta.error_data, {});
    });

    it("echoes X-ClearML-Trx and accepts a version prefix", async () => {
      const res = await rawCall(
        t.apiUrl,
        "v2.20/auth.login",
        {},
        {
          ...adminBasic(),
          "x-clearml-trx": "my-transaction",
        },
      );
      assert.equal(res.status, 200);
      assert.equal(res.json.meta.trx, "my-transaction");
      assert.equal(res.json.meta.endpoint.name, "auth.login");
      assert.equal(res.json.meta.endpoint.requested_version, "2.20");
    });

    it("answers 404/0 for an unknown endpoint or a version above the one served", async () => {
      const auth = await bearerAuth(t.client);
      for (const action of [
        "routers.fly",
        "routers.create_route",
        "v9.0/routers.get_routes",
        "a/b/c",
      ]) {
        const res = await rawCall(t.apiUrl, action, {}, auth);
        assert.equal(res.status, 404, action);
        assert.equal(res.json.meta.result_code, 404, action);
        assert.equal(res.json.meta.result_subcode, 0, action);
      }
    });

    it("has none of the old dialect's actions", async () => {
      const auth = await bearerAuth(t.client);
      for (const action of [
        "routers.create_route",
        "routers.enable_route",
        "routers.get_config",
        "routers.report",
        "routers.register",
        "routers.heartbeat",
        "routers.start_test",
        "routers.get_test",
        "users.create",
        "permissions.create_group",
        "tasks.edit_runtime_properties",
        "events.add_log",
        "workers.heartbeat",
      ]) {
        assert.equal((await rawCall(t.apiUrl, action, {}, auth)).status, 404, action);
      }
    });

    it("refuses malformed JSON and bad values of known fields with 400/12, naming the field", async () => {
      const auth = await bearerAuth(t.client);
      const bad = await rawCall(t.apiUrl, "routers.get_routes", "{not json", auth);
      assert.equal(bad.status, 400);
      assert.equal(bad.json.meta.result_subcode, 12);
      const wrong = await rawCall(t.apiUrl, "routers.get_routes", { page_size: 0 }, auth);
      assert.equal(wrong.json.meta.result_subcode, 12);
      assert.equal(wrong.json.meta.error_data.field, "page_size");
      assert.match(wrong.json.meta.result_msg, /^page_size: /);
    });

    it("reports a missing required field as 400/11", async () => {
      const res = await rawCall(t.apiUrl, "tasks.get_by_id", {}, await bearerAuth(t.client));
      assert.equal(res.status, 400);
      assert.equal(res.json.meta.result_subcode, 11);
      assert.equal(res.json.meta.error_data.field, "task");
      const err = await rejection(() =>
        t.client.call("tasks.create", { type: "testing" } as never),
      );
      assert.equal(err.code, "APPGW_MISSING_FIELDS");
      assert.equal(err.field, "name");
    });

    it("answers server.info with ClearML's version and API version", async () => {
      const info = await t.client.serverInfo();
      assert.equal(info.version, "3.26.0");
      assert.equal(info.api_version, "2.31");
      assert.equal(typeof info.appgw_version, "string");
    });
  });

  describe("auth.login", () => {
    it("answers 401/20 without credentials, 401/21 for malformed ones and 401/22 for wrong ones", async () => {
      const none = await rawCall(t.apiUrl, "auth.login", {});
      assert.deepEqual([none.status, none.json.meta.result_subcode], [401, 20]);
      assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
      for (const header of [
        "Basic !!!",
        "Basic " + Buffer.from("no-colon").toString("base64"),
        "Token x",
      ]) {
        const res = await rawCall(t.apiUrl, "auth.login", {}, { authorization: header });
        assert.deepEqual([res.status, res.json.meta.result_subcode], [401, 21], header);
      }
      const wrongSecret = await rawCall(
        t.apiUrl,
        "auth.login",
        {},
        basicAuth(t.admin.accessKey, "wrong"),
      );
      assert.deepEqual([wrongSecret.status, wrongSecret.json.meta.result_subcode], [401, 22]);
      assert.deepEqual(wrongSecret.json.data, {});
      const unknownKey = await rawCall(t.apiUrl, "auth.login", {}, basicAuth("NOSUCHKEY", "x"));
      assert.deepEqual([unknownKey.status, unknownKey.json.meta.result_subcode], [401, 22]);
    });

    it("logs in by GET with expiration_sec in the query string, capped at the gateway's maximum", async () => {
      const short = await rawCall(
        t.apiUrl,
        "auth.login?expiration_sec=600",
        undefined,
        adminBasic(),
        "GET",
      );
      assert.equal(short.status, 200);
      const lifetime = expOf(short.json.data.token) - Math.floor(Date.now() / 1000);
      assert.ok(lifetime > 590 && lifetime <= 600, `lifetime ${lifetime}`);
      const long = await rawCall(
        t.apiUrl,
        "auth.login",
        { expiration_sec: 30 * 86400 },
        adminBasic(),
      );
      const capped = expOf(long.json.data.token) - Math.floor(Date.now() / 1000);
      assert.ok(capped > 3590 && capped <= 3600, `capped at the 1 h maximum, got ${capped}`);
    });

    it("accepts any call by GET, with fields in the query string", async () => {
      const { id } = await t.client.addUser({ name: "get-user" });
      const res = await rawCall(
        t.apiUrl,
        `users.get_all?id=${encodeURIComponent(JSON.stringify([id]))}&only_fields=name&only_fields=role`,
        undefined,
        await bearerAuth(t.client),
        "GET",
      );
      assert.equal(res.status, 200, JSON.stringify(res.json.meta));
      assert.deepEqual(res.json.data.users, [{ id, name: "get-user", role: "user" }]);
    });
  });

  describe("tokens", () => {
    it("answers 401/20 without a token and 401/30 for a forged, unsigned or expired one", async () => {
      const none = await rawCall(t.apiUrl, "routers.get_routes", {});
      assert.deepEqual([none.status, none.json.meta.result_subcode], [401, 20]);
      const { privateKey } = await generateKeyPair("ES256");
      const forged = await new SignJWT({ name: "admin" })
        .setProtectedHeader({ alg: "ES256" })
        .setSubject("anyone")
        .setIssuer("appgw")
        .setAudience("appgw")
        .setExpirationTime("1h")
        .sign(privateKey);
      const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
      const payload = Buffer.from(
        JSON.stringify({ sub: "x", iss: "appgw", aud: "appgw" }),
      ).toString("base64url");
      const expired = await t.gw.api.tokens.sign({ sub: "x", name: "admin" }, -120);
      for (const token of [forged, `${header}.${payload}.`, expired]) {
        const res = await rawCall(
          t.apiUrl,
          "routers.get_routes",
          {},
          { authorization: `Bearer ${token}` },
        );
        assert.deepEqual([res.status, res.json.meta.result_subcode], [401, 30]);
      }
    });

    it("lets the SDK renew an expired token by logging in again", async () => {
      const me = (await t.client.users.me()).user;
      const expired = await t.gw.api.tokens.sign({ sub: me.id, name: me.name }, -120);
      const client = new AppGatewayClient({ apiHost: t.apiUrl, token: expired, ...t.admin });
      assert.ok(Array.isArray(await client.routes.list()));
      assert.notEqual(await client.token(), expired, "the client holds a new token");
    });

    it("stops accepting a deleted user's token at once, and their keys with it", async () => {
      const { id, client } = await userClient(t, "bob");
      const token = await client.token();
      await client.routes.list();
      await t.client.users.delete(id);
      const res = await rawCall(
        t.apiUrl,
        "routers.get_routes",
        {},
        { authorization: `Bearer ${token}` },
      );
      assert.deepEqual([res.status, res.json.meta.result_subcode], [401, 30]);
      assert.match(res.json.meta.result_msg, /no longer exists/);
      // The SDK tries to log in again, which the deleted user's keys cannot.
      assert.equal((await rejection(() => client.routes.list())).code, "APPGW_INVALID_CREDENTIALS");
    });
  });

  describe("roles", () => {
    it("answers 403/20 when a user calls an admin action, and lets them read routes", async () => {
      const { client } = await userClient(t, "alice");
      const err = await rejection(() =>
        client.routes.save({ name: "mine", type: "path", path: "/mine" }),
      );
      assert.equal(err.code, "APPGW_FORBIDDEN");
      assert.deepEqual([err.statusCode, err.subcode], [403, 20]);
      assert.ok(Array.isArray(await client.routes.list()));
    });

    it("gives service users a router's rights, not the admin role", async () => {
      const { id, credentials } = await t.client.auth.createServiceUser({ name: "router-bot" });
      assert.match(id, /^[0-9a-f]{32}$/);
      const bot = new AppGatewayClient({
        apiHost: t.apiUrl,
        accessKey: credentials.access_key,
        secretKey: credentials.secret_key,
      });
      const me = await bot.users.me();
      assert.equal(me.user.role, "user");
      assert.deepEqual(
        me.sec_groups?.map((g) => g.id),
        ["users"],
      );
      const dup = await rejection(() => t.client.auth.createServiceUser({ name: "router-bot" }));
      assert.deepEqual([dup.statusCode, dup.subcode], [400, 801]);
    });
  });

  describe("credentials", () => {
    it("gives the caller more key pairs, returns the secret once, and revokes only the caller's own", async () => {
      const carol = await userClient(t, "carol");
      const second = await carol.client.auth.createCredentials({ label: "ci" });
      assert.equal(second.label, "ci");
      assert.ok(second.secret_key.length >= 32);
      const viaSecond = new AppGatewayClient({
        apiHost: t.apiUrl,
        accessKey: second.access_key,
        secretKey: second.secret_key,
      });
      assert.equal((await viaSecond.users.me()).user.id, carol.id);
      // Someone else cannot revoke carol's keys.
      assert.equal(await t.client.auth.revokeCredentials(second.access_key), 0);
      assert.equal(await carol.client.auth.revokeCredentials(second.access_key), 1);
      const res = await rawCall(
        t.apiUrl,
        "auth.login",
        {},
        basicAuth(second.access_key, second.secret_key),
      );
      assert.deepEqual([res.status, res.json.meta.result_subcode], [401, 22]);
      assert.equal(
        (await carol.client.users.me()).user.name,
        "carol",
        "the first pair still works",
      );
    });

    it("refuses credentials whose expiration has passed", async () => {
      const { client } = await userClient(t, "dora");
      const pair = await client.auth.createCredentials({ expiration_sec: 60 });
      assert.ok(pair.expire && Date.parse(pair.expire) > Date.now());
      t.gw.api.store.db
        .prepare("UPDATE credentials SET expire = ? WHERE access_key = ?")
        .run(new Date(Date.now() - 1000).toISOString(), pair.access_key);
      const res = await rawCall(
        t.apiUrl,
        "auth.login",
        {},
        basicAuth(pair.access_key, pair.secret_key),
      );
      assert.deepEqual([res.status, res.json.meta.result_subcode], [401, 22]);
    });
  });

  describe("users", () => {
    it("adds users with a role and given or generated keys (appgw.add_user)", async () => {
      const given = await t.client.addUser({
        name: "erin",
        role: "admin",
        access_key: "ERINACCESSKEY",
        secret_key: "erin-secret-0123456789",
      });
      assert.equal(given.credentials.access_key, "ERINACCESSKEY");
      const erin = new AppGatewayClient({
        apiHost: t.apiUrl,
        accessKey: "ERINACCESSKEY",
        secretKey: "erin-secret-0123456789",
      });
      assert.equal((await erin.users.me()).user.role, "admin");
      const taken = await rejection(() =>
        t.client.addUser({ name: "erin2", access_key: "ERINACCESSKEY" }),
      );
      assert.deepEqual([taken.subcode, taken.field], [801, "access_key"]);
      const dup = await rejection(() => t.client.addUser({ name: "erin" }));
      assert.deepEqual([dup.subcode, dup.field], [801, "name"]);
    });

    it("lists users with role, creation time and group ids, filtered and paged", async () => {
      const { id } = await t.client.addUser({ name: "frank" });
      const { id: team } = await t.client.groups.save({ name: "frank-team", users: [id] });
      const [frank] = await t.client.users.list({ id: [id] });
      assert.equal(frank?.name, "frank");
      assert.equal(frank?.role, "user");
      assert.ok(frank?.created);
      assert.deepEqual(frank?.sec_groups, ["users", team]);
      assert.deepEqual(
        (await t.client.users.list({ name: "^fran", only_fields: ["name"] })).map((u) => u),
        [{ id, name: "frank" }],
      );
      const names = (await t.client.users.list({ order_by: ["-name"] })).map((u) => u.name);
      assert.deepEqual(names, [...names].sort().reverse());
      const page = await t.client.users.list({ order_by: ["name"], page: 1, page_size: 2 });
      assert.deepEqual(
        page.map((u) => u.name),
        [...names].sort().slice(2, 4),
      );
    });

    it("tells the caller who they are, with their company and groups", async () => {
      const me = await t.client.users.me();
      assert.equal(me.user.name, "admin");
      assert.equal(me.user.role, "admin");
      assert.deepEqual(me.user.company, { id: "appgw", name: "appgw" });
      assert.deepEqual(me.sec_groups, [
        { id: "users", name: "Users" },
        { id: "admins", name: "Admins" },
      ]);
    });

    it("deletes a user, refusing an unknown one (400/301) and the caller (400/12)", async () => {
      const { id } = await t.client.addUser({ name: "gina" });
      assert.deepEqual(await t.client.call("users.delete", { user: id }), { deleted: 1 });
      const again = await rejection(() => t.client.users.delete(id));
      assert.equal(again.code, "APPGW_USER_NOT_FOUND");
      const me = (await t.client.users.me()).user.id;
      const self = await rejection(() => t.client.users.delete(me));
      assert.deepEqual([self.code, self.field], ["APPGW_INVALID_REQUEST", "user"]);
    });
  });
});
