// The gateway's state, behind one module. Every method is synchronous (better-sqlite3) and
// either completes or changes nothing: multi-statement writes run in one transaction.
// Reads return the API's own shapes (sdk/contract.ts) so handlers stay thin.
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import {
  EXTERNAL_SERVICE_TAG,
  RUNTIME,
  SYSTEM_GROUPS,
  type AccessRule,
  type Group,
  type Queue,
  type Route,
  type RouteConfig,
  type Router,
  type RouterTest,
  type ServiceConfig,
  type Task,
  type TaskStatus,
  type User,
  type Worker,
} from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import type Database from "better-sqlite3";
import { openDb, type Db } from "./db";

export const newId = (): string => randomUUID().replace(/-/g, "");
const now = (): string => new Date().toISOString();
const json = (v: unknown): string => JSON.stringify(v);
const parse = <T>(s: string): T => JSON.parse(s) as T;

/** A router whose heartbeat is older than this is offline; its reports no longer count. */
export const ROUTER_ONLINE_MS = 30_000;

interface Ref {
  id: string;
  name: string;
}

interface UserRow {
  id: string;
  name: string;
  admin: number;
  access_key: string;
  secret_hash: string;
  created: string;
}
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
interface TaskRow {
  id: string;
  name: string;
  type: string;
  status: TaskStatus;
  status_reason: string;
  status_message: string;
  queue_id: string | null;
  worker: string | null;
  user_id: string;
  system_tags: string;
  runtime: string;
  entry_point: string;
  params: string;
  created: string;
  started: string | null;
  completed: string | null;
  last_update: string;
}
interface RouterRow {
  id: string;
  name: string;
  url: string;
  domain: string;
  version: string;
  queues: string;
  started: string;
  last_update: string;
}
interface TestRow {
  router_id: string;
  status: RouterTest["status"];
  status_message: string;
  status_reason: RouterTest["status_reason"];
  started: string;
  completed: string | null;
  run_time_sec: number | null;
  queue_id: string;
  worker: string | null;
  task_id: string;
  task_name: string;
  browser_endpoint: string | null;
  endpoint: string | null;
  timeout_sec: number;
  log: string;
}

export interface UserRecord {
  id: string;
  name: string;
  admin: boolean;
  accessKey: string;
  secretHash: string;
}

export interface RouteInput {
  name: string;
  path: string | null;
  subdomain: string | null;
  loadBalanced: boolean;
  authenticated: boolean;
  enabled: boolean;
}

/** The endpoint a task asks for through its runtime properties (design note, gateway.md). */
export interface RequestedEndpoint {
  endpointName: string | null;
  protocol: "http" | "tcp";
  address: string;
  port: number;
  staticRoute: string | null;
}

/** Reads ClearML's `_SERVICE`, `_ADDRESS`, `_PORT`, `_ROUTER_ENDPOINT_MODE*` keys (and `__<name>` variants). */
export function requestedEndpoints(runtime: Record<string, string>): RequestedEndpoint[] {
  const out: RequestedEndpoint[] = [];
  for (const key of Object.keys(runtime)) {
    if (key !== RUNTIME.service && !key.startsWith(`${RUNTIME.service}__`)) continue;
    const suffix = key.slice(RUNTIME.service.length);
    const kind = runtime[key];
    if (kind !== "EXTERNAL" && kind !== "EXTERNAL_TCP") continue;
    const address = runtime[RUNTIME.address + suffix] ?? runtime[RUNTIME.address];
    const port = Number(runtime[RUNTIME.port + suffix]);
    if (!address || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const mode = runtime[RUNTIME.mode + suffix];
    const param = runtime[RUNTIME.modeParam + suffix];
    out.push({
      endpointName: suffix ? suffix.slice(2) : null,
      protocol: kind === "EXTERNAL_TCP" ? "tcp" : "http",
      address,
      port,
      staticRoute: mode === "path" && param ? param : null,
    });
  }
  return out;
}

export class Store {
  readonly db: Db;
  /** Bumped by every change a router must see; routers long-poll on it. */
  private rev = Date.now();
  private readonly events = new EventEmitter();
  private readonly statements = new Map<string, Database.Statement>();

  constructor(dataDir: string) {
    this.db = openDb(dataDir);
    this.events.setMaxListeners(0);
    const cache = new Map<string, RegExp>();
    this.db.function("regexp", { deterministic: true }, (pattern: unknown, value: unknown) => {
      const p = String(pattern);
      let re = cache.get(p);
      if (!re) {
        re = new RegExp(p);
        if (cache.size > 500) cache.clear();
        cache.set(p, re);
      }
      return re.test(String(value)) ? 1 : 0;
    });
    this.seedSystemGroups();
  }

  close(): void {
    this.db.close();
  }

  /** A prepared statement, compiled once per SQL text: preparing is the costly part. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      // Filters with id lists make many texts; keep the cache bounded.
      if (this.statements.size >= 1000) this.statements.clear();
      this.statements.set(text, statement);
    }
    return statement;
  }

  get revision(): number {
    return this.rev;
  }

  /** Resolves at the next change, or after `ms`. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off("change", done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.on("change", done);
      signal?.addEventListener("abort", done);
    });
  }

  /** Marks a change routers must see. Listeners run after the caller's transaction commits. */
  private touch(): void {
    this.rev++;
    queueMicrotask(() => this.events.emit("change"));
  }

  // --- meta -----------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    const row = this.sql("SELECT value FROM meta WHERE key = ?").get(key) as
      { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(key, value);
  }

  // --- users ----------------------------------------------------------------------------------

  countUsers(): number {
    return (this.sql("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  createUser(u: { name: string; admin: boolean; accessKey: string; secretHash: string }): string {
    const id = newId();
    try {
      this.sql(
        "INSERT INTO users (id, name, admin, access_key, secret_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(id, u.name, u.admin ? 1 : 0, u.accessKey, u.secretHash, now());
    } catch (err) {
      if (isUnique(err, "users.name")) {
        throw appgwError("APPGW_USER_NAME_TAKEN", `a user named '${u.name}' exists`, {
          field: "name",
        });
      }
      if (isUnique(err, "users.access_key")) {
        throw appgwError("APPGW_INVALID_REQUEST", "access_key is already in use", {
          field: "access_key",
        });
      }
      throw err;
    }
    return id;
  }

  /** Creates the user, or gives the existing one of that name these credentials. */
  upsertUserCredentials(u: {
    name: string;
    admin: boolean;
    accessKey: string;
    secretHash: string;
  }): string {
    return this.db.transaction(() => {
      const existing = this.sql("SELECT id FROM users WHERE name = ?").get(u.name) as
        { id: string } | undefined;
      if (!existing) return this.createUser(u);
      this.sql("UPDATE users SET admin = ?, access_key = ?, secret_hash = ? WHERE id = ?").run(
        u.admin ? 1 : 0,
        u.accessKey,
        u.secretHash,
        existing.id,
      );
      return existing.id;
    })();
  }

  userByAccessKey(accessKey: string): UserRecord | undefined {
    const row = this.sql("SELECT * FROM users WHERE access_key = ?").get(accessKey) as
      UserRow | undefined;
    return row && toUserRecord(row);
  }

  userById(id: string): UserRecord | undefined {
    const row = this.sql("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
    return row && toUserRecord(row);
  }

  listUsers(filter: { id?: string[]; name?: string }): User[] {
    const { where, args } = filters({ id: filter.id, name: filter.name });
    const rows = this.sql(`SELECT * FROM users ${where} ORDER BY created, name`).all(
      ...args,
    ) as UserRow[];
    return rows.map((r) => ({ id: r.id, name: r.name, admin: r.admin === 1, created: r.created }));
  }

  deleteUser(id: string): number {
    return this.sql("DELETE FROM users WHERE id = ?").run(id).changes;
  }

  /** Every group the user belongs to, built-in ones included. */
  groupsOfUser(user: { id: string; admin: boolean }): Ref[] {
    const custom = this.sql(
      `SELECT g.id, g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = ? AND g.id NOT IN (?, ?) ORDER BY g.name`,
    ).all(user.id, SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id) as Ref[];
    const builtin: Ref[] = [SYSTEM_GROUPS.users];
    if (user.admin) builtin.push(SYSTEM_GROUPS.admins);
    return [...builtin.map(({ id, name }) => ({ id, name })), ...custom];
  }

  // --- groups ---------------------------------------------------------------------------------

  private seedSystemGroups(): void {
    const insert = this.sql(
      "INSERT OR IGNORE INTO groups (id, name, description, system, created) VALUES (?, ?, ?, 1, ?)",
    );
    for (const g of Object.values(SYSTEM_GROUPS)) insert.run(g.id, g.name, g.description, now());
  }

  createGroup(g: { name: string; description: string; users: string[] }): string {
    const id = newId();
    this.db.transaction(() => {
      try {
        this.sql(
          "INSERT INTO groups (id, name, description, system, created) VALUES (?, ?, ?, 0, ?)",
        ).run(id, g.name, g.description, now());
      } catch (err) {
        if (isUnique(err, "groups.name")) {
          throw appgwError("APPGW_GROUP_NAME_TAKEN", `a group named '${g.name}' exists`, {
            field: "name",
          });
        }
        throw err;
      }
      this.setMembers(id, g.users);
    })();
    return id;
  }

  updateGroup(id: string, patch: { name?: string; description?: string; users?: string[] }): void {
    this.db.transaction(() => {
      const row = this.sql("SELECT system FROM groups WHERE id = ?").get(id) as
        { system: number } | undefined;
      if (!row)
        throw appgwError("APPGW_GROUP_NOT_FOUND", `group ${id} not found`, { field: "group" });
      const membersOnly =
        id === SYSTEM_GROUPS.queue_admins.id &&
        patch.name === undefined &&
        patch.description === undefined;
      if (row.system === 1 && !membersOnly) {
        throw appgwError(
          "APPGW_GROUP_SYSTEM",
          "built-in groups cannot be changed (only the members of 'Queue admins' can)",
          { field: "group" },
        );
      }
      if (patch.name !== undefined || patch.description !== undefined) {
        try {
          this.sql(
            "UPDATE groups SET name = coalesce(?, name), description = coalesce(?, description) WHERE id = ?",
          ).run(patch.name ?? null, patch.description ?? null, id);
        } catch (err) {
          if (isUnique(err, "groups.name")) {
            throw appgwError("APPGW_GROUP_NAME_TAKEN", `a group named '${patch.name}' exists`, {
              field: "name",
            });
          }
          throw err;
        }
      }
      if (patch.users) this.setMembers(id, patch.users);
    })();
  }

  private setMembers(groupId: string, users: string[]): void {
    const unique = [...new Set(users)];
    for (const u of unique) {
      if (!this.userById(u)) {
        throw appgwError("APPGW_USER_NOT_FOUND", `user ${u} not found`, { field: "users" });
      }
    }
    this.sql("DELETE FROM group_members WHERE group_id = ?").run(groupId);
    const insert = this.sql("INSERT INTO group_members (group_id, user_id) VALUES (?, ?)");
    for (const u of unique) insert.run(groupId, u);
  }

  deleteGroup(id: string): void {
    this.db.transaction(() => {
      const row = this.sql("SELECT system FROM groups WHERE id = ?").get(id) as
        { system: number } | undefined;
      if (!row)
        throw appgwError("APPGW_GROUP_NOT_FOUND", `group ${id} not found`, { field: "group" });
      if (row.system === 1) {
        throw appgwError("APPGW_GROUP_SYSTEM", "built-in groups cannot be deleted", {
          field: "group",
        });
      }
      const hadRules = this.sql("DELETE FROM access_rules WHERE group_id = ?").run(id).changes;
      this.sql("DELETE FROM groups WHERE id = ?").run(id);
      if (hadRules) this.touch();
    })();
  }

  listGroups(filter: { id?: string[]; name?: string }): Group[] {
    const { where, args } = filters({ id: filter.id, name: filter.name });
    const rows = this.sql(
      `SELECT id, name, description, system FROM groups ${where} ORDER BY system DESC, name`,
    ).all(...args) as { id: string; name: string; description: string; system: number }[];
    return rows.map((g) => ({
      id: g.id,
      name: g.name,
      description: g.description,
      system: g.system === 1,
      users: this.membersOf(g.id),
    }));
  }

  private membersOf(groupId: string): Ref[] {
    if (groupId === SYSTEM_GROUPS.users.id) {
      return this.sql("SELECT id, name FROM users ORDER BY name").all() as Ref[];
    }
    if (groupId === SYSTEM_GROUPS.admins.id) {
      return this.sql("SELECT id, name FROM users WHERE admin = 1 ORDER BY name").all() as Ref[];
    }
    return this.sql(
      "SELECT u.id, u.name FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.name",
    ).all(groupId) as Ref[];
  }

  // --- routes ---------------------------------------------------------------------------------

  createRoute(r: RouteInput, groups: string[] | undefined, userId: string): string {
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
        throw this.routeConflict(err, r);
      }
      if (groups) this.setRouteGroups(id, groups);
      this.touch();
    })();
    return id;
  }

  /** The stored inputs of a route; throws APPGW_ROUTE_NOT_FOUND. */
  routeInput(id: string): RouteInput & { id: string } {
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
  updateRoute(id: string, r: RouteInput, groups: string[] | undefined, userId: string): void {
    this.db.transaction(() => {
      const current = this.routeInput(id);
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
        throw this.routeConflict(err, r);
      }
      if (groups) this.setRouteGroups(id, groups);
      this.touch();
    })();
  }

  setRouteEnabled(id: string, enabled: boolean, userId: string): number {
    return this.db.transaction(() => {
      const current = this.routeInput(id);
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

  deleteRoute(id: string): number {
    const changes = this.sql("DELETE FROM routes WHERE id = ?").run(id).changes;
    if (!changes)
      throw appgwError("APPGW_ROUTE_NOT_FOUND", `route ${id} not found`, { field: "route" });
    this.touch();
    return changes;
  }

  /** Turns a UNIQUE violation into the conflict that names the route holding the value. */
  private routeConflict(err: unknown, r: RouteInput): unknown {
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

  listRoutes(filter: { id?: string[]; name?: string; enabled?: boolean }): Route[] {
    const { where, args } = filters({ id: filter.id, name: filter.name, enabled: filter.enabled });
    const rows = this.sql(`SELECT * FROM routes ${where} ORDER BY created, name`).all(
      ...args,
    ) as RouteRow[];
    if (!rows.length) return [];
    const routers = this.onlineRouters();
    const requested = this.requestingTasks();
    return rows.map((row) => this.toRoute(row, routers, requested));
  }

  private toRoute(row: RouteRow, routers: RouterRow[], requested: Map<string, Ref[]>): Route {
    const reports = this.sql(
      "SELECT router_id, targets, tasks FROM router_routes WHERE route_id = ?",
    ).all(row.id) as { router_id: string; targets: string; tasks: string }[];
    const online = new Map(routers.map((r) => [r.id, r]));
    const targets = new Set<string>();
    const taskIds = new Set<string>();
    let routingVia: RouterRow | undefined;
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
      ? [...new Map([...waiting, ...this.taskRefs([...taskIds])].map((t) => [t.id, t])).values()]
      : [];
    const by = this.userById(row.updated_by);
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
      access_groups: this.routeGroups(row.id),
      targets: status === "active" ? [...targets].sort() : [],
      tasks: taskRefs,
      route_url: routeUrl(row, status === "active" ? routingVia : undefined),
      created: row.created,
      last_update: row.last_update,
      updated_by: { id: row.updated_by, name: by?.name ?? "" },
    };
  }

  /** In-progress tasks asking for a static route, by route name. */
  private requestingTasks(): Map<string, Ref[]> {
    const out = new Map<string, Ref[]>();
    for (const t of this.externalServiceTasks()) {
      for (const ep of requestedEndpoints(parse(t.runtime))) {
        if (!ep.staticRoute) continue;
        const list = out.get(ep.staticRoute) ?? [];
        list.push({ id: t.id, name: t.name });
        out.set(ep.staticRoute, list);
      }
    }
    return out;
  }

  private externalServiceTasks(): TaskRow[] {
    return (
      this.sql(
        "SELECT * FROM tasks WHERE status = 'in_progress' ORDER BY created",
      ).all() as TaskRow[]
    ).filter((t) => parse<string[]>(t.system_tags).includes(EXTERNAL_SERVICE_TAG));
  }

  private taskRefs(ids: string[]): Ref[] {
    if (!ids.length) return [];
    return this.sql(`SELECT id, name FROM tasks WHERE id IN (${ids.map(() => "?").join(",")})`).all(
      ...ids,
    ) as Ref[];
  }

  // --- access rules ---------------------------------------------------------------------------

  routeGroups(routeId: string): Ref[] {
    return this.sql(
      "SELECT g.id, g.name FROM access_rules a JOIN groups g ON g.id = a.group_id WHERE a.route_id = ? ORDER BY g.name",
    ).all(routeId) as Ref[];
  }

  /** Replaces the route's rules with exactly these groups. */
  private setRouteGroups(routeId: string, groups: string[]): void {
    const wanted = [...new Set(groups)];
    for (const g of wanted) this.requireGroup(g, "access_groups");
    const existing = new Set(this.routeGroups(routeId).map((g) => g.id));
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

  private requireGroup(id: string, field: string): void {
    if (!this.sql("SELECT 1 FROM groups WHERE id = ?").get(id)) {
      throw appgwError("APPGW_GROUP_NOT_FOUND", `group ${id} not found`, { field });
    }
  }

  upsertRule(routeId: string, groupId: string): { id: string; created: boolean } {
    return this.db.transaction(() => {
      this.routeInput(routeId);
      this.requireGroup(groupId, "group");
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

  // --- queues and workers ---------------------------------------------------------------------

  createQueue(name: string): string {
    const id = newId();
    try {
      this.sql("INSERT INTO queues (id, name, created) VALUES (?, ?, ?)").run(id, name, now());
    } catch (err) {
      if (isUnique(err, "queues.name")) {
        throw appgwError("APPGW_QUEUE_NAME_TAKEN", `a queue named '${name}' exists`, {
          field: "name",
        });
      }
      throw err;
    }
    return id;
  }

  queueById(id: string): Ref | undefined {
    return this.sql("SELECT id, name FROM queues WHERE id = ?").get(id) as Ref | undefined;
  }

  listQueues(filter: { id?: string[]; name?: string }): Queue[] {
    const { where, args } = filters({ id: filter.id, name: filter.name });
    const rows = this.sql(`SELECT * FROM queues ${where} ORDER BY name`).all(...args) as {
      id: string;
      name: string;
      created: string;
    }[];
    return rows.map((q) => ({
      id: q.id,
      name: q.name,
      created: q.created,
      entries: this.sql(
        "SELECT task_id AS task, added FROM queue_entries WHERE queue_id = ? ORDER BY seq",
      ).all(q.id) as { task: string; added: string }[],
      workers: this.workersOf(q.id).map((w) => w.id),
    }));
  }

  deleteQueue(id: string): number {
    return this.sql("DELETE FROM queues WHERE id = ?").run(id).changes;
  }

  /** Takes the oldest entry of the queue, if any. */
  popQueue(queueId: string): { task: string; added: string } | null {
    return this.db.transaction(() => {
      const row = this.sql(
        "SELECT seq, task_id, added FROM queue_entries WHERE queue_id = ? ORDER BY seq LIMIT 1",
      ).get(queueId) as { seq: number; task_id: string; added: string } | undefined;
      if (!row) return null;
      this.sql("DELETE FROM queue_entries WHERE seq = ?").run(row.seq);
      return { task: row.task_id, added: row.added };
    })();
  }

  registerWorker(id: string, queues: string[]): void {
    const ts = now();
    this.sql(
      `INSERT INTO workers (id, queues, task, registered, last_activity) VALUES (?, ?, NULL, ?, ?)
         ON CONFLICT(id) DO UPDATE SET queues = excluded.queues, last_activity = excluded.last_activity`,
    ).run(id, json(queues), ts, ts);
  }

  /** Records activity; returns this worker's tasks that were stopped meanwhile. */
  workerHeartbeat(id: string, task: string | null | undefined): string[] {
    const changes = this.sql("UPDATE workers SET last_activity = ?, task = ? WHERE id = ?").run(
      now(),
      task ?? null,
      id,
    ).changes;
    if (!changes)
      throw appgwError("APPGW_INVALID_REQUEST", `worker '${id}' is not registered`, {
        field: "worker",
      });
    return (
      this.sql("SELECT id FROM tasks WHERE worker = ? AND status = 'stopped'").all(id) as {
        id: string;
      }[]
    ).map((r) => r.id);
  }

  unregisterWorker(id: string): void {
    this.sql("DELETE FROM workers WHERE id = ?").run(id);
  }

  listWorkers(queue?: string): Worker[] {
    const rows = this.sql("SELECT * FROM workers ORDER BY id").all() as {
      id: string;
      queues: string;
      task: string | null;
      registered: string;
      last_activity: string;
    }[];
    return rows
      .map((w) => ({
        id: w.id,
        task: w.task,
        registered: w.registered,
        last_activity: w.last_activity,
        queues: parse<string[]>(w.queues)
          .map((q) => this.queueById(q))
          .filter((q): q is Ref => q !== undefined),
      }))
      .filter((w) => !queue || w.queues.some((q) => q.id === queue));
  }

  /** Workers serving the queue whose last activity is recent. */
  workersOf(queueId: string, activeWithinMs = 60_000): Worker[] {
    const cutoff = Date.now() - activeWithinMs;
    return this.listWorkers(queueId).filter((w) => Date.parse(w.last_activity) >= cutoff);
  }

  // --- tasks ----------------------------------------------------------------------------------

  createTask(t: {
    name: string;
    type: string;
    entryPoint: string;
    params: Record<string, string>;
    systemTags: string[];
    userId: string;
  }): string {
    const id = newId();
    const ts = now();
    this.sql(
      `INSERT INTO tasks (id, name, type, status, user_id, system_tags, runtime, entry_point, params, created, last_update)
         VALUES (?, ?, ?, 'created', ?, ?, '{}', ?, ?, ?, ?)`,
    ).run(id, t.name, t.type, t.userId, json(t.systemTags), t.entryPoint, json(t.params), ts, ts);
    return id;
  }

  private taskRow(id: string): TaskRow {
    const row = this.sql("SELECT * FROM tasks WHERE id = ?").get(id) as TaskRow | undefined;
    if (!row) throw appgwError("APPGW_TASK_NOT_FOUND", `task ${id} not found`, { field: "task" });
    return row;
  }

  getTask(id: string): Task {
    return this.toTask(this.taskRow(id));
  }

  listTasks(filter: {
    id?: string[];
    name?: string;
    status?: TaskStatus[];
    systemTags?: string[];
  }): Task[] {
    const { where, args } = filters({ id: filter.id, name: filter.name });
    let rows = this.sql(`SELECT * FROM tasks ${where} ORDER BY created`).all(...args) as TaskRow[];
    if (filter.status) rows = rows.filter((r) => filter.status?.includes(r.status));
    if (filter.systemTags) {
      rows = rows.filter((r) => {
        const tags = parse<string[]>(r.system_tags);
        return filter.systemTags?.every((t) => tags.includes(t));
      });
    }
    return rows.map((r) => this.toTask(r));
  }

  private toTask(r: TaskRow): Task {
    const owner = this.userById(r.user_id);
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      status: r.status,
      status_reason: r.status_reason,
      status_message: r.status_message,
      queue: r.queue_id ? (this.queueById(r.queue_id) ?? null) : null,
      worker: r.worker,
      user: { id: r.user_id, name: owner?.name ?? "" },
      system_tags: parse(r.system_tags),
      runtime: parse(r.runtime),
      entry_point: r.entry_point,
      params: parse(r.params),
      created: r.created,
      started: r.started,
      completed: r.completed,
      last_update: r.last_update,
    };
  }

  enqueueTask(taskId: string, queueId: string): void {
    this.db.transaction(() => {
      const task = this.taskRow(taskId);
      if (!this.queueById(queueId)) {
        throw appgwError("APPGW_QUEUE_NOT_FOUND", `queue ${queueId} not found`, { field: "queue" });
      }
      if (task.status !== "created" && task.status !== "stopped" && task.status !== "failed") {
        throw appgwError(
          "APPGW_TASK_STATE",
          `task is ${task.status}; only created, stopped or failed tasks can be enqueued`,
          {
            field: "task",
          },
        );
      }
      this.sql(
        "UPDATE tasks SET status = 'queued', queue_id = ?, last_update = ? WHERE id = ?",
      ).run(queueId, now(), taskId);
      this.sql("INSERT INTO queue_entries (queue_id, task_id, added) VALUES (?, ?, ?)").run(
        queueId,
        taskId,
        now(),
      );
    })();
    queueMicrotask(() => this.events.emit("change"));
  }

  editTask(taskId: string, patch: { name?: string; systemTags?: string[] }): void {
    this.taskRow(taskId);
    this.sql(
      "UPDATE tasks SET name = coalesce(?, name), system_tags = coalesce(?, system_tags), last_update = ? WHERE id = ?",
    ).run(patch.name ?? null, patch.systemTags ? json(patch.systemTags) : null, now(), taskId);
    this.touch();
  }

  /**
   * Merges runtime properties (null removes a key). A task may not attach to a single-endpoint
   * static route that another running task already uses.
   */
  editRuntime(taskId: string, patch: Record<string, string | null>): void {
    this.db.transaction(() => {
      const row = this.taskRow(taskId);
      const runtime = parse<Record<string, string>>(row.runtime);
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete runtime[k];
        else runtime[k] = v;
      }
      for (const ep of requestedEndpoints(runtime)) {
        if (ep.staticRoute) this.checkRouteFree(ep.staticRoute, taskId);
      }
      this.sql("UPDATE tasks SET runtime = ?, last_update = ? WHERE id = ?").run(
        json(runtime),
        now(),
        taskId,
      );
      // Endpoint write-backs come from routers themselves; they change nothing a router serves.
      const routingKeys = Object.keys(patch).some(
        (k) => !k.startsWith(RUNTIME.endpoint) && !k.startsWith(RUNTIME.browserEndpoint),
      );
      if (routingKeys) this.touch();
    })();
  }

  private checkRouteFree(routeName: string, taskId: string): void {
    const route = this.sql("SELECT load_balanced FROM routes WHERE name = ?").get(routeName) as
      { load_balanced: number } | undefined;
    if (!route || route.load_balanced === 1) return;
    const other = (this.requestingTasks().get(routeName) ?? []).find((t) => t.id !== taskId);
    if (other) {
      throw appgwError(
        "APPGW_ROUTE_BUSY",
        `static route '${routeName}' is single-endpoint and already serves task '${other.name}' (${other.id})`,
        { field: "runtime", holder: other.id },
      );
    }
  }

  /** Moves a task through its life: queued → in_progress → completed | failed | stopped. */
  setTaskStatus(
    taskId: string,
    status: TaskStatus,
    extra: { worker?: string; reason?: string; message?: string } = {},
  ): void {
    this.db.transaction(() => {
      const row = this.taskRow(taskId);
      const allowed: Record<TaskStatus, TaskStatus[]> = {
        created: [],
        queued: [],
        in_progress: ["queued"],
        completed: ["in_progress"],
        failed: ["queued", "in_progress"],
        stopped: ["created", "queued", "in_progress"],
      };
      if (!allowed[status].includes(row.status)) {
        throw appgwError("APPGW_TASK_STATE", `task is ${row.status}; it cannot become ${status}`, {
          field: "task",
        });
      }
      const ts = now();
      this.sql(
        `UPDATE tasks SET status = ?, worker = coalesce(?, worker), status_reason = coalesce(?, status_reason),
           status_message = coalesce(?, status_message), started = CASE WHEN ? = 'in_progress' THEN ? ELSE started END,
           completed = CASE WHEN ? IN ('completed', 'failed', 'stopped') THEN ? ELSE completed END, last_update = ?
           WHERE id = ?`,
      ).run(
        status,
        extra.worker ?? null,
        extra.reason ?? null,
        extra.message ?? null,
        status,
        ts,
        status,
        ts,
        ts,
        taskId,
      );
      if (status === "stopped" || status === "failed") {
        this.sql("DELETE FROM queue_entries WHERE task_id = ?").run(taskId);
      }
      this.touch();
    })();
  }

  addLog(taskId: string, lines: string[]): number {
    this.taskRow(taskId);
    const insert = this.sql("INSERT INTO task_log (task_id, timestamp, msg) VALUES (?, ?, ?)");
    const ts = now();
    this.db.transaction(() => lines.forEach((l) => insert.run(taskId, ts, l)))();
    return lines.length;
  }

  getLog(taskId: string): { timestamp: string; msg: string }[] {
    this.taskRow(taskId);
    return this.sql("SELECT timestamp, msg FROM task_log WHERE task_id = ? ORDER BY seq").all(
      taskId,
    ) as { timestamp: string; msg: string }[];
  }

  // --- routers --------------------------------------------------------------------------------

  registerRouter(r: {
    name: string;
    url: string;
    version: string;
    queues: string[];
    domain: string;
  }): string {
    const ts = now();
    const existing = this.sql("SELECT id FROM routers WHERE name = ?").get(r.name) as
      { id: string } | undefined;
    const id = existing?.id ?? newId();
    this.sql(
      `INSERT INTO routers (id, name, url, domain, version, queues, started, last_update) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET url = excluded.url, domain = excluded.domain, version = excluded.version,
         queues = excluded.queues, started = excluded.started, last_update = excluded.last_update`,
    ).run(id, r.name, r.url, r.domain, r.version, json(r.queues), ts, ts);
    this.touch();
    return id;
  }

  private routerRow(id: string): RouterRow {
    const row = this.sql("SELECT * FROM routers WHERE id = ?").get(id) as RouterRow | undefined;
    if (!row)
      throw appgwError("APPGW_ROUTER_NOT_FOUND", `router ${id} not found`, { field: "router" });
    return row;
  }

  routerRef(id: string): Ref & { url: string } {
    const r = this.routerRow(id);
    return { id: r.id, name: r.name, url: r.url };
  }

  routerHeartbeat(id: string): void {
    const changes = this.sql("UPDATE routers SET last_update = ? WHERE id = ?").run(
      now(),
      id,
    ).changes;
    if (!changes)
      throw appgwError("APPGW_ROUTER_NOT_FOUND", `router ${id} not found`, { field: "router" });
  }

  isRouterOnline(id: string): boolean {
    return Date.now() - Date.parse(this.routerRow(id).last_update) < ROUTER_ONLINE_MS;
  }

  private onlineRouters(): RouterRow[] {
    const cutoff = new Date(Date.now() - ROUTER_ONLINE_MS).toISOString();
    return this.sql("SELECT * FROM routers WHERE last_update >= ? ORDER BY name").all(
      cutoff,
    ) as RouterRow[];
  }

  deleteRouter(id: string): number {
    const changes = this.sql("DELETE FROM routers WHERE id = ?").run(id).changes;
    if (!changes)
      throw appgwError("APPGW_ROUTER_NOT_FOUND", `router ${id} not found`, { field: "router" });
    this.touch();
    return changes;
  }

  listRouters(filter: { id?: string[]; name?: string }): Router[] {
    const { where, args } = filters({ id: filter.id, name: filter.name });
    const rows = this.sql(`SELECT * FROM routers ${where} ORDER BY name`).all(
      ...args,
    ) as RouterRow[];
    return rows.map((r) => {
      const test = this.sql("SELECT status, started FROM router_tests WHERE router_id = ?").get(
        r.id,
      ) as { status: RouterTest["status"]; started: string } | undefined;
      const lastUpdate = Date.parse(r.last_update);
      return {
        id: r.id,
        name: r.name,
        url: r.url,
        domain: r.domain,
        version: r.version,
        queues: parse(r.queues),
        online: Date.now() - lastUpdate < ROUTER_ONLINE_MS,
        started: r.started,
        uptime_sec: Math.round((lastUpdate - Date.parse(r.started)) / 1000),
        last_update: r.last_update,
        last_tested: test?.started ?? null,
        test_status: test?.status ?? null,
        routed_tasks: this.routedTasks(r),
      };
    });
  }

  /** Tasks this router wrote an endpoint for and that are still running. */
  private routedTasks(r: RouterRow): Router["routed_tasks"] {
    const out: Router["routed_tasks"] = [];
    for (const t of this.servicesFor(r)) {
      const row = this.taskRow(t.task);
      const runtime = parse<Record<string, string>>(row.runtime);
      const suffix = t.endpoint_name ? `__${t.endpoint_name}` : "";
      const endpoint = runtime[RUNTIME.endpoint + suffix];
      if (endpoint && endpoint.startsWith(r.url))
        out.push({ task: { id: t.task, name: t.task_name }, endpoint, owner: t.owner });
    }
    return out;
  }

  /** What a router routes: enabled static routes and the running tasks of its queues. */
  routerConfig(id: string): { revision: number; routes: RouteConfig[]; services: ServiceConfig[] } {
    const revision = this.rev;
    const router = this.routerRow(id);
    const routes = (
      this.sql("SELECT * FROM routes WHERE enabled = 1 ORDER BY name").all() as RouteRow[]
    ).map((r) => ({
      id: r.id,
      name: r.name,
      path: r.path,
      subdomain: r.subdomain,
      load_balanced: r.load_balanced === 1,
      authenticated: r.authenticated === 1,
      groups: this.routeGroups(r.id).map((g) => g.id),
    }));
    return { revision, routes, services: this.servicesFor(router) };
  }

  private servicesFor(router: RouterRow): ServiceConfig[] {
    const queues = parse<string[]>(router.queues);
    const out: ServiceConfig[] = [];
    for (const t of this.externalServiceTasks()) {
      const runtime = parse<Record<string, string>>(t.runtime);
      const pinned = runtime[RUNTIME.router];
      if (
        pinned
          ? pinned !== router.name
          : queues.length > 0 && !queues.includes(this.queueById(t.queue_id ?? "")?.name ?? "")
      ) {
        continue;
      }
      const owner = this.userById(t.user_id);
      for (const ep of requestedEndpoints(runtime)) {
        out.push({
          task: t.id,
          task_name: t.name,
          owner: { id: t.user_id, name: owner?.name ?? "" },
          endpoint_name: ep.endpointName,
          protocol: ep.protocol,
          address: ep.address,
          port: ep.port,
          static_route: ep.staticRoute,
          created: t.started ?? t.created,
        });
      }
    }
    return out;
  }

  /** Stores what a router routes, and writes endpoints back onto tasks. */
  routerReport(
    id: string,
    routes: { route: string; targets: string[]; tasks: string[] }[],
    endpoints: {
      task: string;
      endpoint_name: string | null;
      endpoint: string;
      browser_endpoint: string;
    }[],
  ): void {
    this.db.transaction(() => {
      this.routerHeartbeat(id);
      this.sql("DELETE FROM router_routes WHERE router_id = ?").run(id);
      const insert = this.sql(
        "INSERT INTO router_routes (router_id, route_id, targets, tasks) SELECT ?, id, ?, ? FROM routes WHERE id = ?",
      );
      for (const r of routes) insert.run(id, json(r.targets), json(r.tasks), r.route);
      for (const e of endpoints) {
        const row = this.sql("SELECT runtime FROM tasks WHERE id = ?").get(e.task) as
          { runtime: string } | undefined;
        if (!row) continue;
        const runtime = parse<Record<string, string>>(row.runtime);
        const suffix = e.endpoint_name ? `__${e.endpoint_name}` : "";
        runtime[RUNTIME.endpoint + suffix] = e.endpoint;
        runtime[RUNTIME.browserEndpoint + suffix] = e.browser_endpoint;
        this.sql("UPDATE tasks SET runtime = ? WHERE id = ?").run(json(runtime), e.task);
      }
    })();
  }

  // --- router tests ---------------------------------------------------------------------------

  saveTest(
    t: Omit<RouterTest, "router" | "queue" | "task"> & { router: string; queue: string; task: Ref },
  ): void {
    this.sql(
      `INSERT OR REPLACE INTO router_tests (router_id, status, status_message, status_reason, started, completed,
         run_time_sec, queue_id, worker, task_id, task_name, browser_endpoint, endpoint, timeout_sec, log)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      t.router,
      t.status,
      t.status_message,
      t.status_reason,
      t.started,
      t.completed,
      t.run_time_sec,
      t.queue,
      t.worker,
      t.task.id,
      t.task.name,
      t.browser_endpoint,
      t.endpoint,
      t.timeout_sec,
      json(t.log),
    );
  }

  getTest(routerId: string): RouterTest | undefined {
    const row = this.sql("SELECT * FROM router_tests WHERE router_id = ?").get(routerId) as
      TestRow | undefined;
    if (!row) return undefined;
    const router = this.routerRef(routerId);
    return {
      router: { id: router.id, name: router.name },
      status: row.status,
      status_message: row.status_message,
      status_reason: row.status_reason,
      started: row.started,
      completed: row.completed,
      run_time_sec: row.run_time_sec,
      queue: this.queueById(row.queue_id) ?? { id: row.queue_id, name: "" },
      worker: row.worker,
      task: { id: row.task_id, name: row.task_name },
      browser_endpoint: row.browser_endpoint,
      endpoint: row.endpoint,
      timeout_sec: row.timeout_sec,
      log: parse(row.log),
    };
  }
}

function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    name: row.name,
    admin: row.admin === 1,
    accessKey: row.access_key,
    secretHash: row.secret_hash,
  };
}

/** `<router url>/path` or `sub.<router domain>`; the template while no router routes it. */
function routeUrl(row: RouteRow, via: RouterRow | undefined): string {
  if (!via)
    return row.path !== null ? `<router url>${row.path}` : `${row.subdomain}.<router domain>`;
  if (row.path !== null) return `${via.url.replace(/\/+$/, "")}${row.path}`;
  const u = new URL(via.url);
  return `${u.protocol}//${row.subdomain}.${via.domain}${u.port ? `:${u.port}` : ""}`;
}

/** The `get_*` filters every listing shares: ids, a name regex, the enabled flag. */
function filters(f: { id?: string[]; name?: string; enabled?: boolean }): Where {
  return whereAll([
    inList("id", f.id),
    f.name === undefined ? undefined : { sql: "name REGEXP ?", args: [f.name] },
    eq("enabled", f.enabled === undefined ? undefined : +f.enabled),
  ]);
}

interface Where {
  where: string;
  args: unknown[];
}

/** `column = ?`, or nothing when the value is not given. */
function eq(column: string, value: unknown): { sql: string; args: unknown[] } | undefined {
  return value === undefined ? undefined : { sql: `${column} = ?`, args: [value] };
}

/** `column IN (...)`; an empty list matches nothing. */
function inList(
  column: string,
  values: string[] | undefined,
): { sql: string; args: unknown[] } | undefined {
  if (values === undefined) return undefined;
  return {
    sql: values.length ? `${column} IN (${values.map(() => "?").join(",")})` : "0",
    args: values,
  };
}

function whereAll(parts: ({ sql: string; args: unknown[] } | undefined)[]): Where {
  const given = parts.filter((p) => p !== undefined);
  return {
    where: given.length ? `WHERE ${given.map((p) => p.sql).join(" AND ")}` : "",
    args: given.flatMap((p) => p.args),
  };
}

function isUnique(err: unknown, column: string): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    (err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE" &&
    String((err as Error).message).includes(column)
  );
}
