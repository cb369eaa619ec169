// The reference gateway's own service: what ClearML does not publish (docs/clearml-compatibility.md).
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
  "appgw.get_router_tests": (body, { store }) => ({
    tests: store.routerTests.latest(body.routers),
  }),
};
