// Regression: after an edit that left a routed route's URL as it was, the update sometimes
// recorded `urls: []` while the gateway returned the URL, and `refresh` did not make the stack's
// outputs right. ClearML edits a route only while it is disabled: the routers drop it when it is
// disabled and report it again a moment after it is enabled, and the update read it in between
// (the gateway derives `urls` from the routers' reports). A refresh corrects the resource's state
// but not the stack outputs the program made from it (`export const urls = route.urls`), which
// only the next `up` computes. The update now waits, bounded, until the routers that served the
// route serve it again.
//
// Deterministic: a real router, whose reports go through a proxy that holds them back, and the
// provider's calls through another that orders them: the provider enables the route only once
// the router reported it gone, and the router reports it back only after the provider has read
// it once since.
import assert from "node:assert/strict";
import pino from "pino";
import { routerConfigFromEnv, startRouter, type RunningRouter } from "../../gateway/router";
import { staticRouteImpl as impl } from "../../provider/providers/staticRoute";
import { type StaticRouteState } from "../../provider/staticRoute";
import { apiProxy, type ApiProxy } from "../helpers/api-proxy";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";
import { checkedInputs, connectionOf } from "../helpers/provider";

const ROUTER_URL = "http://router-edit.test";

describe("regression: an edit records the URLs the routers serve the route at again", () => {
  let t: TestGateway;
  let router: RunningRouter;
  let reports: ApiProxy;
  let provider: ApiProxy;
  before(async () => {
    t = await startTestGateway({ router: false, agent: false });
    reports = await apiProxy(t.apiUrl);
    provider = await apiProxy(t.apiUrl);
    const { credentials } = await t.client.auth.createServiceUser({ name: "router-edit" });
    router = await startRouter(
      routerConfigFromEnv({
        ROUTER_NAME: "router-edit",
        ROUTER_URL,
        CLEARML_API_HOST: reports.url,
        CLEARML_API_ACCESS_KEY: credentials.access_key,
        CLEARML_API_SECRET_KEY: credentials.secret_key,
        ROUTER_HOST: "127.0.0.1",
        ROUTER__WEBSERVER__SERVER_PORT: "0",
      }),
      { logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) },
    );
  });
  after(async () => {
    await router?.close();
    reports?.close();
    provider?.close();
    await t?.stop();
  });

  it("records the route's URL after an edit that disabled and enabled it", async () => {
    const conn = { ...connectionOf(t), apiHost: provider.url };
    const name = "edited-llm";
    const url = `${ROUTER_URL}/${name}`;
    const urlsOf = async (id: string) => (await t.client.routes.get(id))?.urls ?? [];
    const inputs = await checkedInputs(impl, { name, path: `/${name}` });
    const { id, outs } = await impl.create(inputs, conn);
    await eventually(async () => (await urlsOf(id)).includes(url), 10_000, "the route's URL");

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let enabled = false;
    let readsSinceEnabled = 0;
    // The router's reports that serve the route again wait until the test lets them go.
    reports.hold = (action, body) =>
      enabled && action === "routers.task_router_report" && body.includes(url)
        ? released
        : undefined;
    provider.hold = async (action, body) => {
      if (
        action === "routers.set_route_enabled" &&
        (JSON.parse(body) as { enabled: boolean }).enabled
      ) {
        // The router saw the route disabled and reported it gone.
        await eventually(async () => (await urlsOf(id)).length === 0, 10_000, "the URL gone");
        enabled = true;
      } else if (action === "routers.get_routes" && enabled && ++readsSinceEnabled === 2) {
        // The provider read the route once since it enabled it: the router reports it now.
        release();
        await eventually(async () => (await urlsOf(id)).includes(url), 10_000, "the URL back");
      }
    };
    try {
      // Single endpoint: an edit of a detail that is not part of the URL.
      const news = await checkedInputs(impl, { name, path: `/${name}`, loadBalanced: true });
      const { outs: after } = await impl.update(id, outs as StaticRouteState, news, conn);
      assert.deepEqual(after?.urls, [url]);
      assert.equal((await t.client.routes.get(id))?.load_balancer?.enabled, true);
    } finally {
      release();
      reports.hold = undefined;
      provider.hold = undefined;
    }
  });
});
