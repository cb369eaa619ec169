import { appgwError } from "../../../sdk/errors";
import type { RouteInput } from "../../store";
import type { Handlers } from "./types";

/** The route after applying an update: giving only a new path (or subdomain) switches the type. */
function mergeRoute(
  current: RouteInput,
  body: {
    name?: string;
    path?: string | null;
    subdomain?: string | null;
    load_balancer?: { enabled: boolean };
    authenticated?: boolean;
  },
): RouteInput {
  let path = current.path;
  let subdomain = current.subdomain;
  if (body.path !== undefined) path = body.path;
  if (body.subdomain !== undefined) subdomain = body.subdomain;
  if (body.path && body.subdomain === undefined) subdomain = null;
  if (body.subdomain && body.path === undefined) path = null;
  return {
    name: body.name ?? current.name,
    path,
    subdomain,
    loadBalanced: body.load_balancer?.enabled ?? current.loadBalanced,
    authenticated: body.authenticated ?? current.authenticated,
    enabled: current.enabled,
  };
}

function checkRoute(r: RouteInput, accessGroups: string[] | undefined): void {
  if ((r.path === null) === (r.subdomain === null)) {
    throw appgwError(
      "APPGW_INVALID_REQUEST",
      "path: exactly one of path or subdomain must be set",
      {
        field: "path",
        reason: "exactly one of path or subdomain must be set",
      },
    );
  }
  if (!r.authenticated && accessGroups?.length) {
    throw appgwError(
      "APPGW_INVALID_REQUEST",
      "access_groups: a public route (authenticated: false) has no access groups",
      {
        field: "access_groups",
        reason: "a public route (authenticated: false) has no access groups",
      },
    );
  }
}

export const routers: Handlers<"routers"> = {
  "routers.register": (body, { store }) => ({ id: store.routers.register(body) }),
  "routers.heartbeat": (body, { store }) => {
    store.routers.heartbeat(body.router);
    return {};
  },
  "routers.get_all": (body, { store }) => ({ routers: store.routers.list(body) }),
  "routers.delete": (body, { store }) => ({ deleted: store.routers.delete(body.router) }),

  "routers.get_config": async (body, { store, signal }) => {
    store.routers.heartbeat(body.router);
    // Waits while the router is current. `!==` rather than `<`: after an API restart the
    // revision starts afresh, and a router holding any other number must refetch at once.
    const deadline = Date.now() + (body.wait_sec ?? 0) * 1000;
    while (body.since === store.revision && Date.now() < deadline && !signal.aborted) {
      await store.waitForChange(deadline - Date.now(), signal);
    }
    return store.routers.config(body.router);
  },
  "routers.report": (body, { store }) => {
    store.routers.report(body.router, body.routes, body.endpoints);
    return {};
  },

  "routers.create_route": (body, { user, store }) => {
    const route: RouteInput = {
      name: body.name,
      path: body.path ?? null,
      subdomain: body.subdomain ?? null,
      loadBalanced: body.load_balancer?.enabled ?? false,
      authenticated: body.authenticated ?? true,
      enabled: body.enabled ?? true,
    };
    checkRoute(route, body.access_groups);
    return { id: store.routes.create(route, body.access_groups, user.id) };
  },
  "routers.update_route": (body, { user, store }) => {
    const current = store.routes.input(body.route);
    if (current.enabled) {
      throw appgwError(
        "APPGW_ROUTE_ENABLED",
        `route '${current.name}' is enabled: disable it before editing (routers.disable_route)`,
        { field: "route" },
      );
    }
    const next = mergeRoute(current, body);
    checkRoute(
      next,
      body.access_groups ??
        (next.authenticated ? undefined : store.routes.groupsOf(body.route).map((g) => g.id)),
    );
    store.routes.update(body.route, next, body.access_groups, user.id);
    return { updated: 1 };
  },
  "routers.enable_route": (body, { user, store }) => ({
    updated: store.routes.setEnabled(body.route, true, user.id),
  }),
  "routers.disable_route": (body, { user, store }) => ({
    updated: store.routes.setEnabled(body.route, false, user.id),
  }),
  "routers.delete_route": (body, { store }) => ({ deleted: store.routes.delete(body.route) }),
  "routers.get_routes": (body, { store }) => ({ routes: store.routes.list(body) }),

  "routers.start_test": (body, { user, tests, settings }) => ({
    task: tests.start({
      router: body.router,
      queue: body.queue,
      timeoutSec: body.timeout_sec ?? 60,
      user,
      allowInsecure: settings.allowInsecureTests,
    }),
  }),
  "routers.get_test": (body, { store }) => {
    store.routers.ref(body.router);
    const test = store.routers.getTest(body.router);
    if (!test)
      throw appgwError("APPGW_TEST_NOT_FOUND", "this router has not been tested yet", {
        field: "router",
      });
    return { test };
  },
};
