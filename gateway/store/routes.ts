// Static routes and the groups that may use them. A route's status, URLs and targets come from
// what the routers online report routing, and its tasks from the running tasks that ask for it.
import {
  SYSTEM_GROUPS,
  type ParsedRequest,
  type Route,
  type RouteConfig,
  type RouteType,
} from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import type { Groups } from "./groups";
import type { OnlineRouter } from "./routers";
import type { AccessRules } from "./rules";
import {
  eq,
  inList,
  isUnique,
  newId,
  now,
  parse,
  regex,
  Repository,
  whereAll,
  type StoreContext,
} from "./sql";
import type { Tasks, TaskRow } from "./tasks";

interface RouteRow {
  id: string;
  name: string;
  path: string | null;
  subdomain: string | null;
  load_balanced: number;
  auth_enabled: number;
  enabled: number;
  created: string;
  last_update: string;
  updated_by: string;
  /** JSON of a RouteManager; NULL when no tool said it manages the route. */
  managed_by: string | null;
}

/**
 * The tool that manages a route, as the `X-Appgw-Managed-By` header of a write said
 * (gateway/api/handlers/routers.ts parses it). The reference gateway's own addition.
 */
export type RouteManager = {
  tool: "pulumi";
  /** `<project>/<stack>`. */
  stack: string;
  /** The resource's name in the stack. */
  resource: string;
};

export type RouteWrite = ParsedRequest<"routers.add_or_update_route">;

export interface RouteFilter {
  id?: string[];
  name?: string;
  path?: string;
  subdomain?: string;
  enabled?: boolean;
  auth_enabled?: boolean;
  type?: ("path" | "subdomain")[];
}

/** What the routers online report about routes, gathered once per listing. */
interface Reports {
  urls: Map<string, Set<string>>;
  /** route name → task id → upstream. */
  targets: Map<string, Map<string, string>>;
}

export class Routes extends Repository {
  /**
   * `onlineRouters` is a function, not the Routers repository: the gateway reads routes for
   * routers' configuration, so routes get only the one thing they read of routers.
   */
  constructor(
    ctx: StoreContext,
    private readonly deps: {
      groups: Groups;
      rules: AccessRules;
      tasks: Tasks;
      onlineRouters: () => OnlineRouter[];
    },
  ) {
    super(ctx);
  }

  private row(id: string): RouteRow | undefined {
    return this.sql("SELECT * FROM routes WHERE id = ?").get(id) as RouteRow | undefined;
  }

  /** The route; an unknown id is 400/10, naming `field`. */
  private require(id: string, field: string): RouteRow {
    const row = this.row(id);
    if (!row) {
      throw appgwError("APPGW_INVALID_ID", `${field}: no route with id '${id}'`, {
        field,
        reason: "unknown route id",
      });
    }
    return row;
  }

  /**
   * `routers.add_or_update_route`: creates the route, or updates the one `id` names. An update
   * keeps every field the request leaves out, name and type included (`routeShape`), and needs
   * the route disabled first. `managedBy` replaces the route's manager; without it an update
   * keeps the one it has: an edit from the console or the API is drift the managing stack will
   * see, and the route is still its.
   */
  upsert(body: RouteWrite, userId: string, managedBy?: RouteManager): string {
    return this.db.transaction(() => {
      const current = body.id === undefined ? undefined : this.require(body.id, "id");
      if (current?.enabled === 1) {
        throw appgwError(
          "APPGW_ROUTE_ENABLED",
          `route '${current.name}' is enabled: disable it first (routers.set_route_enabled)`,
          { field: "id", reason: "route is enabled" },
        );
      }
      const shape = routeShape(body, current);
      const groups = body.user_groups ?? (current ? this.groupsOf(current.id) : []);
      const authEnabled = body.auth_enabled ?? (current ? current.auth_enabled === 1 : true);
      if (!authEnabled && groups.length) {
        throw appgwError(
          "APPGW_INVALID_REQUEST",
          "user_groups: a route without authentication (auth_enabled: false) cannot have user groups",
          { field: "user_groups", reason: "must be empty when auth_enabled is false" },
        );
      }
      const unknown = this.deps.groups.unknown(groups);
      if (unknown.length) {
        throw appgwError(
          "APPGW_INVALID_ID",
          `user_groups: no group with id ${unknown.map((g) => `'${g}'`).join(", ")}`,
          {
            field: "user_groups",
            reason: `unknown group id(s): ${unknown.join(", ")}`,
          },
        );
      }
      const next = {
        ...shape,
        load_balanced: +(
          body.load_balancer?.enabled ?? (current ? current.load_balanced === 1 : true)
        ),
        auth_enabled: +authEnabled,
        enabled: +(body.enabled ?? (current ? current.enabled === 1 : true)),
      };
      const id = current?.id ?? newId();
      const ts = now();
      try {
        this.sql(
          `INSERT INTO routes (id, name, path, subdomain, load_balanced, auth_enabled, enabled, created, last_update, updated_by, managed_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, path = excluded.path,
               subdomain = excluded.subdomain, load_balanced = excluded.load_balanced,
               auth_enabled = excluded.auth_enabled, enabled = excluded.enabled,
               last_update = excluded.last_update, updated_by = excluded.updated_by,
               managed_by = COALESCE(excluded.managed_by, routes.managed_by)`,
        ).run(
          id,
          next.name,
          next.path,
          next.subdomain,
          next.load_balanced,
          next.auth_enabled,
          next.enabled,
          ts,
          ts,
          userId,
          managedBy ? JSON.stringify(managedBy) : null,
        );
      } catch (err) {
        throw this.conflict(err, next, id);
      }
      this.sql("DELETE FROM route_groups WHERE route_id = ?").run(id);
      const insert = this.sql("INSERT INTO route_groups (route_id, group_id) VALUES (?, ?)");
      for (const g of new Set(groups)) insert.run(id, g);
      this.touch();
      return id;
    })();
  }

  /** Turns a UNIQUE violation into 400/801 naming the route that holds the value. */
  private conflict(
    err: unknown,
    r: { name: string; path: string | null; subdomain: string | null },
    self: string,
  ): unknown {
    for (const field of ["name", "path", "subdomain"] as const) {
      if (!isUnique(err, `routes.${field}`)) continue;
      const holder = this.sql(`SELECT id, name FROM routes WHERE ${field} = ? AND id <> ?`).get(
        r[field],
        self,
      ) as { id: string; name: string } | undefined;
      return appgwError(
        "APPGW_ALREADY_EXISTS",
        `${field}: route '${holder?.name}' (${holder?.id}) already has ${field} '${r[field]}'`,
        { field, reason: "already in use", holder: holder?.name, holder_id: holder?.id },
      );
    }
    return err;
  }

  /** `routers.set_route_enabled`: disabling an active route needs `force`. */
  setEnabled(id: string, enabled: boolean, force: boolean, userId: string): void {
    this.db.transaction(() => {
      const row = this.require(id, "id");
      if ((row.enabled === 1) === enabled) return;
      if (!enabled && !force) this.refuseActive([row]);
      this.sql("UPDATE routes SET enabled = ?, last_update = ?, updated_by = ? WHERE id = ?").run(
        +enabled,
        now(),
        userId,
        id,
      );
      this.touch();
    })();
  }

  /** `routers.delete_routes`: unknown ids are skipped; an active route needs `force`. */
  delete(ids: string[], force: boolean): number {
    return this.db.transaction(() => {
      const { where, args } = whereAll([inList("id", ids)]);
      const rows = this.sql(`SELECT * FROM routes ${where}`).all(...args) as RouteRow[];
      if (!force) this.refuseActive(rows);
      if (!rows.length) return 0;
      const found = rows.map((r) => r.id);
      this.deps.rules.deleteForRoutes(found);
      const gone = whereAll([inList("id", found)]);
      const deleted = this.sql(`DELETE FROM routes ${gone.where}`).run(...gone.args).changes;
      this.touch();
      return deleted;
    })();
  }

  /** APPGW_ROUTE_ACTIVE (400/1102) when a router routes any of these routes to a task now. */
  private refuseActive(rows: RouteRow[]): void {
    const reports = this.reports();
    const active = rows.filter((r) => (reports.targets.get(r.name)?.size ?? 0) > 0);
    if (!active.length) return;
    throw appgwError(
      "APPGW_ROUTE_ACTIVE",
      `route(s) ${active.map((r) => `'${r.name}'`).join(", ")} are routing traffic now: pass force to go ahead`,
      { field: "force", reason: "route is active" },
    );
  }

  /** `routers.check_route_name`: is this name, path or subdomain free? */
  checkName(
    field: "name" | "path" | "subdomain",
    value: string,
  ): { available: boolean; route?: string } {
    const holder = this.sql(`SELECT id FROM routes WHERE ${field} = ?`).get(value) as
      { id: string } | undefined;
    return holder ? { available: false, route: holder.id } : { available: true };
  }

  list(filter: RouteFilter): Route[] {
    const types = filter.type;
    const { where, args } = whereAll([
      inList("id", filter.id),
      regex("name", filter.name),
      regex("path", filter.path),
      regex("subdomain", filter.subdomain),
      eq("enabled", filter.enabled === undefined ? undefined : +filter.enabled),
      eq("auth_enabled", filter.auth_enabled === undefined ? undefined : +filter.auth_enabled),
      types === undefined
        ? undefined
        : {
            sql: types.length
              ? `(${types.map((t) => (t === "path" ? "path IS NOT NULL" : "subdomain IS NOT NULL")).join(" OR ")})`
              : "0",
            args: [],
          },
    ]);
    const rows = this.sql(`SELECT * FROM routes ${where} ORDER BY created, name`).all(
      ...args,
    ) as RouteRow[];
    if (!rows.length) return [];
    const reports = this.reports();
    const requests = this.deps.tasks.routeRequests();
    return rows.map((row) => this.toRoute(row, reports, requests.get(row.name) ?? []));
  }

  private reports(): Reports {
    const out: Reports = { urls: new Map(), targets: new Map() };
    for (const router of this.deps.onlineRouters()) {
      for (const r of router.routes) {
        if (r.url) {
          const urls = out.urls.get(r.name) ?? new Set();
          out.urls.set(r.name, urls.add(r.url));
        }
        const targets = out.targets.get(r.name) ?? new Map<string, string>();
        for (const t of r.tasks) if (!targets.has(t.id)) targets.set(t.id, t.upstream_server);
        out.targets.set(r.name, targets);
      }
    }
    return out;
  }

  private toRoute(row: RouteRow, reports: Reports, requesting: TaskRow[]): Route {
    const targets = reports.targets.get(row.name);
    return {
      id: row.id,
      name: row.name,
      type: row.path !== null ? "path" : "subdomain",
      path: row.path,
      subdomain: row.subdomain,
      enabled: row.enabled === 1,
      auth_enabled: row.auth_enabled === 1,
      load_balancer: { enabled: row.load_balanced === 1 },
      user_groups: this.groupsOf(row.id),
      status: targets?.size ? "active" : "available",
      urls: [...(reports.urls.get(row.name) ?? [])].sort(),
      tasks: requesting.map((t) => ({
        id: t.id,
        name: t.name,
        project: t.project,
        target: targets?.get(t.id) ?? null,
      })),
      created: row.created,
      last_update: row.last_update,
      updated_by: row.updated_by,
      managed_by: row.managed_by === null ? null : parse<RouteManager>(row.managed_by),
    };
  }

  /** The route's own user_groups (ids). */
  private groupsOf(routeId: string): string[] {
    return (
      this.sql("SELECT group_id FROM route_groups WHERE route_id = ? ORDER BY group_id").all(
        routeId,
      ) as { group_id: string }[]
    ).map((r) => r.group_id);
  }

  /**
   * Who may use each route (enabled or not), by route name: its user_groups plus the groups and
   * users of the route rules naming it or every route (`*`). A route with any of these is
   * `restricted`: only they may use it, even when none is left.
   */
  private access(rows: RouteRow[]): Map<string, RouteAccess> {
    const grants = this.deps.rules.routeGrants();
    const out = new Map<string, RouteAccess>();
    for (const r of rows) {
      const own = grants.byRoute.get(r.id);
      const userGroups = this.groupsOf(r.id);
      const groups = new Set([...userGroups, ...grants.all.groups, ...(own?.groups ?? [])]);
      const users = new Set([...grants.all.users, ...(own?.users ?? [])]);
      out.set(r.name, {
        auth_enabled: r.auth_enabled === 1,
        restricted: userGroups.length > 0 || grants.ruled.has(r.id) || grants.ruled.has("*"),
        groups: [...groups].sort(),
        users: [...users].sort(),
      });
    }
    return out;
  }

  /**
   * Whose tasks may serve which route, with the current routes, rules and groups: unknown route
   * names are anyone's (nothing to protect). See `mayServe`.
   */
  servable(): (route: string, owner: string) => boolean {
    const access = this.access(this.sql("SELECT * FROM routes").all() as RouteRow[]);
    const members = this.deps.groups.membership();
    return (route, owner) => {
      const a = access.get(route);
      return a === undefined || mayServe(a, owner, members);
    };
  }

  /** The enabled routes, as every router is configured with them. */
  configs(): RouteConfig[] {
    const rows = this.sql(
      "SELECT * FROM routes WHERE enabled = 1 ORDER BY name",
    ).all() as RouteRow[];
    const access = this.access(rows);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      path: r.path,
      subdomain: r.subdomain,
      load_balancer: { enabled: r.load_balanced === 1 },
      ...access.get(r.name)!,
    }));
  }
}

type RouteAccess = Pick<RouteConfig, "auth_enabled" | "restricted" | "groups" | "users">;

const typeOf = (row: RouteRow): RouteType => (row.path !== null ? "path" : "subdomain");

/**
 * The name, path and subdomain of the route a write makes: an update keeps what it leaves out,
 * and its path or subdomain while the type stays. A create has nothing to keep, so it names the
 * route whole. Either way the result has a name, a type, the type's field and not the other;
 * else 400 naming the field (11 for what a create left out, 12 for the rest).
 */
function routeShape(
  body: RouteWrite,
  current: RouteRow | undefined,
): { name: string; path: string | null; subdomain: string | null } {
  const missing = (field: string) =>
    appgwError("APPGW_MISSING_FIELDS", `${field}: is required to create a route`, {
      field,
      reason: "is required",
    });
  const refuse = (field: string, reason: string) =>
    appgwError("APPGW_INVALID_REQUEST", `${field}: ${reason}`, { field, reason });
  const name = body.name ?? current?.name;
  const type = body.type ?? (current && typeOf(current));
  if (name === undefined) throw missing("name");
  if (type === undefined) throw missing("type");
  const [own, other] =
    type === "path" ? (["path", "subdomain"] as const) : (["subdomain", "path"] as const);
  if (body[other] !== undefined) throw refuse(other, `must not be set when type is '${type}'`);
  const value = body[own] ?? (current && typeOf(current) === type ? current[own] : null);
  if (value === null) throw refuse(own, `is required when type is '${type}'`);
  return {
    name,
    path: own === "path" ? value : null,
    subdomain: own === "subdomain" ? value : null,
  };
}

/**
 * Who may serve a static route: the task's owner must be someone the route is for. ClearML lets
 * users attach their apps to the routes they can access; a task of anyone else would receive
 * those users' traffic and identity headers. So a task serves a route when its owner
 *  - is an admin (admins define routes; serving one gives them nothing they lack), or
 *  - is among the route's users or in one of its groups (user_groups and access rules), or
 *  - may use it as any signed-in user may: an authenticated route that is not restricted.
 * A public route that lists no one is served by admins' tasks only. Applied with current
 * membership wherever the gateway says which tasks serve a route (router configurations, route
 * listings, the single-endpoint check), so a route that stops admitting an owner drops their task.
 */
export function mayServe(
  route: RouteAccess,
  owner: string,
  members: Readonly<Record<string, readonly string[]>>,
): boolean {
  const groups = members[owner];
  if (groups === undefined) return false; // the owner was deleted
  if (groups.includes(SYSTEM_GROUPS.admins.id)) return true;
  if (route.restricted) {
    return route.users.includes(owner) || route.groups.some((g) => groups.includes(g));
  }
  return route.auth_enabled;
}
