// Static routes and their access rules. A route's status, targets and URL come from what the
// routers online report routing (router_routes) and from the running tasks that ask for it.
import type { AccessRule, Route, RouteConfig } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import type { Groups } from "./groups";
import {
  eq,
  filters,
  inList,
  isUnique,
  newId,
  now,
  parse,
  Repository,
  whereAll,
  type Ref,
  type StoreContext,
} from "./sql";
import type { Tasks } from "./tasks";
import type { Users } from "./users";

interface RouteRow {
  id: string;
  name: string;
  path: string | null;
  subdomain: string | null;
  load_balanced: number;
  authenticated: number;
  enabled: number;
  created: string;
  last_update: string;
  updated_by: string;
}

export interface RouteInput {
  name: string;
  path: string | null;
  subdomain: string | null;
  loadBalanced: boolean;
  authenticated: boolean;
  enabled: boolean;
}

/** What a route needs of a router that is online: where it serves. */
export interface OnlineRouter {
  id: string;
  url: string;
  domain: string;
}

export class Routes extends Repository {
  /**
   * `onlineRouters` is a function, not the Routers repository: routers read routes for their
   * config, so routes get only the one thing they read of routers.
   */
  constructor(
    ctx: StoreContext,
    private readonly deps: {
      users: Users;
      groups: Groups;
      tasks: Tasks;
      onlineRouters: () => OnlineRouter[];
    },
  ) {
    super(ctx);
  }

  create(r: RouteInput, groups: string[] | undefined, userId: string): string {
    const id = newId();
    this.db.transaction(() => {
      const ts = now();
      try {
        this.sql(
          `INSERT INTO routes (id, name, path, subdomain, load_balanced, authenticated, enabled, created, last_update, updated_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          id,
          r.name,
          r.path,
          r.subdomain,
          +r.loadBalanced,
          +r.authenticated,
          +r.enabled,
          ts,
          ts,
          userId,
        );
      } catch (err) {
        throw this.conflict(err, r);
      }
      if (groups) this.setGroups(id, groups);
      this.touch();
    })();
    return id;
  }

  /** The stored inputs of a route; throws APPGW_ROUTE_NOT_FOUND. */
  input(id: string): RouteInput & { id: string } {
    const row = this.sql("SELECT * FROM routes WHERE id = ?").get(id) as RouteRow | undefined;
    if (!row)
      throw appgwError("APPGW_ROUTE_NOT_FOUND", `route ${id} not found`, { field: "route" });
    return {
      id: row.id,
      name: row.name,
      path: row.path,
      subdomain: row.subdomain,
      loadBalanced: row.load_balanced === 1,
      authenticated: row.authenticated === 1,
      enabled: row.enabled === 1,
    };
  }

  /** Edits a disabled route. The caller has merged and validated the new inputs. */
  update(id: string, r: RouteInput, groups: string[] | undefined, userId: string): void {
    this.db.transaction(() => {
      const current = this.input(id);
      if (current.enabled) {
        throw appgwError(
          "APPGW_ROUTE_ENABLED",
          `route '${current.name}' is enabled: disable it before editing (routers.disable_route)`,
          { field: "route" },
        );
      }
      try {
        this.sql(
          `UPDATE routes SET name = ?, path = ?, subdomain = ?, load_balanced = ?, authenticated = ?,
             last_update = ?, updated_by = ? WHERE id = ?`,
        ).run(r.name, r.path, r.subdomain, +r.loadBalanced, +r.authenticated, now(), userId, id);
      } catch (err) {
        throw this.conflict(err, r);
      }
      if (groups) this.setGroups(id, groups);
      this.touch();
    })();
  }

  setEnabled(id: string, enabled: boolean, userId: string): number {
    return this.db.transaction(() => {
      const current = this.input(id);
      if (current.enabled === enabled) return 0;
      this.sql("UPDATE routes SET enabled = ?, last_update = ?, updated_by = ? WHERE id = ?").run(
        +enabled,
        now(),
        userId,
        id,
      );
      if (!enabled) this.sql("DELETE FROM router_routes WHERE route_id = ?").run(id);
      this.touch();
      return 1;
    })();
  }

  delete(id: string): number {
    const changes = this.sql("DELETE FROM routes WHERE id = ?").run(id).changes;
    if (!changes)
      throw appgwError("APPGW_ROUTE_NOT_FOUND", `route ${id} not found`, { field: "route" });
    this.touch();
    return changes;
  }

  /** Turns a UNIQUE violation into the conflict that names the route holding the value. */
  private conflict(err: unknown, r: RouteInput): unknown {
    const holder = (column: "name" | "path" | "subdomain", value: string | null) =>
      (
        this.sql(`SELECT name FROM routes WHERE ${column} = ?`).get(value) as
          { name: string } | undefined
      )?.name;
    if (isUnique(err, "routes.name")) {
      return appgwError("APPGW_ROUTE_NAME_TAKEN", `a route named '${r.name}' exists`, {
        field: "name",
      });
    }
    if (isUnique(err, "routes.path")) {
      return appgwError(
        "APPGW_ROUTE_PATH_TAKEN",
        `path '${r.path}' is used by route '${holder("path", r.path)}'`,
        {
          field: "path",
          holder: holder("path", r.path),
        },
      );
    }
    if (isUnique(err, "routes.subdomain")) {
      const by = holder("subdomain", r.subdomain);
      return appgwError(
        "APPGW_ROUTE_SUBDOMAIN_TAKEN",
        `subdomain '${r.subdomain}' is used by route '${by}'`,
        {
          field: "subdomain",
          holder: by,
        },
      );
    }
    return err;
  }

  list(filter: { id?: string[]; name?: string; enabled?: boolean }): Route[] {
    const { where, args } = filters({ id: filter.id, name: filter.name, enabled: filter.enabled });
    const rows = this.sql(`SELECT * FROM routes ${where} ORDER BY created, name`).all(
      ...args,
    ) as RouteRow[];
    if (!rows.length) return [];
    const online = new Map(this.deps.onlineRouters().map((r) => [r.id, r]));
    const requested = this.deps.tasks.requestingTasks();
    return rows.map((row) => this.toRoute(row, online, requested));
  }

  private toRoute(
    row: RouteRow,
    online: ReadonlyMap<string, OnlineRouter>,
    requested: Map<string, Ref[]>,
  ): Route {
    const reports = this.sql(
      "SELECT router_id, targets, tasks FROM router_routes WHERE route_id = ?",
    ).all(row.id) as { router_id: string; targets: string; tasks: string }[];
    const targets = new Set<string>();
    const taskIds = new Set<string>();
    let routingVia: OnlineRouter | undefined;
    for (const rep of reports) {
      const router = online.get(rep.router_id);
      if (!router) continue;
      const t = parse<string[]>(rep.targets);
      t.forEach((x) => targets.add(x));
      parse<string[]>(rep.tasks).forEach((x) => taskIds.add(x));
      if (t.length && !routingVia) routingVia = router;
    }
    const enabled = row.enabled === 1;
    const waiting = requested.get(row.name) ?? [];
    const status: Route["status"] = !enabled
      ? "not_in_use"
      : targets.size
        ? "active"
        : waiting.length
          ? "pending"
          : "not_in_use";
    const taskRefs = enabled
      ? [
          ...new Map(
            [...waiting, ...this.deps.tasks.refs([...taskIds])].map((t) => [t.id, t]),
          ).values(),
        ]
      : [];
    const by = this.deps.users.byId(row.updated_by);
    return {
      id: row.id,
      name: row.name,
      enabled,
      status,
      type: row.path !== null ? "url" : "subdomain",
      path: row.path,
      subdomain: row.subdomain,
      load_balancer: { enabled: row.load_balanced === 1 },
      authenticated: row.authenticated === 1,
      access_groups: this.groupsOf(row.id),
      targets: status === "active" ? [...targets].sort() : [],
      tasks: taskRefs,
      route_url: routeUrl(row, status === "active" ? routingVia : undefined),
      created: row.created,
      last_update: row.last_update,
      updated_by: { id: row.updated_by, name: by?.name ?? "" },
    };
  }

  /** The enabled routes, as every router is configured with them. */
  configs(): RouteConfig[] {
    return (
      this.sql("SELECT * FROM routes WHERE enabled = 1 ORDER BY name").all() as RouteRow[]
    ).map((r) => ({
      id: r.id,
      name: r.name,
      path: r.path,
      subdomain: r.subdomain,
      load_balanced: r.load_balanced === 1,
      authenticated: r.authenticated === 1,
      groups: this.groupsOf(r.id).map((g) => g.id),
    }));
  }

  // --- access rules ---------------------------------------------------------------------------

  /** The groups the route's access rules admit. */
  groupsOf(routeId: string): Ref[] {
    return this.sql(
      "SELECT g.id, g.name FROM access_rules a JOIN groups g ON g.id = a.group_id WHERE a.route_id = ? ORDER BY g.name",
    ).all(routeId) as Ref[];
  }

  /** Replaces the route's rules with exactly these groups. */
  private setGroups(routeId: string, groups: string[]): void {
    const wanted = [...new Set(groups)];
    for (const g of wanted) this.deps.groups.require(g, "access_groups");
    const existing = new Set(this.groupsOf(routeId).map((g) => g.id));
    for (const g of existing) {
      if (!wanted.includes(g)) {
        this.sql("DELETE FROM access_rules WHERE route_id = ? AND group_id = ?").run(routeId, g);
      }
    }
    const insert = this.sql(
      "INSERT INTO access_rules (id, route_id, group_id, created) VALUES (?, ?, ?, ?)",
    );
    for (const g of wanted) if (!existing.has(g)) insert.run(newId(), routeId, g, now());
  }

  upsertRule(routeId: string, groupId: string): { id: string; created: boolean } {
    return this.db.transaction(() => {
      this.input(routeId);
      this.deps.groups.require(groupId, "group");
      const row = this.sql("SELECT id FROM access_rules WHERE route_id = ? AND group_id = ?").get(
        routeId,
        groupId,
      ) as { id: string } | undefined;
      if (row) return { id: row.id, created: false };
      const id = newId();
      this.sql(
        "INSERT INTO access_rules (id, route_id, group_id, created) VALUES (?, ?, ?, ?)",
      ).run(id, routeId, groupId, now());
      this.touch();
      return { id, created: true };
    })();
  }

  listRules(filter: { route?: string; group?: string }): AccessRule[] {
    const { where, args } = whereAll([
      eq("a.route_id", filter.route),
      eq("a.group_id", filter.group),
    ]);
    const rows = this.sql(
      `SELECT a.id, a.created, r.id AS route_id, r.name AS route_name, g.id AS group_id, g.name AS group_name
         FROM access_rules a JOIN routes r ON r.id = a.route_id JOIN groups g ON g.id = a.group_id
         ${where} ORDER BY r.name, g.name`,
    ).all(...args) as {
      id: string;
      created: string;
      route_id: string;
      route_name: string;
      group_id: string;
      group_name: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      created: r.created,
      route: { id: r.route_id, name: r.route_name },
      group: { id: r.group_id, name: r.group_name },
    }));
  }

  deleteRules(filter: { ids?: string[]; route?: string; group?: string }): number {
    const { where, args } = whereAll([
      inList("id", filter.ids),
      eq("route_id", filter.route),
      eq("group_id", filter.group),
    ]);
    // The contract requires a filter; never let an empty one delete every rule.
    if (!where)
      throw appgwError("APPGW_INVALID_REQUEST", "give ids, route or group", { field: "ids" });
    const changes = this.sql(`DELETE FROM access_rules ${where}`).run(...args).changes;
    if (changes) this.touch();
    return changes;
  }
}

/** `<router url>/path` or `sub.<router domain>`; the template while no router routes it. */
function routeUrl(row: RouteRow, via: OnlineRouter | undefined): string {
  if (!via)
    return row.path !== null ? `<router url>${row.path}` : `${row.subdomain}.<router domain>`;
  if (row.path !== null) return `${via.url.replace(/\/+$/, "")}${row.path}`;
  const u = new URL(via.url);
  return `${u.protocol}//${row.subdomain}.${via.domain}${u.port ? `:${u.port}` : ""}`;
}
