import assert from "node:assert/strict";
import { SignJWT, generateKeyPair } from "jose";
import { AppGatewayClient } from "../../sdk";
import {
  rawCall,
  rejection,
  startTestGateway,
  userClient,
  type TestGateway,
} from "../helpers/gateway";

describe("control API authentication and envelope", () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
  });
  after(() => t.stop());

  const basic = (a: string, s: string) => `Basic ${Buffer.from(`${a}:${s}`).toString("base64")}`;

  it("logs in with Basic credentials and answers in ClearML's envelope", async () => {
    const res = await rawCall(
      t.apiUrl,
      "auth.login",
      {},
      { authorization: basic(t.admin.accessKey, t.admin.secretKey) },
    );
    assert.equal(res.status, 200);
    assert.equal(typeof res.json.data.token, "string");
    const { meta } = res.json;
    assert.equal(meta.result_code, 200);
    assert.equal(meta.result_subcode, 0);
    assert.equal(meta.endpoint.name, "auth.login");
    assert.equal(typeof meta.id, "string");
    assert.deepEqual(meta.error_data, {});
  });

  it("refuses a wrong secret with 401 and no token", async () => {
    const res = await rawCall(
      t.apiUrl,
      "auth.login",
      {},
      { authorization: basic(t.admin.accessKey, "wrong-secret") },
    );
    assert.equal(res.status, 401);
    assert.equal(res.json.meta.error_data.code, "APPGW_BAD_CREDENTIALS");
    assert.deepEqual(res.json.data, {});
  });

  it("answers 401 with WWW-Authenticate when the token is missing", async () => {
    const res = await rawCall(t.apiUrl, "routers.get_routes", {});
    assert.equal(res.status, 401);
    assert.equal(res.json.meta.error_data.code, "APPGW_UNAUTHORIZED");
    assert.match(String(res.headers["www-authenticate"]), /^Bearer/);
  });

  it("refuses a token signed by another key", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT({ name: "admin", admin: true, groups: ["admins"] })
      .setProtectedHeader({ alg: "ES256" })
      .setSubject("anyone")
      .setIssuer("appgw")
      .setAudience("appgw")
      .setExpirationTime("1h")
      .sign(privateKey);
    const res = await rawCall(
      t.apiUrl,
      "routers.get_routes",
      {},
      { authorization: `Bearer ${forged}` },
    );
    assert.equal(res.status, 401);
    assert.equal(res.json.meta.error_data.code, "APPGW_UNAUTHORIZED");
  });

  it("refuses an unsigned (alg none) token", async () => {
    const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    const payload = Buffer.from(
      JSON.stringify({ sub: "x", iss: "appgw", aud: "appgw", admin: true }),
    ).toString("base64url");
    const res = await rawCall(
      t.apiUrl,
      "routers.get_routes",
      {},
      { authorization: `Bearer ${header}.${payload}.` },
    );
    assert.equal(res.status, 401);
  });

  it("reports an expired token as such, and the SDK renews it by logging in again", async () => {
    // Sign an already-expired token with the gateway's own key to check expiry handling.
    const expired = await t.gw.api.tokens.sign(
      { sub: "x", name: "admin", admin: true, groups: [] },
      -120,
    );
    const res = await rawCall(
      t.apiUrl,
      "routers.get_routes",
      {},
      { authorization: `Bearer ${expired}` },
    );
    assert.equal(res.status, 401);
    assert.equal(res.json.meta.error_data.code, "APPGW_TOKEN_EXPIRED");
    const client = new AppGatewayClient({ apiHost: t.apiUrl, token: expired, ...t.admin });
    assert.ok(Array.isArray(await client.routes.list()));
    assert.notEqual(await client.token(), expired, "the client holds a new token");
  });

  it("forbids non-admins to manage the gateway but lets them read routes", async () => {
    const { client } = await userClient(t, "alice");
    const err = await rejection(() => client.routes.create({ name: "mine", path: "/mine" }));
    assert.equal(err.code, "APPGW_FORBIDDEN");
    assert.equal(err.statusCode, 403);
    assert.ok(Array.isArray(await client.routes.list()));
    const me = await client.users.me();
    assert.equal(me.name, "alice");
    assert.deepEqual(
      me.groups.map((g) => g.id),
      ["users"],
    );
  });

  it("answers 404 for an unknown action and 400 for malformed JSON", async () => {
    const auth = { authorization: `Bearer ${await t.client.token()}` };
    const unknown = await rawCall(t.apiUrl, "routers.fly", {}, auth);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.meta.error_data.code, "APPGW_UNKNOWN_ACTION");
    const bad = await rawCall(t.apiUrl, "routers.get_routes", "{not json", auth);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.meta.error_data.code, "APPGW_INVALID_REQUEST");
  });

  it("stops accepting a deleted user's token at once", async () => {
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
    assert.equal(res.status, 401);
    assert.equal(res.json.meta.error_data.code, "APPGW_UNAUTHORIZED");
    assert.match(res.json.meta.result_msg, /no longer exists/);
    // The SDK tries to log in again, which the deleted user's keys cannot.
    assert.equal((await rejection(() => client.routes.list())).code, "APPGW_BAD_CREDENTIALS");
  });
});
