// Routers as they report themselves (`routers.task_router_report`): a router's id is its
// ROUTER_NAME; it is online while its last report is younger than the timeout it gave. What it
// reports routing (routes with their targets) is kept as sent, for the routes' derived fields.
import { RUNTIME, type ActionRequest, type Router } from "@appgw/sdk/contract";
import { json, now, parse, Repository, type StoreContext } from "./sql";
import type { Tasks } from "./tasks";

/** A router that gives no `timeout` is dropped after this many seconds without a report. */
const DEFAULT_ROUTER_TIMEOUT_SEC = 60;

type Report = ActionRequest<"routers.task_router_report">;
export type ReportedRoute = NonNullable<NonNullable<Report["status"]>["routes"]>[number];

interface RouterRow {
  id: string;
  url: string;
  version: string;
  timeout_sec: number;
  uptime: number | null;
  last_update_timestamp: number | null;
  routes: string;
  tasks: string;
  registered: string;
  last_report: string;
}

/** What a route reads of a router that is online. */
export interface OnlineRouter {
  id: string;
  url: string;
  routes: ReportedRoute[];
}

export class Routers extends Repository {
  constructor(
    ctx: StoreContext,
    private readonly tasks: Tasks,
  ) {
    super(ctx);
  }

  /**
   * Registers the router or refreshes it. The revision moves only when something a reader
   * derives changed (the router came online, or its URL, version, routes or tasks): routers
   * report every few seconds and would otherwise wake every long poll each time.
   */
  report(r: Report): void {
    this.db.transaction(() => {
      const before = this.sql("SELECT * FROM routers WHERE id = ?").get(r.router) as
        RouterRow | undefined;
      const ts = now();
      const routes = json(r.status?.routes ?? []);
      const tasks = json(r.status?.tasks ?? []);
      const timeout = r.timeout ?? DEFAULT_ROUTER_TIMEOUT_SEC;
      this.sql(
        `INSERT INTO routers (id, url, version, timeout_sec, uptime, last_update_timestamp, routes, tasks, registered, last_report)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET url = excluded.url, version = excluded.version,
             timeout_sec = excluded.timeout_sec, uptime = excluded.uptime,
             last_update_timestamp = excluded.last_update_timestamp, routes = excluded.routes,
             tasks = excluded.tasks, last_report = excluded.last_report`,
      ).run(
        r.router,
        r.url,
        r.version ?? "",
        timeout,
        r.status?.uptime ?? null,
        r.status?.last_update_timestamp ?? null,
        routes,
        tasks,
        ts,
        ts,
      );
      const changed =
        !before ||
        !isOnline(before) ||
        before.url !== r.url ||
        before.version !== (r.version ?? "") ||
        before.routes !== routes ||
        before.tasks !== tasks;
      if (changed) this.touch();
    })();
  }

  unregister(id: string): void {
    if (this.sql("DELETE FROM routers WHERE id = ?").run(id).changes) this.touch();
  }

  private onlineRows(): RouterRow[] {
    return (this.sql("SELECT * FROM routers ORDER BY id").all() as RouterRow[]).filter(isOnline);
  }

  /** The routers online now, with the routes they report. */
  online(): OnlineRouter[] {
    return this.onlineRows().map((r) => ({ id: r.id, url: r.url, routes: parse(r.routes) }));
  }

  /** `routers.get_task_routers`: the routers online, with the tasks they route. */
  list(): Router[] {
    return this.onlineRows().map((r) => {
      const routes = parse<ReportedRoute[]>(r.routes);
      const taskIds = [
        ...new Set([
          ...parse<string[]>(r.tasks),
          ...routes.flatMap((x) => x.tasks.map((t) => t.id)),
        ]),
      ];
      const rows = taskIds.length ? this.tasks.rows({ id: taskIds }) : [];
      return {
        router: r.id,
        url: r.url,
        version: r.version,
        uptime: r.uptime ?? Math.round((Date.now() - Date.parse(r.registered)) / 1000),
        last_update_timestamp:
          r.last_update_timestamp ?? Math.floor(Date.parse(r.last_report) / 1000),
        routes: routes.map((x) => ({ name: x.name, tasks: x.tasks.map((t) => t.id) })),
        tasks: rows.map((t) => ({
          id: t.id,
          name: t.name,
          user: t.user_id,
          endpoint: parse<Record<string, string>>(t.runtime)[RUNTIME.endpoint] ?? null,
        })),
      };
    });
  }
}

function isOnline(r: RouterRow): boolean {
  return Date.now() - Date.parse(r.last_report) < r.timeout_sec * 1000;
}
