// Regression: the SDK retried a read only when its connection failed, never on an answer. A
// proxy in front of the API (nginx, a load balancer) answers 502, 503 or 504 with a page of its
// own while the API restarts, or 429 when it limits the rate: one such answer failed a whole
// `pulumi refresh`. Reads are now retried on those statuses whatever the body, waiting the
// Retry-After asked for (bounded); writes, which the API may have carried out, are not.
import assert from "node:assert/strict";
import { AppGatewayClient, type ClientOptions } from "@appgw/sdk";
import { apiProxy, type ApiProxy, type ReplacedAnswer } from "../helpers/api-proxy";
import { rejection, startTestGateway, type TestGateway } from "../helpers/gateway";

const BAD_GATEWAY: ReplacedAnswer = {
  status: 502,
  headers: { "content-type": "text/plain" },
  body: "Bad Gateway",
};
const UNAVAILABLE: ReplacedAnswer = {
  status: 503,
  headers: { "content-type": "text/html" },
  body: "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
};

describe("regression: the SDK retries reads a proxy answers 502/503/504 or 429", () => {
  let t: TestGateway;
  let proxy: ApiProxy;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    proxy = await apiProxy(t.apiUrl);
  });
  beforeEach(() => {
    proxy.calls.length = 0;
    proxy.replace = undefined;
  });
  after(async () => {
    proxy.close();
    await t.stop();
  });

  const client = (opts: Partial<ClientOptions> = {}) =>
    new AppGatewayClient({ apiHost: proxy.url, ...t.admin, retryDelayMs: 10, ...opts });
  /** The proxy answers `action` with `answers` in turn, then lets the API's answers through. */
  const answering = (action: string, answers: ReplacedAnswer[]) => {
    const left = [...answers];
    proxy.replace = (a) => (a === action ? left.shift() : undefined);
  };
  const count = (action: string) => proxy.calls.filter((c) => c === action).length;

  it("retries a read answered 502 and 503 without an envelope, and returns the API's answer", async () => {
    const id = await t.client.routes.save({ name: "behind-proxy", type: "path", path: "/bp" });
    answering("routers.get_routes", [BAD_GATEWAY, UNAVAILABLE]);
    const routes = await client().routes.list({ id: [id] });
    assert.deepEqual(
      routes.map((r) => r.name),
      ["behind-proxy"],
    );
    assert.equal(count("routers.get_routes"), 3, "two proxy pages, then the API");
  });

  it("retries a read answered 504 with an envelope, and a login answered 502", async () => {
    answering("users.get_current_user", [
      {
        status: 504,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          meta: { result_code: 504, result_subcode: 0, result_msg: "Gateway Timeout" },
          data: {},
        }),
      },
    ]);
    assert.equal((await client().users.me()).user.name, "admin");
    assert.equal(count("users.get_current_user"), 2);

    answering("auth.login", [BAD_GATEWAY]);
    assert.ok(await client().token());
    assert.equal(count("auth.login"), 3, "the first login, then one refused and its retry");
  });

  it("waits the Retry-After of a 429 or 503 before trying again", async () => {
    answering("queues.get_all", [
      { status: 429, headers: { "retry-after": "1" }, body: "Too Many Requests" },
    ]);
    const c = client();
    await c.token();
    let started = Date.now();
    await c.queues.list();
    assert.ok(Date.now() - started >= 950, `waited ${Date.now() - started} ms`);
    assert.equal(count("queues.get_all"), 2);

    const soon = new Date(Date.now() + 2000).toUTCString();
    answering("queues.get_all", [{ ...UNAVAILABLE, headers: { "retry-after": soon } }]);
    started = Date.now();
    await c.queues.list();
    assert.ok(Date.now() - started >= 900, `waited ${Date.now() - started} ms (HTTP date)`);
  });

  it("gives up after maxRetries with an error naming the status, the server and the tries", async () => {
    proxy.replace = (a) => (a === "tasks.get_all" ? BAD_GATEWAY : undefined);
    const err = await rejection(() => client({ maxRetries: 2 }).tasks.list());
    assert.equal(err.code, "APPGW_BAD_RESPONSE");
    assert.equal(err.statusCode, 502);
    assert.equal(err.endpoint, "tasks.get_all");
    assert.equal(
      err.message,
      `tasks.get_all: HTTP 502 without a ClearML envelope from ${proxy.url} (gave up after 3 tries)`,
    );
    assert.equal(count("tasks.get_all"), 3, "one try and two retries");
  });

  it("does not wait a Retry-After beyond its bound: the error says what the server asked", async () => {
    proxy.replace = (a) =>
      a === "routers.get_routes"
        ? { status: 429, headers: { "retry-after": "900" }, body: "slow down" }
        : undefined;
    const c = client();
    await c.token();
    const started = Date.now();
    const err = await rejection(() => c.routes.list());
    assert.ok(Date.now() - started < 2000, `failed in ${Date.now() - started} ms`);
    assert.equal(err.statusCode, 429);
    assert.equal(err.details.retry_after, 900);
    assert.match(err.message, /asked to wait 900 s/);
    assert.equal(count("routers.get_routes"), 1);
  });

  it("never retries a write answered 502 or 503: the API may have carried it out", async () => {
    const c = client();
    await c.token();
    for (const answer of [BAD_GATEWAY, UNAVAILABLE]) {
      const name = `written-once-${answer.status}`;
      answering("routers.add_or_update_route", [answer]);
      const err = await rejection(() => c.routes.save({ name, type: "path", path: `/${name}` }));
      assert.equal(err.statusCode, answer.status);
      assert.ok(await t.client.routes.findByName(name), "the API created the route");
    }
    assert.equal(count("routers.add_or_update_route"), 2, "one call each");
  });
});
