// StaticRoute's dynamic provider: routes through `routers.*`, edits only while disabled, the
// managed-by marker on every write, and recovery of what a lost answer or a cut run left behind.
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { AppGatewayClient, CallOptions, Route } from "@appgw/sdk";
import {
  hasCode,
  MANAGED_BY_HEADER,
  messageOf,
  routeAccess,
  routeName,
  routePath,
  routeStatusLabel,
  subdomain,
} from "@appgw/sdk";
import { checkMarkedInputs, clientFor, refusal, sameSet, sorted, stringSet } from "../common";
import { readsFor } from "../reads";
import type { Implementation } from "../shim";
import { OBSERVED, SETTINGS, type StaticRouteInputs, type StaticRouteState } from "../staticRoute";

const inputsSchema = z
  .strictObject({
    name: routeName,
    path: routePath.optional(),
    subdomain: subdomain.optional(),
    loadBalanced: z.boolean().default(false),
    authenticated: z.boolean().default(true),
    accessGroups: stringSet().optional(),
    enabled: z.boolean().default(true),
    allowDisruptiveEdits: z.boolean().default(true),
    adopt: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.path === undefined) === (v.subdomain === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [v.path === undefined ? "path" : "subdomain"],
        message: "exactly one of path or subdomain must be set",
      });
    }
    if (!v.authenticated && v.accessGroups?.length) {
      ctx.addIssue({
        code: "custom",
        path: ["accessGroups"],
        message: "a public route (authenticated: false) cannot have access groups",
      });
    }
  });

/** The options of a route write: the marker, when the program gave one, as the header. */
function marked(inputs: StaticRouteInputs): CallOptions | undefined {
  return inputs.__managedBy ? { headers: { [MANAGED_BY_HEADER]: inputs.__managedBy } } : undefined;
}

/** What the route looks like to the gateway, in the terms of `routers.add_or_update_route`. */
function desired(news: StaticRouteInputs) {
  return {
    name: news.name,
    ...(news.path !== undefined
      ? { type: "path" as const, path: news.path }
      : { type: "subdomain" as const, subdomain: news.subdomain as string }),
    auth_enabled: news.authenticated,
    load_balancer: { enabled: news.loadBalanced },
    ...(news.accessGroups !== undefined ? { user_groups: news.accessGroups } : {}),
  };
}

/** True when the route differs from `news` in anything but `enabled`: an edit is needed. */
function detailsDiffer(route: Route, news: StaticRouteInputs): boolean {
  return (
    route.name !== news.name ||
    (route.path ?? undefined) !== news.path ||
    (route.subdomain ?? undefined) !== news.subdomain ||
    (route.load_balancer?.enabled ?? true) !== news.loadBalanced ||
    route.auth_enabled !== news.authenticated ||
    (news.accessGroups !== undefined && !sameSet(route.user_groups ?? [], news.accessGroups))
  );
}

async function stateOf(
  client: AppGatewayClient,
  route: Route,
  recorded: Pick<
    StaticRouteInputs,
    "accessGroups" | "adopt" | "allowDisruptiveEdits" | "__managedBy"
  >,
): Promise<StaticRouteState> {
  const groupIds = route.user_groups ?? [];
  const reads = readsFor(client);
  const [rules, updater] = await Promise.all([
    route.auth_enabled ? reads.accessRules() : [],
    route.updated_by ? reads.user(route.updated_by) : undefined,
  ]);
  // Who the routers admit: the route's own groups, and the groups and users of its access rules
  // (a GroupAccess among them), as the settings page reads them.
  const access = routeAccess(route, rules);
  const [groups, userNames] = await Promise.all([
    access.groups.length ? reads.groups(access.groups) : [],
    // Rules name their users; one that gives an id alone costs a lookup, shared by the process.
    Promise.all(access.users.map(async (u) => u.name ?? (await reads.user(u.id))?.name ?? u.id)),
  ]);
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  return {
    name: route.name,
    ...(route.type === "path" ? { path: route.path ?? "" } : { subdomain: route.subdomain ?? "" }),
    loadBalanced: route.load_balancer?.enabled ?? true,
    authenticated: route.auth_enabled,
    ...(recorded.accessGroups !== undefined ? { accessGroups: sorted(groupIds) } : {}),
    enabled: route.enabled,
    allowDisruptiveEdits: recorded.allowDisruptiveEdits,
    ...(recorded.adopt !== undefined ? { adopt: recorded.adopt } : {}),
    ...(recorded.__managedBy !== undefined ? { __managedBy: recorded.__managedBy } : {}),
    type: route.type === "path" ? "URL" : "Subdomain",
    status: routeStatusLabel(route),
    urls: route.urls ?? [],
    access: access.public
      ? ["Public"]
      : access.restricted
        ? // Only those named: a restriction whose groups and users are all gone admits no one.
          [...sorted(access.groups.map((id) => groupName.get(id) ?? id)), ...sorted(userNames)]
        : // Every signed-in user, as the built-in group that holds them all is named.
          ["Users"],
    targets: sorted((route.tasks ?? []).flatMap((t) => (t.target ? [t.target] : []))),
    tasks: sorted((route.tasks ?? []).map((t) => t.name ?? t.id)),
    created: route.created ?? "",
    lastUpdated: route.last_update ?? "",
    updatedBy: updater?.name ?? route.updated_by ?? "",
  };
}

function inputsOf(state: StaticRouteState): StaticRouteInputs {
  const { name, path, subdomain, loadBalanced, authenticated, accessGroups, enabled } = state;
  const inputs: StaticRouteInputs = {
    name,
    loadBalanced,
    authenticated,
    enabled,
    allowDisruptiveEdits: state.allowDisruptiveEdits,
  };
  if (path !== undefined) inputs.path = path;
  if (subdomain !== undefined) inputs.subdomain = subdomain;
  if (accessGroups !== undefined) inputs.accessGroups = accessGroups;
  if (state.adopt !== undefined) inputs.adopt = state.adopt;
  if (state.__managedBy !== undefined) inputs.__managedBy = state.__managedBy;
  return inputs;
}

/** The route with this id as the server holds it now; fails with advice when it is gone. */
async function mustGet(client: AppGatewayClient, id: string, name: string): Promise<Route> {
  const route = await readsFor(client).freshRoute(id);
  if (!route) {
    throw new Error(
      `route '${name}' (${id}) no longer exists on the gateway: run \`pulumi refresh\`, then \`pulumi up\``,
    );
  }
  return route;
}

/**
 * Brings an existing route to `news`. ClearML edits a route only while it is disabled, so an
 * edit of an enabled route disables it (with `force` only when it is active, as the API
 * requires), edits it, and enables it again; if the edit is refused the route is restored as it
 * was. With `allowDisruptiveEdits: false` an edit of an active route fails before any change.
 */
async function reconcile(
  client: AppGatewayClient,
  route: Route,
  news: StaticRouteInputs,
): Promise<void> {
  const active = route.status === "active";
  let enabled = route.enabled;
  if (detailsDiffer(route, news)) {
    // A route the program disables anyway is not disrupted by the edit.
    if (enabled && active && news.enabled && !news.allowDisruptiveEdits) {
      throw new Error(
        `route '${route.name}' is routing traffic, and ClearML edits a route only while it is ` +
          "disabled: this update would disable it and stop its connections, which " +
          "allowDisruptiveEdits: false forbids. Nothing was changed. Set allowDisruptiveEdits: true, " +
          "or disable the route (enabled: false) in one update and edit it in the next",
      );
    }
    if (enabled) {
      await client.routes.setEnabled(route.id, false, active);
      enabled = false;
    }
    try {
      await client.routes.save({ id: route.id, ...desired(news), enabled: false }, marked(news));
    } catch (err) {
      // A lost answer may hide an edit that was made: say so rather than claim nothing changed.
      const outcome = hasCode(err, "APPGW_CONNECTION")
        ? "Whether the edit was applied is unknown (the answer was lost): run `pulumi up --refresh`."
        : "The route was left as it was.";
      const why = `route '${route.name}': the gateway refused the edit: ${refusal(err)}`;
      if (route.enabled) {
        try {
          await client.routes.setEnabled(route.id, true);
        } catch (restoreErr) {
          throw new Error(
            `${why}. Re-enabling the route also failed (${messageOf(restoreErr)}): ` +
              "it is disabled now; run `pulumi up` again",
          );
        }
      }
      throw new Error(`${why}. ${outcome}`);
    }
  }
  if (enabled !== news.enabled) {
    try {
      // Disabling on request: `force` is what the API needs for an active route.
      await client.routes.setEnabled(route.id, news.enabled, !news.enabled && active);
    } catch (err) {
      throw new Error(
        `route '${route.name}': ${news.enabled ? "enabling" : "disabling"} it failed` +
          `${enabled === route.enabled ? "" : " after its edit was applied (it is disabled now)"}: ` +
          `${messageOf(err)}. Run \`pulumi up\` again`,
      );
    }
  }
}

/** How long an update waits for the routers to serve a route it disabled and enabled again. */
const REROUTE_WAIT_MS = 10_000;
/** The longest pause between two reads while it waits; the first is 50 ms. */
const REROUTE_POLL_MS = 500;

/**
 * The route after `reconcile` edited it, once the routers that served it before serve it again.
 * ClearML edits a route only while it is disabled: the routers drop it meanwhile, and what they
 * compute (`urls`, `status`, `targets`) comes back with their next report, a moment after the
 * route is enabled. Read at once, an update would record `urls: []` for a route that routes as
 * before; a refresh corrects the resource's state, but not the stack outputs a program made from
 * it (`export const urls = route.urls`), which only the next `up` computes. Bounded: a router
 * that went away meanwhile never reports again, and the route is then recorded as it is.
 */
async function rerouted(
  client: AppGatewayClient,
  before: Route,
  news: StaticRouteInputs,
): Promise<Route> {
  let route = await mustGet(client, before.id, news.name);
  const served = (r: Route) => (r.urls ?? []).length;
  const edited = before.enabled && news.enabled && detailsDiffer(before, news);
  if (!edited || served(before) === 0) return route;
  const deadline = Date.now() + REROUTE_WAIT_MS;
  let pause = 50;
  while (served(route) < served(before) && Date.now() < deadline) {
    await sleep(pause);
    pause = Math.min(pause * 2, REROUTE_POLL_MS);
    route = await mustGet(client, before.id, news.name);
  }
  return route;
}

/**
 * True when the route's managed-by marker names the stack and the resource that `marker` (the
 * `__managedBy` input) names.
 */
function managedByThis(route: Route, marker: string | undefined): boolean {
  const m = route.managed_by;
  if (!m || !marker) return false;
  const ours = new URLSearchParams(marker);
  return (
    m.tool === ours.get("tool") &&
    m.stack === ours.get("stack") &&
    m.resource === ours.get("resource")
  );
}

/**
 * The route a refused or unanswered create left on the gateway, if it is this resource's to take.
 * A run killed between the gateway's answer and Pulumi's state (kill -9, a CI timeout) leaves
 * such a route, and taking it lets the next `up` converge with nothing duplicated or missing.
 * Only a route exactly as asked counts, whose managed-by marker names this stack and this
 * resource: stacks may share one account, so who wrote a route does not say whose it is, and a
 * route taken from another stack would be deleted by the destroy of either. It must also be our
 * own identity's, unless the answer was lost (then it may be this very request's). A ClearML
 * server returns no marker, so nothing is taken there: the create fails with the adopt advice,
 * which a person can follow, rather than silently share another stack's route.
 */
async function leftover(
  client: AppGatewayClient,
  err: unknown,
  inputs: StaticRouteInputs,
): Promise<Route | undefined> {
  const found = await client.routes.findByName(inputs.name).catch(() => undefined);
  if (!found || detailsDiffer(found, inputs) || !managedByThis(found, inputs.__managedBy)) {
    return undefined;
  }
  if (hasCode(err, "APPGW_CONNECTION")) return found;
  const me = await client.users.me().catch(() => undefined);
  return found.updated_by && found.updated_by === me?.user.id ? found : undefined;
}

/** Explains a refused create, deciding by listing whether the name is taken, and by whom. */
async function createError(
  client: AppGatewayClient,
  err: unknown,
  inputs: StaticRouteInputs,
): Promise<Error> {
  const holder = await client.routes.findByName(inputs.name).catch(() => undefined);
  if (!holder) return new Error(`route '${inputs.name}': ${refusal(err)}`);
  const taken = `a route named '${inputs.name}' already exists on the gateway (${holder.id})`;
  const m = holder.managed_by;
  if (m && !managedByThis(holder, inputs.__managedBy)) {
    // Adopting it here would give one route to two stacks.
    return new Error(
      `${taken}, managed by stack '${m.stack}' (resource '${m.resource}'). Choose another name, ` +
        "or remove the route from that stack before taking it over here with `adopt: true`",
    );
  }
  const unmarked = m
    ? ""
    : " It names no stack that manages it (a ClearML server keeps no such marker), so it may be " +
      "another stack's.";
  return new Error(
    `${taken}.${unmarked} To manage it from this stack (it may be what an interrupted run of ` +
      "this one left) set `adopt: true` on the StaticRoute, or choose another name",
  );
}

export const staticRouteImpl: Implementation<StaticRouteInputs, StaticRouteState> = {
  nested: { key: "observed", fields: OBSERVED, copies: SETTINGS },

  async check(_olds, news) {
    return checkMarkedInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    // The route's identity is its id: a rename is an edit like any other. `__managedBy` is not
    // compared: it goes with the next write, and a change of it alone changes nothing.
    const changes =
      olds.name !== news.name ||
      olds.path !== news.path ||
      olds.subdomain !== news.subdomain ||
      olds.loadBalanced !== news.loadBalanced ||
      olds.authenticated !== news.authenticated ||
      olds.enabled !== news.enabled ||
      // State written before the input existed holds none: it meant the default.
      (olds.allowDisruptiveEdits ?? true) !== news.allowDisruptiveEdits ||
      // Unset leaves the route's groups alone; set, the list is ours, and from unset even `[]` is
      // a change: the update removes the groups added elsewhere.
      (news.accessGroups !== undefined &&
        (olds.accessGroups === undefined || !sameSet(olds.accessGroups, news.accessGroups)));
    // A replacement (`pulumi up --replace`) deletes first: the route's name is unique, and the
    // new resource records the same owner, so it would take the old route as an interrupted
    // run's, which the old one's delete would then remove.
    return { changes, deleteBeforeReplace: true };
  },

  async create(inputs, conn) {
    const client = clientFor(conn);
    if (inputs.adopt) {
      const existing = await client.routes.findByName(inputs.name);
      if (existing) {
        await reconcile(client, existing, inputs);
        const route = await mustGet(client, existing.id, inputs.name);
        return { id: existing.id, outs: await stateOf(client, route, inputs) };
      }
    }
    let id: string;
    try {
      id = await client.routes.save(
        { ...desired(inputs), enabled: inputs.enabled },
        marked(inputs),
      );
    } catch (err) {
      const found = await leftover(client, err, inputs);
      if (!found) throw await createError(client, err, inputs);
      id = found.id;
    }
    try {
      return { id, outs: await stateOf(client, await mustGet(client, id, inputs.name), inputs) };
    } catch (err) {
      // A failed create leaves nothing behind.
      await client.routes.delete([id], true).catch(() => undefined);
      throw err;
    }
  },

  async read(id, props, conn) {
    const client = clientFor(conn);
    const route = await readsFor(client).route(id);
    if (!route) return {};
    const state = await stateOf(client, route, props);
    return { id, props: state, inputs: inputsOf(state) };
  },

  async update(id, olds, news, conn) {
    const client = clientFor(conn);
    const before = await mustGet(client, id, olds.name);
    await reconcile(client, before, news);
    return { outs: await stateOf(client, await rerouted(client, before, news), news) };
  },

  async delete(id, _props, conn) {
    const client = clientFor(conn);
    // Most routes are not routing when they go: one call, without `force`. An active route is
    // refused without it (ClearML publishes no code for that: any 400), and only then is the
    // route read, fresh rather than from the process's shared listing (a task may have attached
    // since), to decide; existence too is decided by that read, as no "not found" code exists.
    try {
      await client.routes.delete([id], false);
      return;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 400) throw err;
    }
    const route = await readsFor(client).freshRoute(id);
    if (route) await client.routes.delete([id], route.status === "active");
  },
};
