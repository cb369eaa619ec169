// The reference gateway's own service: what ClearML does not publish (docs/clearml-compatibility.md).
import { appgwError } from "@appgw/sdk/errors";
import { createUser } from "./auth";
import type { Handlers } from "./types";

export const appgw: Handlers<"appgw"> = {
  "appgw.add_user": (body, { store }) =>
    createUser(
      store,
      { name: body.name, role: body.role ?? "user" },
      { accessKey: body.access_key, secretKey: body.secret_key },
    ),
  "appgw.watch": async (body, { store, signal }) => {
    await store.waitForRevision(body.since, (body.wait_sec ?? 0) * 1000, signal);
    return { revision: store.revision };
  },
  // Reading the configuration does not register the router: routers.task_router_report does.
  "appgw.get_router_config": async (body, { store, signal }) => {
    await store.waitForRevision(body.since, (body.wait_sec ?? 0) * 1000, signal);
    return store.routerConfig(body.router);
  },
  // A token that ends sooner than the caller's, for a caller holding a token and no key pair
  // (the settings page hands one to a router under test); never longer than the caller's own.
  "appgw.short_token": async (body, { user, tokens, settings }) => {
    const left = user.tokenExp === undefined ? 0 : user.tokenExp - Math.floor(Date.now() / 1000);
    const ttl = Math.min(body.expiration_sec, settings.tokenTtlSec, left);
    if (ttl < 1) {
      throw appgwError("APPGW_INVALID_TOKEN", "the token has no time left to share", {
        field: "authorization",
        reason: "expiring",
      });
    }
    return { token: await tokens.sign({ sub: user.id, name: user.name }, ttl) };
  },
  "appgw.get_router_tests": (body, { store }) => ({
    tests: store.routerTests.latest(body.routers, body.with_log),
  }),
};
