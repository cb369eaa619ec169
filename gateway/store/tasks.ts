// Tasks: their life (created → queued → in_progress → completed | failed | stopped), their
// runtime properties, their console log, and the endpoints the running ones ask routers for.
import { EXTERNAL_SERVICE_TAG, RUNTIME, type Task, type TaskStatus } from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import type { Queues } from "./queues";
import {
  inList,
  json,
  newId,
  now,
  parse,
  regex,
  Repository,
  whereAll,
  type StoreContext,
} from "./sql";

/** The one company of the reference gateway: ClearML answers with the caller's. */
export const COMPANY = { id: "appgw", name: "appgw" } as const;

export interface TaskRow {
  id: string;
  name: string;
  type: string;
  status: TaskStatus;
  status_reason: string;
  status_message: string;
  status_changed: string;
  project: string | null;
  comment: string;
  user_id: string;
  queue_id: string | null;
  last_worker: string | null;
  tags: string;
  system_tags: string;
  script: string;
  hyperparams: string;
  runtime: string;
  created: string;
  started: string | null;
  completed: string | null;
  last_update: string;
}

type Runtime = Record<string, string>;

export interface NewTask {
  name: string;
  type: string;
  project?: string;
  comment?: string;
  tags?: string[];
  system_tags?: string[];
  script?: Record<string, unknown>;
  hyperparams?: Record<string, Record<string, Record<string, unknown>>>;
}

export type LogEvent = {
  timestamp: number;
  msg: string;
  level: string;
  worker: string | null;
  task: string;
};

/** The endpoint a task asks for through its runtime properties. */
export interface RequestedEndpoint {
  endpointName: string | null;
  protocol: "http" | "tcp";
  address: string;
  port: number;
  staticRoute: string | null;
}

/** Reads ClearML's `_SERVICE`, `_ADDRESS`, `_PORT`, `_ROUTER_ENDPOINT_MODE*` keys (and `__<name>` variants). */
export function requestedEndpoints(runtime: Runtime): RequestedEndpoint[] {
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

/** The static routes a runtime map asks for: `_ROUTER_ENDPOINT_MODE_PARAM` and its `__<name>` variants. */
export function requestedRoutes(runtime: Runtime): string[] {
  const names = Object.entries(runtime)
    .filter(([k, v]) => (k === RUNTIME.modeParam || k.startsWith(`${RUNTIME.modeParam}__`)) && v)
    .map(([, v]) => v);
  return [...new Set(names)];
}

/** Keys only routers write back: changing them alone changes nothing a router serves. */
function isWriteBack(key: string): boolean {
  return [RUNTIME.endpoint, RUNTIME.browserEndpoint].some(
    (k) => key === k || key.startsWith(`${k}__`),
  );
}

/** Statuses a task reaches by `tasks.<action>`, and where it may come from. */
const TRANSITIONS = {
  in_progress: ["created", "queued"],
  // A stop the agent confirms after `tasks.stop` already set it: accepted, changes nothing.
  stopped: ["queued", "in_progress", "stopped"],
  completed: ["in_progress"],
  failed: ["created", "queued", "in_progress"],
} as const satisfies Record<string, readonly TaskStatus[]>;
export type ReportedStatus = keyof typeof TRANSITIONS;

const ENDED: ReadonlySet<TaskStatus> = new Set(["stopped", "completed", "failed"]);

export class Tasks extends Repository {
  constructor(
    ctx: StoreContext,
    private readonly deps: {
      queues: Queues;
      /** Whose tasks may serve which static route now (routes.ts `mayServe`). */
      servable: () => (route: string, owner: string) => boolean;
    },
  ) {
    super(ctx);
  }

  create(t: NewTask, userId: string): string {
    const id = newId();
    const ts = now();
    this.sql(
      `INSERT INTO tasks (id, name, type, status, status_changed, project, comment, user_id, tags, system_tags,
         script, hyperparams, runtime, created, last_update)
         VALUES (?, ?, ?, 'created', ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)`,
    ).run(
      id,
      t.name,
      t.type,
      ts,
      t.project ?? null,
      t.comment ?? "",
      userId,
      json(t.tags ?? []),
      json(t.system_tags ?? []),
      json(t.script ?? {}),
      json(t.hyperparams ?? {}),
      ts,
      ts,
    );
    this.touch();
    return id;
  }

  /** The stored row; throws APPGW_TASK_NOT_FOUND (400/101). For the other repositories. */
  row(id: string): TaskRow {
    const row = this.sql("SELECT * FROM tasks WHERE id = ?").get(id) as TaskRow | undefined;
    if (!row) {
      throw appgwError("APPGW_TASK_NOT_FOUND", `task: no task with id '${id}'`, {
        field: "task",
        reason: "unknown task id",
      });
    }
    return row;
  }

  get(id: string): Task {
    return this.toTask(this.row(id));
  }

  /** `system_tags`: every tag must be there, except `-tag`s, which must not. */
  list(filter: {
    id?: string[];
    name?: string;
    status?: TaskStatus[];
    system_tags?: string[];
  }): Task[] {
    return this.rows(filter).map((r) => this.toTask(r));
  }

  rows(filter: {
    id?: string[];
    name?: string;
    status?: TaskStatus[];
    system_tags?: string[];
  }): TaskRow[] {
    const { where, args } = whereAll([
      inList("id", filter.id),
      regex("name", filter.name),
      inList("status", filter.status),
    ]);
    const rows = this.sql(`SELECT * FROM tasks ${where} ORDER BY created, rowid`).all(
      ...args,
    ) as TaskRow[];
    const wanted = filter.system_tags;
    if (!wanted) return rows;
    return rows.filter((r) => {
      const tags = parse<string[]>(r.system_tags);
      return wanted.every((t) =>
        t.startsWith("-") ? !tags.includes(t.slice(1)) : tags.includes(t),
      );
    });
  }

  private toTask(r: TaskRow): Task {
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      status: r.status,
      status_reason: r.status_reason,
      status_message: r.status_message,
      status_changed: r.status_changed,
      project: r.project,
      user: r.user_id,
      company: COMPANY.id,
      comment: r.comment,
      created: r.created,
      started: r.started,
      completed: r.completed,
      last_update: r.last_update,
      last_worker: r.last_worker,
      execution: { queue: r.queue_id },
      script: parse(r.script),
      hyperparams: parse(r.hyperparams),
      runtime: parse(r.runtime),
      tags: parse(r.tags),
      system_tags: parse(r.system_tags),
    };
  }

  /** Only a `created` task may change without `force` (ClearML's rule for edits). */
  private requireEditable(row: TaskRow, force: boolean | undefined, action: string): void {
    if (row.status !== "created" && !force) {
      throw appgwError(
        "APPGW_TASK_STATE",
        `task '${row.name}' is ${row.status}: ${action} needs force unless the task is created`,
        { field: "force", reason: `task is ${row.status}` },
      );
    }
  }

  /** `tasks.edit`: `runtime` replaces the whole map. Returns the fields it set. */
  edit(
    taskId: string,
    patch: { name?: string; system_tags?: string[]; runtime?: Runtime },
    force: boolean | undefined,
  ): Record<string, unknown> {
    return this.db.transaction(() => {
      const row = this.row(taskId);
      this.requireEditable(row, force, "tasks.edit");
      if (patch.runtime) this.checkRoutesFree(patch.runtime, row);
      this.sql(
        `UPDATE tasks SET name = coalesce(?, name), system_tags = coalesce(?, system_tags),
           runtime = coalesce(?, runtime), last_update = ? WHERE id = ?`,
      ).run(
        patch.name ?? null,
        patch.system_tags ? json(patch.system_tags) : null,
        patch.runtime ? json(patch.runtime) : null,
        now(),
        taskId,
      );
      this.touch();
      return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    })();
  }

  /** `tasks.edit_runtime`: merges `add` into the runtime map and removes `remove`. */
  editRuntime(taskId: string, add: Runtime, remove: string[], force: boolean | undefined): void {
    this.db.transaction(() => {
      const row = this.row(taskId);
      this.requireEditable(row, force, "tasks.edit_runtime");
      const before = parse<Runtime>(row.runtime);
      const runtime = { ...before };
      for (const k of remove) delete runtime[k];
      Object.assign(runtime, add);
      const changed = [...new Set([...Object.keys(before), ...Object.keys(runtime)])].filter(
        (k) => before[k] !== runtime[k],
      );
      if (!changed.length) return;
      this.checkRoutesFree(runtime, row);
      this.sql("UPDATE tasks SET runtime = ?, last_update = ? WHERE id = ?").run(
        json(runtime),
        now(),
        taskId,
      );
      // A router writing an endpoint back changes nothing routers serve: no new revision, or
      // every write-back would make every router fetch its configuration again.
      if (!changed.every(isWriteBack)) this.touch();
    })();
  }

  /**
   * A task may attach only to routes its owner may serve (routes.ts `mayServe`), and not to a
   * single-endpoint static route another running task already uses (the check ClearML's SDK
   * makes before attaching, enforced here). Only routes the edit newly names are checked: a task
   * whose owner lost access to its route stays editable (the router must still clear its
   * endpoint), and is simply no longer routed.
   */
  private checkRoutesFree(runtime: Runtime, task: TaskRow): void {
    const had = new Set(requestedRoutes(parse<Runtime>(task.runtime)));
    const added = requestedRoutes(runtime).filter((name) => !had.has(name));
    if (added.length === 0) return;
    const servable = this.deps.servable();
    let requests: Map<string, TaskRow[]> | undefined;
    for (const name of added) {
      if (!servable(name, task.user_id)) {
        throw appgwError(
          "APPGW_NO_WRITE_PERMISSION",
          `runtime: the task's owner may not serve route '${name}': only admins and the users ` +
            "the route admits may attach tasks to it",
          { field: "runtime", reason: "route not open to the task's owner", route: name },
        );
      }
      const route = this.sql("SELECT load_balanced FROM routes WHERE name = ?").get(name) as
        { load_balanced: number } | undefined;
      if (!route || route.load_balanced === 1) continue;
      requests ??= this.routeRequests();
      const other = (requests.get(name) ?? []).find((t) => t.id !== task.id);
      if (other) {
        throw appgwError(
          "APPGW_ROUTE_BUSY",
          `runtime: static route '${name}' is single-endpoint and already serves task '${other.name}' (${other.id})`,
          { field: "runtime", reason: "route in use", holder: other.id },
        );
      }
    }
  }

  /** `tasks.enqueue`: only a `created` task enters a queue. */
  enqueue(taskId: string, queueId: string, status: { reason?: string; message?: string }): void {
    this.db.transaction(() => {
      const task = this.row(taskId);
      this.deps.queues.require(queueId);
      if (task.status !== "created") {
        throw appgwError(
          "APPGW_TASK_STATE",
          `task '${task.name}' is ${task.status}: only a created task can be enqueued`,
          { field: "task", reason: `task is ${task.status}` },
        );
      }
      const ts = now();
      this.sql(
        `UPDATE tasks SET status = 'queued', status_changed = ?, status_reason = ?, status_message = ?,
           queue_id = ?, last_update = ? WHERE id = ?`,
      ).run(ts, status.reason ?? "", status.message ?? "", queueId, ts, taskId);
      this.sql("INSERT INTO queue_entries (queue_id, task_id, added) VALUES (?, ?, ?)").run(
        queueId,
        taskId,
        ts,
      );
      // Agents watch the revision to take new work at once.
      this.touch();
    })();
  }

  /**
   * `tasks.stop`: a queued or running task is `stopped` at once (the agent running it sees the
   * status and ends it); any other status needs `force`.
   */
  stop(
    taskId: string,
    force: boolean | undefined,
    status: { reason?: string; message?: string },
  ): void {
    const row = this.row(taskId);
    if (row.status !== "queued" && row.status !== "in_progress" && !force) {
      throw appgwError(
        "APPGW_TASK_STATE",
        `task '${row.name}' is ${row.status}: only a queued or running task can be stopped without force`,
        { field: "task", reason: `task is ${row.status}` },
      );
    }
    this.moveTo(row, "stopped", status);
  }

  /** What the agent running a task reports: `tasks.started/stopped/completed/failed`. */
  report(taskId: string, to: ReportedStatus, status: { reason?: string; message?: string }): void {
    const row = this.row(taskId);
    if (!(TRANSITIONS[to] as readonly TaskStatus[]).includes(row.status)) {
      throw appgwError(
        "APPGW_TASK_STATE",
        `task '${row.name}' is ${row.status}: it cannot become ${to}`,
        {
          field: "task",
          reason: `task is ${row.status}`,
        },
      );
    }
    if (row.status === to) return;
    this.moveTo(row, to, status);
  }

  private moveTo(
    row: TaskRow,
    to: TaskStatus,
    status: { reason?: string; message?: string },
  ): void {
    this.db.transaction(() => {
      const ts = now();
      this.sql(
        `UPDATE tasks SET status = ?, status_changed = ?, status_reason = ?, status_message = ?,
           started = CASE WHEN ? = 'in_progress' THEN ? ELSE started END,
           completed = CASE WHEN ? THEN ? ELSE completed END, last_update = ? WHERE id = ?`,
      ).run(
        to,
        ts,
        status.reason ?? "",
        status.message ?? "",
        to,
        ts,
        ENDED.has(to) ? 1 : 0,
        ts,
        ts,
        row.id,
      );
      // A task leaves its queue however it leaves `queued`: even a worker that started it
      // without popping it must not leave it for another worker to pop.
      this.sql("DELETE FROM queue_entries WHERE task_id = ?").run(row.id);
      this.touch();
    })();
  }

  /** Set from the worker's status report: the worker that last ran the task. */
  setLastWorker(taskId: string, worker: string): void {
    this.row(taskId);
    this.sql("UPDATE tasks SET last_worker = ? WHERE id = ? AND last_worker IS NOT ?").run(
      worker,
      taskId,
      worker,
    );
  }

  // --- console log ----------------------------------------------------------------------------

  addEvent(e: {
    task: string;
    msg: string;
    level?: string;
    timestamp?: number;
    worker?: string;
  }): void {
    this.row(e.task);
    this.sql(
      "INSERT INTO task_events (task_id, timestamp, level, worker, msg) VALUES (?, ?, ?, ?, ?)",
    ).run(
      e.task,
      Math.round(e.timestamp ?? Date.now()),
      e.level ?? "info",
      e.worker ?? null,
      e.msg,
    );
  }

  /**
   * `events.get_task_log`: `batch_size` events, oldest first: the latest ones when navigating
   * earlier (ClearML's default), else the first ones.
   */
  getLog(
    taskId: string,
    batchSize = 500,
    navigateEarlier = true,
  ): { events: LogEvent[]; total: number } {
    this.row(taskId);
    const total = (
      this.sql("SELECT count(*) AS n FROM task_events WHERE task_id = ?").get(taskId) as {
        n: number;
      }
    ).n;
    const rows = this.sql(
      `SELECT * FROM (SELECT seq, timestamp, msg, level, worker FROM task_events WHERE task_id = ?
         ORDER BY seq ${navigateEarlier ? "DESC" : "ASC"} LIMIT ?) ORDER BY seq`,
    ).all(taskId, batchSize) as (Omit<LogEvent, "task"> & { seq: number })[];
    return {
      events: rows.map((r) => ({
        timestamp: r.timestamp,
        msg: r.msg,
        level: r.level,
        worker: r.worker,
        task: taskId,
      })),
      total,
    };
  }

  // --- what running tasks ask routers for (read by routes and routers) ------------------------

  /** Running tasks tagged as external services, oldest first. */
  externalServices(): TaskRow[] {
    return this.rows({ status: ["in_progress"], system_tags: [EXTERNAL_SERVICE_TAG] });
  }

  /** Running tasks whose runtime asks for a static route their owner may serve, by route name. */
  routeRequests(): Map<string, TaskRow[]> {
    const servable = this.deps.servable();
    const out = new Map<string, TaskRow[]>();
    for (const t of this.rows({ status: ["in_progress"] })) {
      for (const name of requestedRoutes(parse(t.runtime))) {
        if (!servable(name, t.user_id)) continue;
        const list = out.get(name) ?? [];
        list.push(t);
        out.set(name, list);
      }
    }
    return out;
  }
}
