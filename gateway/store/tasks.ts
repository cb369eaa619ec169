// Tasks: their life (created → queued → in_progress → completed | failed | stopped), their
// runtime properties, their log, and the endpoints the running ones ask routers for.
import { EXTERNAL_SERVICE_TAG, RUNTIME, type Task, type TaskStatus } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import type { Queues } from "./queues";
import { filters, json, newId, now, parse, Repository, type Ref, type StoreContext } from "./sql";
import type { Users } from "./users";

export interface TaskRow {
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

export class Tasks extends Repository {
  constructor(
    ctx: StoreContext,
    private readonly users: Users,
    private readonly queues: Queues,
  ) {
    super(ctx);
  }

  create(t: {
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

  /** The stored row; throws APPGW_TASK_NOT_FOUND. For the other repositories. */
  row(id: string): TaskRow {
    const row = this.sql("SELECT * FROM tasks WHERE id = ?").get(id) as TaskRow | undefined;
    if (!row) throw appgwError("APPGW_TASK_NOT_FOUND", `task ${id} not found`, { field: "task" });
    return row;
  }

  get(id: string): Task {
    return this.toTask(this.row(id));
  }

  list(filter: {
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
    const owner = this.users.byId(r.user_id);
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      status: r.status,
      status_reason: r.status_reason,
      status_message: r.status_message,
      queue: r.queue_id ? (this.queues.byId(r.queue_id) ?? null) : null,
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

  enqueue(taskId: string, queueId: string): void {
    this.db.transaction(() => {
      const task = this.row(taskId);
      if (!this.queues.byId(queueId)) {
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
    // A queued task is nothing a router serves: wake the queue's long polls, keep the revision.
    this.ctx.wake();
  }

  edit(taskId: string, patch: { name?: string; systemTags?: string[] }): void {
    this.row(taskId);
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
      const row = this.row(taskId);
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
  setStatus(
    taskId: string,
    status: TaskStatus,
    extra: { worker?: string; reason?: string; message?: string } = {},
  ): void {
    this.db.transaction(() => {
      const row = this.row(taskId);
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
      // A task leaves its queue however it leaves `queued`: even a worker that started it
      // without popping it must not leave it for another worker to pop.
      if (status !== "queued") this.sql("DELETE FROM queue_entries WHERE task_id = ?").run(taskId);
      this.touch();
    })();
  }

  // --- log ------------------------------------------------------------------------------------

  addLog(taskId: string, lines: string[]): number {
    this.row(taskId);
    const insert = this.sql("INSERT INTO task_log (task_id, timestamp, msg) VALUES (?, ?, ?)");
    const ts = now();
    this.db.transaction(() => lines.forEach((l) => insert.run(taskId, ts, l)))();
    return lines.length;
  }

  getLog(taskId: string): { timestamp: string; msg: string }[] {
    this.row(taskId);
    return this.sql("SELECT timestamp, msg FROM task_log WHERE task_id = ? ORDER BY seq").all(
      taskId,
    ) as { timestamp: string; msg: string }[];
  }

  // --- what running tasks ask routers for (read by routes and routers) ------------------------

  /** In-progress tasks tagged as external services, oldest first. */
  externalServices(): TaskRow[] {
    return (
      this.sql(
        "SELECT * FROM tasks WHERE status = 'in_progress' ORDER BY created",
      ).all() as TaskRow[]
    ).filter((t) => parse<string[]>(t.system_tags).includes(EXTERNAL_SERVICE_TAG));
  }

  /** In-progress tasks asking for a static route, by route name. */
  requestingTasks(): Map<string, Ref[]> {
    const out = new Map<string, Ref[]>();
    for (const t of this.externalServices()) {
      for (const ep of requestedEndpoints(parse(t.runtime))) {
        if (!ep.staticRoute) continue;
        const list = out.get(ep.staticRoute) ?? [];
        list.push({ id: t.id, name: t.name });
        out.set(ep.staticRoute, list);
      }
    }
    return out;
  }

  refs(ids: string[]): Ref[] {
    if (!ids.length) return [];
    return this.sql(`SELECT id, name FROM tasks WHERE id IN (${ids.map(() => "?").join(",")})`).all(
      ...ids,
    ) as Ref[];
  }
}
