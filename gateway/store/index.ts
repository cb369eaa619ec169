// The gateway's state, behind one module. Every method is synchronous (better-sqlite3) and
// either completes or changes nothing: multi-statement writes run in one transaction.
// Reads return the API's own shapes (sdk/contract.ts) so handlers stay thin.
//
// The Store opens the database, caches prepared statements and counts revisions; the state
// itself is in one repository per entity, each in its own file, built in dependency order:
//
//   users    users and credentials
//   groups   groups and members                       (reads users)
//   queues   queues, their entries, workers
//   tasks    tasks, runtime properties, logs          (reads users, queues)
//   routes   static routes, access rules, status      (reads users, groups, tasks, routers online)
//   routers  registration, config, reports, tests     (reads users, queues, tasks, routes)
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import { openDb, type Db } from "./db";
import { Groups } from "./groups";
import { Queues } from "./queues";
import { Routers } from "./routers";
import { Routes } from "./routes";
import type { StoreContext } from "./sql";
import { Tasks } from "./tasks";
import { Users } from "./users";

export { newId } from "./sql";
export { ROUTER_ONLINE_MS } from "./routers";
export { type RouteInput } from "./routes";
export { requestedEndpoints, type RequestedEndpoint } from "./tasks";
export { type UserRecord } from "./users";

export class Store {
  readonly db: Db;
  readonly users: Users;
  readonly groups: Groups;
  readonly queues: Queues;
  readonly tasks: Tasks;
  readonly routes: Routes;
  readonly routers: Routers;
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
    const ctx: StoreContext = {
      db: this.db,
      sql: (text) => this.sql(text),
      touch: () => this.touch(),
      wake: () => this.wake(),
      revision: () => this.rev,
    };
    this.users = new Users(ctx);
    this.groups = new Groups(ctx, this.users);
    this.queues = new Queues(ctx);
    this.tasks = new Tasks(ctx, this.users, this.queues);
    // Routes read which routers are online; routers read the routes for their config.
    this.routes = new Routes(ctx, {
      users: this.users,
      groups: this.groups,
      tasks: this.tasks,
      onlineRouters: () => this.routers.online(),
    });
    this.routers = new Routers(ctx, {
      users: this.users,
      groups: this.groups,
      queues: this.queues,
      tasks: this.tasks,
      routes: this.routes,
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
    this.wake();
  }

  /** Resolves the pending `waitForChange`s, after the caller's transaction commits. */
  private wake(): void {
    queueMicrotask(() => this.events.emit("change"));
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
