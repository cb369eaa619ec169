import type { AccessRule, ActionRequest, ActionResponse, Route } from "./contract";
import type { CallOptions, Core } from "./core";

/** Static routes (`routers.*route*`). */
export class RoutesApi {
  constructor(private readonly core: Core) {}

  /**
   * `routers.add_or_update_route`: creates the route when `id` is absent, else updates it
   * (an enabled route must be disabled first). Returns the route's id. `opts.headers` go with
   * this call only (the provider's `X-Appgw-Managed-By`; docs/clearml-compatibility.md).
   */
  async save(
    body: ActionRequest<"routers.add_or_update_route">,
    opts?: CallOptions,
  ): Promise<string> {
    return (await this.core.call("routers.add_or_update_route", body, opts)).id;
  }
  /** `force` is needed to disable an active route. */
  async setEnabled(id: string, enabled: boolean, force = false): Promise<void> {
    await this.core.call("routers.set_route_enabled", { id, enabled, ...(force ? { force } : {}) });
  }
  /** `force` is needed to delete an active route. Returns how many were deleted. */
  async delete(ids: string[], force = false): Promise<number> {
    return (await this.core.call("routers.delete_routes", { ids, ...(force ? { force } : {}) }))
      .deleted;
  }
  /** Routes; `only_fields` always gets `name` and `type` too, which every route must have. */
  async list(filter: ActionRequest<"routers.get_routes"> = {}): Promise<Route[]> {
    const only = filter.only_fields;
    const body = only
      ? { ...filter, only_fields: [...new Set([...only, "name", "type"])] }
      : filter;
    return (await this.core.call("routers.get_routes", body)).routes;
  }
  /** The route with this id, or undefined: ClearML has no get-by-id, so this lists by id. */
  async get(id: string): Promise<Route | undefined> {
    return (await this.list({ id: [id] })).find((r) => r.id === id);
  }
  /** The route with exactly this name, or undefined (the `name` filter is a regex). */
  async findByName(name: string): Promise<Route | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` })).find((r) => r.name === name);
  }
  /** `routers.check_route_name`; the answer's shape is not published, so it is returned as is. */
  checkName(
    field: "name" | "path" | "subdomain",
    value: string,
  ): Promise<ActionResponse<"routers.check_route_name">> {
    return this.core.call("routers.check_route_name", { field, value });
  }
}

/** Escapes `value` for an exact match in ClearML's regex filters. */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Who may use a route: ClearML's route fields and the access rules that name it. */
export interface RouteAccess {
  /** No authentication: anyone reaching the router. */
  public: boolean;
  /** Ids of the groups admitted: the route's `user_groups`, then those of its access rules. */
  groups: string[];
  /** Users an access rule admits by name. */
  users: { id: string; name?: string | null }[];
  /**
   * Only those above may use it (the route names groups, or a rule names the route or `*`);
   * otherwise every signed-in user may. A restriction left empty admits no one.
   */
  restricted: boolean;
}

/** `routeAccess`: the route's own groups merged with the access rules naming it (or `*`). */
export function routeAccess(route: Route, rules: AccessRule[]): RouteAccess {
  const own = route.user_groups ?? [];
  const naming = rules.filter(
    (r) => r.entity_type === "route" && (r.entity_id === route.id || r.entity_id === "*"),
  );
  const groups = [
    ...new Set([...own, ...naming.flatMap((r) => (r.groups ?? []).map((g) => g.id))]),
  ];
  // A user named by two rules (the route's and `*`) is one user.
  const users = [...new Map(naming.flatMap((r) => r.users ?? []).map((u) => [u.id, u])).values()];
  return {
    public: !route.auth_enabled,
    groups: route.auth_enabled ? groups : [],
    users: route.auth_enabled ? users : [],
    restricted: route.auth_enabled && (own.length > 0 || naming.length > 0),
  };
}
