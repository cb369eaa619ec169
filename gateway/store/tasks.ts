// Tasks: their life (created → queued → in_progress → completed | failed | stopped), their
// runtime properties, their console log, and the endpoints the running ones ask routers for.
import {
  EXTERNAL_SERVICE_TAG,
  RUNTIME,
  type ParsedRequest,
  type Task,
  type TaskStatus,
} from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import type { Projects } from "./projects";
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
  /** JSON: the fields kept as sent (KEPT_FIELDS, and execution but its queue). */
  fields: string;
  created: string;
  started: string | null;
  completed: string | null;
  last_update: string;
}

/** Runtime properties: ClearML's clients write JSON scalars (`_PORT` as a number). */
export type Runtime = Record<string, string | number | boolean | null>;

export type NewTask = ParsedRequest<"tasks.create">;
/** What `tasks.edit` may change; a field left out is kept, a field given replaces it whole. */
export type TaskPatch = Omit<ParsedRequest<"tasks.edit">, "task" | "force">;

/** Task fields the gateway keeps as sent and returns as they are; it reads none of them. */
const KEPT_FIELDS = [
  "parent",
  "output_dest",
  "container",
  "configuration",
  "models",
  "input",
  "output",
] as const;
type Kept = Partial<Record<(typeof KEPT_FIELDS)[number] | "execution", unknown>>;

/** The kept part of a create or edit: the kept fields given, and execution but its queue. */
function keptOf(t: TaskPatch): Kept {
  const out: Kept = {};
  for (const key of KEPT_FIELDS) if (t[key] !== undefined) out[key] = t[key];
  if (t.execution !== undefined) {
    const { queue: _queue, ...rest } = t.execution ?? {};
    out.execution = rest;
  }
  return out;
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

/** A runtime map as text, for the keys the gateway writes and reads as strings (router tests). */
export function runtimeText(runtime: Runtime): Record<string, string> {
  return Object.fromEntries(
    Object.entries(runtime).flatMap(([k, v]) => (v === null ? [] : [[k, String(v)]])),
  );
}

/** A runtime value as text: numbers and booleans as JSON writes them; null and "" as absent. */
const text = (v: Runtime[string] | undefined): string | undefined =>
  v === null || v === undefined || v === "" ? undefined : String(v);

/**
 * Reads ClearML's endpoint keys (and their `__<name>` variants): `_SERVICE` (`EXTERNAL` or
 * `EXTERNAL_TCP`), the address and port (HTTP: `_ADDRESS`/`_PORT`; TCP, as ClearML's SDK writes
 * them: `external_address` and `upstream_task_port`, then `external_tcp_port`; `_ADDRESS`/`_PORT`
 * also serve), and `_ROUTER_ENDPOINT_MODE` (`path` or `subdomain`) with
 * `_ROUTER_ENDPOINT_MODE_PARAM`, the static route's name.
 */
export function requestedEndpoints(runtime: Runtime): RequestedEndpoint[] {
  const out: RequestedEndpoint[] = [];
  for (const key of Object.keys(runtime)) {
    if (key !== RUNTIME.service && !key.startsWith(`${RUNTIME.service}__`)) continue;
    const suffix = key.slice(RUNTIME.service.length);
    const kind = runtime[key];
    if (kind !== "EXTERNAL" && kind !== "EXTERNAL_TCP") continue;
    const tcp = kind === "EXTERNAL_TCP";
    const first = (...keys: string[]) =>
      keys.map((k) => text(runtime[k + suffix])).find((v) => v !== undefined);
    const address =
      (tcp ? first(RUNTIME.tcpAddress, RUNTIME.address) : first(RUNTIME.address)) ??
      text(runtime[RUNTIME.address]);
    const port = Number(
      tcp ? first(RUNTIME.tcpUpstreamPort, RUNTIME.tcpPort, RUNTIME.port) : first(RUNTIME.port),
    );
    if (!address || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const mode = text(runtime[RUNTIME.mode + suffix]);
    const param = text(runtime[RUNTIME.modeParam + suffix]);
    out.push({
      endpointName: suffix ? suffix.slice(2) : null,
      protocol: tcp ? "tcp" : "http",
      address,
      port,
      staticRoute: (mode === "path" || mode === "subdomain") && param ? param : null,
    });
  }
  return out;
}

/** The static routes a runtime map asks for: `_ROUTER_ENDPOINT_MODE_PARAM` and its `__<name>` variants. */
export function requestedRoutes(runtime: Runtime): string[] {
  const names = Object.entries(runtime)
    .filter(([k]) => k === RUNTIME.modeParam || k.startsWith(`${RUNTIME.modeParam}__`))
    .map(([, v]) => text(v))
    .filter((v): v is string => v !== undefined);
  return [...new Set(names)];
}

/** Keys only routers write back: changing them alone changes nothing a router serves. */
function isWriteBack(key: string): boolean {
  return [RUNTIME.endpoint, RUNTIME.browserEndpoint].some(
    (k) => key === k || key.startsWith(`${k}__`),
  );
}

export interface TaskFilter {
  id?: string[];
  name?: string;
  status?: TaskStatus[];
  tags?: string[];
  system_tags?: string[];
  project?: string[];
  type?: string[];
  user?: string[];
}

/**
 * Statuses a task reaches by `tasks.<action>`, and where it may come from: ClearML's state
 * machine (the open-source server's `bll/task/utils.py`), plus `failed` from `created` and
 * `queued` (a task that cannot start). A report of the status a task already has is accepted
 * and changes nothing, as there.
 */
const TRANSITIONS = {
  in_progress: ["created", "queued", "stopped", "completed"],
  stopped: ["queued", "in_progress", "closed", "failed"],
  completed: ["in_progress", "stopped"],
  failed: ["created", "queued", "in_progress", "stopped", "closed"],
  published: ["completed", "stopped", "closed", "failed"],
} as const satisfies Record<string, readonly TaskStatus[]>;
export type ReportedStatus = keyof typeof TRANSITIONS;

const ENDED: ReadonlySet<TaskStatus> = new Set(["stopped", "completed", "failed", "published"]);

export class Tasks extends Repository {
  constructor(
    ctx: StoreContext,
    private readonly deps: {
      queues: Queues;
      projects: Projects;
      /** Whose tasks may serve which static route now (routes.ts `mayServe`). */
      servable: () => (route: string, owner: string) => boolean;
    },
  ) {
    super(ctx);
  }

  create(t: NewTask, userId: string): string {
    const id = newId();
    const ts = now();
    this.db.transaction(() => {
      if (t.project) this.deps.projects.get(t.project);
      if (t.execution?.queue) this.deps.queues.require(t.execution.queue, "execution.queue");
      this.sql(
        `INSERT INTO tasks (id, name, type, status, status_changed, project, comment, user_id, tags,
           system_tags, script, hyperparams, runtime, fields, queue_id, created, last_update)
           VALUES (?, ?, ?, 'created', ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)`,
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
        json(keptOf(t)),
        t.execution?.queue ?? null,
        ts,
        ts,
      );
    })();
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

  /** `tags`, `system_tags`: every tag must be there, except `-tag`s, which must not. */
  list(filter: TaskFilter): Task[] {
    return this.rows(filter).map((r) => this.toTask(r));
  }

  rows(filter: TaskFilter): TaskRow[] {
    const { where, args } = whereAll([
      inList("id", filter.id),
      regex("name", filter.name),
      inList("status", filter.status),
      inList("project", filter.project),
      inList("type", filter.type),
      inList("user_id", filter.user),
    ]);
    const rows = this.sql(`SELECT * FROM tasks ${where} ORDER BY created, rowid`).all(
      ...args,
    ) as TaskRow[];
    const tagged = (column: "tags" | "system_tags") => {
      const wanted = filter[column];
      return (r: TaskRow) => {
        if (!wanted) return true;
        const tags = parse<string[]>(r[column]);
        return wanted.every((t) =>
          t.startsWith("-") ? !tags.includes(t.slice(1)) : tags.includes(t),
        );
      };
    };
    if (!filter.tags && !filter.system_tags) return rows;
    return rows.filter(tagged("tags")).filter(tagged("system_tags"));
  }

  private toTask(r: TaskRow): Task {
    const { execution, ...kept } = parse<Kept>(r.fields);
    return {
      ...kept,
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
      execution: { ...(execution as object | undefined), queue: r.queue_id },
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

  /**
   * `tasks.edit`: each field given replaces the stored one whole (`runtime` the whole map, `null`
   * clears a field). Returns the fields it set.
   */
  edit(taskId: string, patch: TaskPatch, force: boolean | undefined): Record<string, unknown> {
    return this.db.transaction(() => {
      const row = this.row(taskId);
      this.requireEditable(row, force, "tasks.edit");
      if (patch.project) this.deps.projects.get(patch.project);
      const queue = patch.execution?.queue;
      if (queue) this.deps.queues.require(queue, "execution.queue");
      if (patch.runtime) this.checkRoutesFree(patch.runtime, row);
      const given = <T>(v: T | null | undefined, empty: T): string | null =>
        v === undefined ? null : json(v ?? empty);
      this.sql(
        `UPDATE tasks SET name = coalesce(?, name), type = coalesce(?, type),
           project = CASE WHEN ? THEN ? ELSE project END, comment = coalesce(?, comment),
           tags = coalesce(?, tags), system_tags = coalesce(?, system_tags),
           script = coalesce(?, script), hyperparams = coalesce(?, hyperparams),
           runtime = coalesce(?, runtime), fields = ?,
           queue_id = CASE WHEN ? THEN ? ELSE queue_id END, last_update = ? WHERE id = ?`,
      ).run(
        patch.name ?? null,
        patch.type ?? null,
        patch.project === undefined ? 0 : 1,
        patch.project ?? null,
        patch.comment === undefined ? null : (patch.comment ?? ""),
        given(patch.tags, []),
        given(patch.system_tags, []),
        given(patch.script, {}),
        given(patch.hyperparams, {}),
        patch.runtime ? json(patch.runtime) : null,
        json({ ...parse<Kept>(row.fields), ...keptOf(patch) }),
        patch.execution === undefined ? 0 : 1,
        queue ?? null,
        now(),
        taskId,
      );
      this.touch();
      return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    })();
  }

  /** `tasks.set_requirements`: `script.requirements`, what an agent installs. */
  setRequirements(taskId: string, requirements: Record<string, unknown>): void {
    const row = this.row(taskId);
    const script = { ...parse<Record<string, unknown>>(row.script), requirements };
    this.sql("UPDATE tasks SET script = ?, last_update = ? WHERE id = ?").run(
      json(script),
      now(),
      taskId,
    );
  }

  /** `tasks.ping`: the running agent is alive. */
  ping(taskId: string): void {
    this.row(taskId);
    this.sql("UPDATE tasks SET last_update = ? WHERE id = ?").run(now(), taskId);
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
   * `tasks.dequeue`, as ClearML's server does it: the task leaves any queue; a queued or running
   * task moves to `newStatus` (default `created`), any other is left as it is. ClearML's agent
   * calls it with `in_progress` on every task it pulls. Returns how many tasks changed status.
   */
  dequeue(
    taskId: string,
    newStatus: TaskStatus | undefined,
    status: { reason?: string; message?: string },
  ): number {
    return this.db.transaction(() => {
      const row = this.row(taskId);
      if (row.status !== "queued" && row.status !== "in_progress") {
        this.sql("DELETE FROM queue_entries WHERE task_id = ?").run(row.id);
        return 0;
      }
      this.moveTo(row, newStatus ?? "created", status);
      return 1;
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

  /**
   * What the agent running a task reports: `tasks.started/stopped/completed/failed`. `force`
   * allows it from any status, as ClearML's agent sends `tasks.started` (a task it pulled from a
   * queue, or one it runs again).
   */
  report(
    taskId: string,
    to: ReportedStatus,
    status: { reason?: string; message?: string },
    force = false,
  ): void {
    const row = this.row(taskId);
    const allowed =
      row.status === to || (TRANSITIONS[to] as readonly TaskStatus[]).includes(row.status);
    if (!force && !allowed) {
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

  /** Console lines, in order, in one transaction; each task is checked once, not per line. */
  addEvents(
    events: readonly {
      task: string;
      msg?: string | null;
      level?: string | null;
      timestamp?: number | null;
      worker?: string | null;
    }[],
  ): void {
    this.db.transaction(() => {
      for (const task of new Set(events.map((e) => e.task))) this.row(task);
      const insert = this.sql(
        "INSERT INTO task_events (task_id, timestamp, level, worker, msg) VALUES (?, ?, ?, ?, ?)",
      );
      for (const e of events) {
        insert.run(
          e.task,
          Math.round(e.timestamp ?? Date.now()),
          e.level ?? "info",
          e.worker ?? null,
          e.msg ?? "",
        );
      }
    })();
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
