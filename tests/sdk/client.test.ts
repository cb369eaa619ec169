// AppGatewayClient's own behaviour (configuration, login sharing, timeouts, cancellation, the
// transport option, what its errors keep), against the fake ClearML server: no gateway of ours.
import assert from "node:assert/strict";
import { inspect } from "node:util";
import axios, { AxiosError } from "axios";
import { AppGatewayClient } from "@appgw/sdk";
import { ReferenceGatewayClient } from "../../sdk/reference";
import { FakeClearML, KEYS, ROUTE_ID, TASK_ID, fail, ok, rejection } from "./fake-clearml";

describe("SDK client (fake ClearML server)", () => {
  let fake: FakeClearML;
  before(async () => {
    fake = await FakeClearML.start();
  });
  beforeEach(() => fake.reset());
  after(() => fake.stop());

  it("is configured from CLEARML_API_* with explicit options winning", async () => {
    const env = {
      CLEARML_API_HOST: fake.url,
      CLEARML_API_ACCESS_KEY: KEYS.accessKey,
      CLEARML_API_SECRET_KEY: KEYS.secretKey,
    };
    const client = AppGatewayClient.fromEnv({}, env);
    assert.equal(client.apiHost, fake.url);
    assert.equal((await client.users.me()).user.name, "alice");
    const basic = Buffer.from(`${KEYS.accessKey}:${KEYS.secretKey}`).toString("base64");
    assert.equal(fake.only("auth.login").headers.authorization, `Basic ${basic}`);

    const other = AppGatewayClient.fromEnv({ apiHost: "http://other:1" }, env);
    assert.equal(other.apiHost, "http://other:1");
    const wrong = AppGatewayClient.fromEnv({ secretKey: "explicit" }, env);
    assert.equal((await rejection(() => wrong.token())).code, "APPGW_INVALID_CREDENTIALS");
    const sent = fake.calls("auth.login")[1]!.headers.authorization;
    assert.equal(sent, `Basic ${Buffer.from(`${KEYS.accessKey}:explicit`).toString("base64")}`);

    const err = await rejection(async () => AppGatewayClient.fromEnv({}, {}));
    assert.equal(err.code, "APPGW_INVALID_REQUEST");
    assert.equal(err.field, "apiHost");
  });

  it("refuses to be built without apiHost", () => {
    assert.throws(
      () => new AppGatewayClient({ apiHost: "" }),
      (e: any) => e.code === "APPGW_INVALID_REQUEST" && e.field === "apiHost",
    );
  });

  it("drops trailing slashes of apiHost", async () => {
    const client = fake.client({ apiHost: `${fake.url}//` });
    assert.equal(client.apiHost, fake.url);
    await client.serverInfo();
    assert.deepEqual(
      fake.requests.map((r) => r.path),
      ["/auth.login", "/server.info"],
    );
  });

  it("logs in once for concurrent first calls", async () => {
    const client = fake.client();
    await Promise.all([client.routes.list(), client.groups.list(), client.users.list()]);
    assert.equal(fake.calls("auth.login").length, 1);
    for (const r of fake.requests.filter((r) => r.action !== "auth.login")) {
      assert.equal(r.headers.authorization, "Bearer token-1");
    }
  });

  it("renews an expired token once for concurrent calls that all meet it", async () => {
    const client = fake.client();
    await client.serverInfo();
    fake.tokens.clear(); // token-1 expires on the server
    await Promise.all([
      client.routes.list(),
      client.groups.list(),
      client.users.list(),
      client.tasks.list(),
      client.queues.list(),
    ]);
    assert.equal(fake.calls("auth.login").length, 2, "the first login and one renewal");
  });

  it("without a token or credentials, fails with APPGW_UNAUTHORIZED before sending anything", async () => {
    const client = new AppGatewayClient({ apiHost: fake.url });
    const err = await rejection(() => client.routes.list());
    assert.equal(err.code, "APPGW_UNAUTHORIZED");
    assert.equal(err.statusCode, 401);
    assert.deepEqual(fake.requests, []);
  });

  it("token() returns a given token as is, or logs in for one", async () => {
    const given = new AppGatewayClient({ apiHost: fake.url, token: "given" });
    assert.equal(await given.token(), "given");
    assert.deepEqual(fake.requests, []);
    assert.equal(await fake.client().token(), "token-1");
    assert.deepEqual(fake.actions(), ["auth.login"]);
  });

  it("never keeps the token or the secret key in an error", async () => {
    const client = fake.client({ maxRetries: 0 });
    const token = await client.token();
    fake.once("routers.add_or_update_route", fail(400, 12, "Validation error", { field: "path" }));
    fake.once("routers.get_routes", { drop: true });
    fake.once("tasks.get_by_id", { raw: "<html>oops</html>", status: 502 });
    fake.once("auth.login", fail(401, 22, "Invalid credentials"));
    const errors = [
      await rejection(() => client.routes.save({ name: "r", type: "path", path: "/r" })),
      await rejection(() => client.routes.list()),
      await rejection(() => client.tasks.get(TASK_ID)),
      await rejection(() => fake.client().token()),
    ];
    assert.deepEqual(
      errors.map((e) => e.code),
      [
        "APPGW_INVALID_REQUEST",
        "APPGW_CONNECTION",
        "APPGW_BAD_RESPONSE",
        "APPGW_INVALID_CREDENTIALS",
      ],
    );
    const basic = Buffer.from(`${KEYS.accessKey}:${KEYS.secretKey}`).toString("base64");
    for (const err of errors) {
      const text = [JSON.stringify(err), String(err.stack), inspect(err, { depth: 10 })].join("\n");
      for (const secret of [token, KEYS.secretKey, basic]) {
        assert.ok(!text.includes(secret), `${err.code} does not carry ${secret}`);
      }
    }
    assert.equal(errors[0].field, "path", "error_data is kept");
    assert.ok(errors[0].requestId, "meta.id is kept");
  });

  it("times out a call after timeoutMs with APPGW_CONNECTION", async () => {
    fake.tokens.add("t");
    const client = fake.client({ token: "t", timeoutMs: 100, maxRetries: 0 });
    fake.on("server.info", { hang: true });
    const started = Date.now();
    const err = await rejection(() => client.serverInfo());
    assert.equal(err.code, "APPGW_CONNECTION");
    assert.ok(Date.now() - started < 5000);
  });

  it("does not retry a read whose signal was aborted", async () => {
    fake.tokens.add("t");
    const client = fake.client({ token: "t", maxRetries: 3 });
    fake.on("routers.get_routes", { hang: true });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const err = await rejection(() =>
      client.call("routers.get_routes", {}, { signal: abort.signal }),
    );
    assert.equal(err.code, "APPGW_CONNECTION");
    assert.equal(fake.calls("routers.get_routes").length, 1);
  });

  it("sends through a given axios transport, and retries a write whose connection was refused", async () => {
    fake.tokens.add("t");
    const httpAdapter = axios.getAdapter("http");
    let attempts = 0;
    const transport = axios.create({
      baseURL: fake.url,
      validateStatus: () => true,
      adapter: (config) => {
        attempts++;
        if (attempts === 1) {
          // The request never left: retrying cannot create the task twice.
          throw new AxiosError("connect ECONNREFUSED", "ECONNREFUSED", config);
        }
        return httpAdapter(config);
      },
    });
    const client = fake.client({ token: "t", transport });
    assert.equal(await client.tasks.create({ name: "t", type: "application" }), TASK_ID);
    assert.equal(attempts, 2);
    assert.equal(fake.calls("tasks.create").length, 1);
  });

  it("ReferenceGatewayClient reaches the appgw service and waits longer for long polls", async () => {
    fake.tokens.add("t");
    fake.on("appgw.watch", { after: 300, answer: ok({ revision: 7 }) });
    const client = new ReferenceGatewayClient({
      apiHost: fake.url,
      token: "t",
      timeoutMs: 150,
      maxRetries: 0,
    });
    assert.equal(await client.watch(3, 1), 7, "the 1 s wait is added to the 150 ms timeout");
    assert.deepEqual(fake.only("appgw.watch").body, { since: 3, wait_sec: 1 });
    assert.ok(!("watch" in fake.client()), "the public client has no appgw calls");
  });

  it("call() sends any documented action with its body and returns the parsed data", async () => {
    const client = fake.client();
    const data = await client.call("routers.get_routes", { id: [ROUTE_ID], only_fields: ["id"] });
    assert.equal(data.routes[0]!.id, ROUTE_ID);
    assert.deepEqual(fake.only("routers.get_routes").body, { id: [ROUTE_ID], only_fields: ["id"] });
  });

  it("tells afterWrite of each call that may change the server, answered or not, and of no read", async () => {
    const seen: unknown[][] = [];
    const client = fake.client({ maxRetries: 0, afterWrite: (...args) => seen.push(args) });
    await client.routes.list();
    await client.users.me();
    await client.routes.save({ name: "r", type: "path", path: "/r" });
    fake.on("routers.delete_routes", fail(400, 0, "refused"));
    await rejection(() => client.routes.delete([ROUTE_ID]));
    assert.deepEqual(seen, [
      ["routers.add_or_update_route", { name: "r", type: "path", path: "/r" }, { id: ROUTE_ID }],
      ["routers.delete_routes", { ids: [ROUTE_ID] }, undefined],
    ]);
  });
});
