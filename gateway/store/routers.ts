// Routers: their registration and heartbeats, the config each one routes (enabled routes and
// the running tasks of its queues), the reports they send back, and the last test of each.
import {
  RUNTIME,
  type RouteConfig,
  type Router,
  type RouterTest,
  type ServiceConfig,
} from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import type { Groups } from "./groups";
import type { Queues } from "./queues";
import type { Routes } from "./routes";
import { filters, json, newId, now, parse, Repository, type Ref, type StoreContext } from "./sql";
import { requestedEndpoints, type Tasks } from "./tasks";
import type { Users } from "./users";

/** A router whose heartbeat is older than this is offline; its reports no longer count. */
export const ROUTER_ONLINE_MS = 30_000;

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

export class Routers extends Repository {
  constructor(
    ctx: StoreContext,
    private readonly deps: {
      users: Users;
      groups: Groups;
      queues: Queues;
      tasks: Tasks;
      routes: Routes;
    },
  ) {
    super(ctx);
  }

  register(r: {
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

  private row(id: string): RouterRow {
    const row = this.sql("SELECT * FROM routers WHERE id = ?").get(id) as RouterRow | undefined;
    if (!row)
      throw appgwError("APPGW_ROUTER_NOT_FOUND", `router ${id} not found`, { field: "router" });
    return row;
  }

  /** The router's id, name and URL; throws APPGW_ROUTER_NOT_FOUND. */
  ref(id: string): Ref & { url: string } {
    const r = this.row(id);
    return { id: r.id, name: r.name, url: r.url };
  }

  heartbeat(id: string): void {
    const changes = this.sql("UPDATE routers SET last_update = ? WHERE id = ?").run(
      now(),
      id,
    ).changes;
    if (!changes)
      throw appgwError("APPGW_ROUTER_NOT_FOUND", `router ${id} not found`, { field: "router" });
  }

  isOnline(id: string): boolean {
    return Date.now() - Date.parse(this.row(id).last_update) < ROUTER_ONLINE_MS;
  }

  /** The routers whose heartbeat is recent, by name. */
  online(): RouterRow[] {
    const cutoff = new Date(Date.now() - ROUTER_ONLINE_MS).toISOString();
    return this.sql("SELECT * FROM routers WHERE last_update >= ? ORDER BY name").all(
      cutoff,
    ) as RouterRow[];
  }

  delete(id: string): number {
    const changes = this.sql("DELETE FROM routers WHERE id = ?").run(id).changes;
    if (!changes)
      throw appgwError("APPGW_ROUTER_NOT_FOUND", `router ${id} not found`, { field: "router" });
    this.touch();
    return changes;
  }

  list(filter: { id?: string[]; name?: string }): Router[] {
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
      const row = this.deps.tasks.row(t.task);
      const runtime = parse<Record<string, string>>(row.runtime);
      const suffix = t.endpoint_name ? `__${t.endpoint_name}` : "";
      const endpoint = runtime[RUNTIME.endpoint + suffix];
      if (endpoint && endpoint.startsWith(r.url))
        out.push({ task: { id: t.task, name: t.task_name }, endpoint, owner: t.owner });
    }
    return out;
  }

  /** What a router routes: enabled static routes and the running tasks of its queues. */
  config(id: string): {
    revision: number;
    routes: RouteConfig[];
    services: ServiceConfig[];
    members: Record<string, string[]>;
  } {
    const revision = this.ctx.revision();
    const router = this.row(id);
    const routes = this.deps.routes.configs();
    const members = this.deps.groups.membership();
    return { revision, routes, services: this.servicesFor(router), members };
  }

  private servicesFor(router: RouterRow): ServiceConfig[] {
    const queues = parse<string[]>(router.queues);
    const out: ServiceConfig[] = [];
    for (const t of this.deps.tasks.externalServices()) {
      const runtime = parse<Record<string, string>>(t.runtime);
      const pinned = runtime[RUNTIME.router];
      if (
        pinned
          ? pinned !== router.name
          : queues.length > 0 &&
            !queues.includes(this.deps.queues.byId(t.queue_id ?? "")?.name ?? "")
      ) {
        continue;
      }
      const owner = this.deps.users.byId(t.user_id);
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
  report(
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
      this.heartbeat(id);
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

  /**
   * Ends the tests a previous process left `running` (it stopped mid-test): only the process
   * that started a test can finish it, so without this they would run for ever.
   */
  abandonRunningTests(reason: string): number {
    const ts = now();
    return this.sql(
      `UPDATE router_tests SET status = 'failed', status_reason = 'aborted', status_message = ?,
       completed = ?, log = json_insert(log, '$[#]', ?) WHERE status = 'running'`,
    ).run(reason, ts, `${ts} failed: ${reason}`).changes;
  }

  getTest(routerId: string): RouterTest | undefined {
    const row = this.sql("SELECT * FROM router_tests WHERE router_id = ?").get(routerId) as
      TestRow | undefined;
    if (!row) return undefined;
    const router = this.ref(routerId);
    return {
      router: { id: router.id, name: router.name },
      status: row.status,
      status_message: row.status_message,
      status_reason: row.status_reason,
      started: row.started,
      completed: row.completed,
      run_time_sec: row.run_time_sec,
      queue: this.deps.queues.byId(row.queue_id) ?? { id: row.queue_id, name: "" },
      worker: row.worker,
      task: { id: row.task_id, name: row.task_name },
      browser_endpoint: row.browser_endpoint,
      endpoint: row.endpoint,
      timeout_sec: row.timeout_sec,
      log: parse(row.log),
    };
  }
}
