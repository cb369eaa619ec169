import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { AppGatewayClient, Route } from "../sdk";
import { hasCode, routeName, routePath, subdomain } from "../sdk";
import { checkInputs, clientFor, isNotFound, sameSet, sorted, stringSet } from "./common";
import { providerShim, registeredProps, type Implementation } from "./shim";

export interface StaticRouteArgs {
  /** Route label. Tasks attach to the route by this name, so changing it replaces the route. */
  name: pulumi.Input<string>;
  /** URL path, beginning with `/` (`/llm`). Exactly one of `path` and `subdomain`. */
  path?: pulumi.Input<string>;
  /** Subdomain of the router's domain (`llm` for `llm.<router domain>`). */
  subdomain?: pulumi.Input<string>;
  /** Several targets behind the route, with session affinity. Default false (single endpoint). */
  loadBalanced?: pulumi.Input<boolean>;
  /** Only signed-in users may use the route. Default true; false makes it public. */
  authenticated?: pulumi.Input<boolean>;
  /**
   * Ids of the groups allowed to use the route (a Group's `id`, or `users`, `admins`,
   * `queue-admins`). When set, this resource owns the route's whole access list; leave it unset
   * to manage access with GroupAccess resources instead.
   */
  accessGroups?: pulumi.Input<pulumi.Input<string>[]>;
  /** Default true. A disabled route keeps its configuration but routes nothing. */
  enabled?: pulumi.Input<boolean>;
  /**
   * Take over a route of the same name that already exists on the gateway instead of failing
   * (dynamic resources cannot be imported; see the README). Default false.
   */
  adopt?: pulumi.Input<boolean>;
}

const inputsSchema = z
  .strictObject({
    name: routeName,
    path: routePath.optional(),
    subdomain: subdomain.optional(),
    loadBalanced: z.boolean().default(false),
    authenticated: z.boolean().default(true),
    accessGroups: stringSet().optional(),
    enabled: z.boolean().default(true),
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

type StaticRouteInputs = z.output<typeof inputsSchema>;

export const ROUTE_STATUS = {
  not_in_use: "Not In Use",
  pending: "Pending",
  active: "Routing",
} as const;

/** Everything the resource records: its inputs plus what the gateway computes. */
export interface StaticRouteState extends StaticRouteInputs {
  type: "URL" | "Subdomain";
  status: (typeof ROUTE_STATUS)[keyof typeof ROUTE_STATUS];
  routeUrl: string;
  targets: string[];
  tasks: string[];
  created: string;
  lastUpdated: string;
  updatedBy: string;
}

function stateOf(
  route: Route,
  managedGroups: boolean,
  adopt: boolean | undefined,
): StaticRouteState {
  return {
    name: route.name,
    ...(route.path !== null ? { path: route.path } : { subdomain: route.subdomain as string }),
    loadBalanced: route.load_balancer.enabled,
    authenticated: route.authenticated,
    ...(managedGroups ? { accessGroups: sorted(route.access_groups.map((g) => g.id)) } : {}),
    enabled: route.enabled,
    ...(adopt !== undefined ? { adopt } : {}),
    type: route.type === "url" ? "URL" : "Subdomain",
    status: ROUTE_STATUS[route.status],
    routeUrl: route.route_url,
    targets: route.targets,
    tasks: route.tasks.map((t) => t.name),
    created: route.created,
    lastUpdated: route.last_update,
    updatedBy: route.updated_by.name,
  };
}

function inputsOf(state: StaticRouteState): StaticRouteInputs {
  const { name, path, subdomain, loadBalanced, authenticated, accessGroups, enabled, adopt } =
    state;
  const inputs: StaticRouteInputs = { name, loadBalanced, authenticated, enabled };
  if (path !== undefined) inputs.path = path;
  if (subdomain !== undefined) inputs.subdomain = subdomain;
  if (accessGroups !== undefined) inputs.accessGroups = accessGroups;
  if (adopt !== undefined) inputs.adopt = adopt;
  return inputs;
}

/** The edit that needs the route disabled: everything but access, name and the enabled flag. */
function detailsDiffer(route: Route, news: StaticRouteInputs): boolean {
  return (
    route.path !== (news.path ?? null) ||
    route.subdomain !== (news.subdomain ?? null) ||
    route.load_balancer.enabled !== news.loadBalanced ||
    route.authenticated !== news.authenticated
  );
}

async function readBack(
  client: AppGatewayClient,
  id: string,
  inputs: StaticRouteInputs,
): Promise<StaticRouteState> {
  return stateOf(await client.routes.get(id), inputs.accessGroups !== undefined, inputs.adopt);
}

/**
 * Brings an existing route to `news`. The gateway refuses edits of an enabled route, so an
 * edit disables it, edits, and enables it again; if the edit is refused the route is restored
 * as it was. Access changes alone go through access rules and need no disable.
 */
async function reconcile(
  client: AppGatewayClient,
  route: Route,
  news: StaticRouteInputs,
): Promise<void> {
  let enabled = route.enabled;
  if (detailsDiffer(route, news)) {
    if (enabled) {
      await client.routes.disable(route.id);
      enabled = false;
    }
    try {
      await client.routes.update({
        route: route.id,
        path: news.path ?? null,
        subdomain: news.subdomain ?? null,
        load_balancer: { enabled: news.loadBalanced },
        authenticated: news.authenticated,
        access_groups: news.accessGroups,
      });
    } catch (err) {
      const why = `route '${route.name}': the gateway refused the edit: ${(err as Error).message}`;
      if (route.enabled) {
        try {
          await client.routes.enable(route.id);
        } catch (restoreErr) {
          throw new Error(
            `${why}. Re-enabling the unchanged route also failed (${(restoreErr as Error).message}): ` +
              "it is disabled now; run `pulumi up` again",
          );
        }
      }
      throw new Error(`${why}. The route was left as it was.`);
    }
  } else if (news.accessGroups !== undefined) {
    await setAccess(client, route, news.accessGroups);
  }
  if (enabled !== news.enabled) {
    await (news.enabled ? client.routes.enable(route.id) : client.routes.disable(route.id));
  }
}

/** Grants and revokes access rules until the route's groups are `wanted`; undoes itself on failure. */
async function setAccess(client: AppGatewayClient, route: Route, wanted: string[]): Promise<void> {
  const current = route.access_groups.map((g) => g.id);
  if (sameSet(current, wanted)) return;
  try {
    for (const g of wanted) if (!current.includes(g)) await client.groups.grant(route.id, g);
    for (const g of current)
      if (!wanted.includes(g)) await client.groups.revoke({ route: route.id, group: g });
  } catch (err) {
    await setAccess(client, await client.routes.get(route.id), current).catch(() => undefined);
    throw new Error(
      `route '${route.name}': changing its access groups failed: ${(err as Error).message}`,
    );
  }
}

function createError(err: unknown, inputs: StaticRouteInputs): Error {
  if (hasCode(err, "APPGW_ROUTE_NAME_TAKEN")) {
    return new Error(
      `a route named '${inputs.name}' already exists on the gateway. To manage it from this stack ` +
        "set `adopt: true` on the StaticRoute, or choose another name",
    );
  }
  if (hasCode(err, "APPGW_GROUP_NOT_FOUND")) {
    return new Error(`accessGroups: ${(err as Error).message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export const staticRouteImpl: Implementation<StaticRouteInputs, StaticRouteState> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    const replaces = olds.name !== news.name ? ["name"] : [];
    const changed =
      replaces.length > 0 ||
      olds.path !== news.path ||
      olds.subdomain !== news.subdomain ||
      olds.loadBalanced !== news.loadBalanced ||
      olds.authenticated !== news.authenticated ||
      olds.enabled !== news.enabled ||
      (news.accessGroups !== undefined && !sameSet(olds.accessGroups, news.accessGroups));
    return { changes: changed, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs, conn) {
    const client = clientFor(conn);
    if (inputs.adopt) {
      const existing = await client.routes.findByName(inputs.name);
      if (existing) {
        await reconcile(client, existing, inputs);
        return { id: existing.id, outs: await readBack(client, existing.id, inputs) };
      }
    }
    let id: string;
    try {
      ({ id } = await client.routes.create({
        name: inputs.name,
        path: inputs.path,
        subdomain: inputs.subdomain,
        load_balancer: { enabled: inputs.loadBalanced },
        authenticated: inputs.authenticated,
        access_groups: inputs.accessGroups,
        enabled: inputs.enabled,
      }));
    } catch (err) {
      // The answer was lost after the request went out: the route may exist. Adopt it only if
      // it is exactly what we asked for, so a retry is idempotent and nothing is duplicated.
      const found = hasCode(err, "APPGW_CONNECTION")
        ? await client.routes.findByName(inputs.name)
        : undefined;
      if (!found || detailsDiffer(found, inputs)) throw createError(err, inputs);
      id = found.id;
    }
    try {
      return { id, outs: await readBack(client, id, inputs) };
    } catch (err) {
      // A failed create leaves nothing behind.
      await client.routes.delete(id).catch(() => undefined);
      throw err;
    }
  },

  async read(id, props, conn) {
    let route: Route;
    try {
      route = await clientFor(conn).routes.get(id);
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
    const state = stateOf(route, props.accessGroups !== undefined, props.adopt);
    return { id, props: state, inputs: inputsOf(state) };
  },

  async update(id, olds, news, conn) {
    const client = clientFor(conn);
    let route: Route;
    try {
      route = await client.routes.get(id);
    } catch (err) {
      if (isNotFound(err)) {
        throw new Error(
          `route '${olds.name}' (${id}) no longer exists on the gateway: run \`pulumi refresh\`, then \`pulumi up\``,
        );
      }
      throw err;
    }
    await reconcile(client, route, news);
    return { outs: await readBack(client, id, news) };
  },

  async delete(id, _props, conn) {
    try {
      await clientFor(conn).routes.delete(id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};

/** The serialized provider: shared by every StaticRoute, since Pulumi caches serialization by identity. */
export const staticRouteProvider = providerShim(__filename, "staticRouteImpl");

/**
 * A static route of the gateway: a fixed URL (`<router url>/path` or `sub.<router domain>`)
 * that tasks attach to by name.
 *
 * The gateway refuses edits of an enabled route, so changing `path`, `subdomain`,
 * `loadBalanced` or `authenticated` disables the route, edits it and enables it again. During
 * that edit (a few milliseconds against the reference gateway) the route routes nothing: new
 * requests get 404 and its open connections are closed. If the edit is refused, the route is
 * restored as it was. Changing only `accessGroups` or `enabled` has no such gap. Renaming
 * replaces the route (delete, then create), since tasks find routes by name.
 */
export class StaticRoute extends pulumi.dynamic.Resource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly path: pulumi.Output<string | undefined>;
  declare public readonly subdomain: pulumi.Output<string | undefined>;
  declare public readonly loadBalanced: pulumi.Output<boolean>;
  declare public readonly authenticated: pulumi.Output<boolean>;
  declare public readonly accessGroups: pulumi.Output<string[] | undefined>;
  declare public readonly enabled: pulumi.Output<boolean>;
  /** `URL` or `Subdomain`. */
  declare public readonly type: pulumi.Output<string>;
  /** `Not In Use`, `Pending` or `Routing`. */
  declare public readonly status: pulumi.Output<string>;
  /** The URL while routing; the template (`<router url>/llm`) otherwise. */
  declare public readonly routeUrl: pulumi.Output<string>;
  /** `ip:port` of the internal endpoints behind the route. */
  declare public readonly targets: pulumi.Output<string[]>;
  /** Names of the tasks attached to the route. */
  declare public readonly tasks: pulumi.Output<string[]>;
  declare public readonly created: pulumi.Output<string>;
  declare public readonly lastUpdated: pulumi.Output<string>;
  declare public readonly updatedBy: pulumi.Output<string>;

  constructor(name: string, args: StaticRouteArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      staticRouteProvider,
      name,
      registeredProps(args, [
        "path",
        "subdomain",
        "loadBalanced",
        "authenticated",
        "accessGroups",
        "enabled",
        "type",
        "status",
        "routeUrl",
        "targets",
        "tasks",
        "created",
        "lastUpdated",
        "updatedBy",
      ]),
      opts,
      "appgw",
      "StaticRoute",
    );
  }
}
