// The gateway's state, behind one module. Every method is synchronous (better-sqlite3) and
// either completes or changes nothing: multi-statement writes run in one transaction.
// Reads return the API's own shapes (sdk/contract.ts) so handlers stay thin.
//
// The Store opens the database, caches prepared statements and counts revisions; the state
// itself is in one repository per entity, each in its own file, built in dependency order:
//
//   users        users and their key pairs
//   groups       groups and members                          (reads users)
//   rules        access rules                                (reads users, groups)
//   projects     projects (ClearML's SDK files tasks under them)
//   queues       queues, their entries, workers
//   tasks        tasks, runtime properties, console logs     (reads queues)
//   routers      what routers report                         (reads tasks)
//   routes       static routes, their status and tasks       (reads groups, rules, tasks, routers online)
//   routerTests  each router's latest test, from its task    (reads tasks, queues)
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import { RUNTIME, type ActionResponse, type ServiceConfig } from "@appgw/sdk/contract";
import { openDb, type Db } from "./db";
import { Groups } from "./groups";
import { Projects } from "./projects";
import { Queues } from "./queues";
import { RouterTests } from "./routerTests";
import { Routers } from "./routers";
import { Routes } from "./routes";
import { AccessRules } from "./rules";
import {
  DEFAULT_FILTER_BUDGET_MS,
  MATCH_FUNCTION,
  matchPattern,
  parse,
  type StoreContext,
} from "./sql";
import { requestedEndpoints, Tasks, type Runtime } from "./tasks";
import { Users } from "./users";

export { listing } from "./sql";
export { COMPANY, type ReportedStatus } from "./tasks";
export type { Role } from "./users";

export class Store {
  readonly db: Db;
  readonly users: Users;
  readonly groups: Groups;
  readonly rules: AccessRules;
  readonly projects: Projects;
  readonly queues: Queues;
  readonly tasks: Tasks;
  readonly routers: Routers;
  readonly routes: Routes;
  readonly routerTests: RouterTests;
  /**
   * Bumped by every change; routers and agents long-poll on it. It starts from the clock so a
   * client holding a number from before a restart never mistakes it for the current one.
   */
  private rev = Date.now();
  private readonly events = new EventEmitter();
  private readonly statements = new Map<string, Database.Statement>();

  /**
   * `filterBudgetMs`: how long one query may spend matching callers' regular expressions before
   * it is refused (a 400); the event loop waits that long. Default 20 ms (`APPGW_FILTER_BUDGET_MS`).
   */
  constructor(dataDir: string, opts: { filterBudgetMs?: number } = {}) {
    this.db = openDb(dataDir);
    this.events.setMaxListeners(0);
    const budget = opts.filterBudgetMs ?? DEFAULT_FILTER_BUDGET_MS;
    this.db.function(MATCH_FUNCTION, { deterministic: true }, (field, pattern, value) =>
      matchPattern(String(field), String(pattern), value, budget),
    );
    const ctx: StoreContext = {
      db: this.db,
      sql: (text) => this.sql(text),
      touch: () => this.touch(),
    };
    this.users = new Users(ctx);
    this.groups = new Groups(ctx, this.users);
    this.rules = new AccessRules(ctx, { users: this.users, groups: this.groups });
    this.projects = new Projects(ctx);
    this.queues = new Queues(ctx);
    this.tasks = new Tasks(ctx, {
      queues: this.queues,
      projects: this.projects,
      servable: () => this.routes.servable(),
    });
    this.routers = new Routers(ctx, this.tasks);
    this.routes = new Routes(ctx, {
      groups: this.groups,
      rules: this.rules,
      tasks: this.tasks,
      onlineRouters: () => this.routers.online(),
    });
    this.routerTests = new RouterTests({
      tasks: this.tasks,
      queues: this.queues,
      users: this.users,
    });
    this.groups.seedSystemGroups();
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

  /**
   * Resolves once the revision differs from `since`, after `ms`, or when `signal` aborts.
   * `!==` rather than `<`: after a restart the revision starts afresh, and a client holding any
   * other number must refetch at once.
   */
  async waitForRevision(since: number | undefined, ms: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + ms;
    while (since === this.rev && Date.now() < deadline && !signal.aborted) {
      await this.waitForChange(deadline - Date.now(), signal);
    }
  }

  private waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off("change", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.on("change", done);
      signal.addEventListener("abort", done);
    });
  }

  /** Marks a change. Listeners run after the caller's transaction commits. */
  private touch(): void {
    this.rev++;
    queueMicrotask(() => this.events.emit("change"));
  }

  /**
   * `appgw.get_router_config`: what a router routes. The enabled routes with who may use them,
   * the running tasks asking for endpoints (but those pinned to another router with `_ROUTER`,
   * and those naming a static route their owner may not serve), and every user's groups.
   */
  routerConfig(router: string): ActionResponse<"appgw.get_router_config"> {
    return this.db.transaction(() => ({
      revision: this.rev,
      routes: this.routes.configs(),
      services: this.services(router),
      members: this.groups.membership(),
    }))();
  }

  private services(router: string): ServiceConfig[] {
    const servable = this.routes.servable();
    const out: ServiceConfig[] = [];
    for (const t of this.tasks.externalServices()) {
      const runtime = parse<Runtime>(t.runtime);
      const pinned = runtime[RUNTIME.router];
      if (pinned && String(pinned) !== router) continue;
      const owner = this.users.byId(t.user_id);
      const queue = t.queue_id ? this.queues.byId(t.queue_id)?.name : undefined;
      for (const ep of requestedEndpoints(runtime)) {
        if (ep.staticRoute !== null && !servable(ep.staticRoute, t.user_id)) continue;
        out.push({
          task: t.id,
          task_name: t.name,
          owner: { id: t.user_id, name: owner?.name ?? "" },
          endpoint_name: ep.endpointName,
          protocol: ep.protocol,
          address: ep.address,
          port: ep.port,
          static_route: ep.staticRoute,
          queue: queue ?? null,
          created: t.started ?? t.created,
        });
      }
    }
    return out;
  }

  // --- meta: small named values (the token signing key) ----------------------------------------

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
}
