// Queues, their entries, and the workers (agents) that pull from them. Tasks enter a queue
// through Tasks.enqueue, which owns the task's state.
import type { Queue, Worker } from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import {
  inList,
  isUnique,
  json,
  newId,
  now,
  parse,
  regex,
  Repository,
  whereAll,
  type Ref,
} from "./sql";

/** A worker that has not reported for this long is gone (ClearML's default worker timeout). */
const DEFAULT_WORKER_TIMEOUT_SEC = 600;
/** `workers.get_all` lists workers active within this many seconds unless told otherwise. */
const DEFAULT_LAST_SEEN_SEC = 3600;

interface QueueRow {
  id: string;
  name: string;
  display_name: string | null;
  tags: string;
  system_tags: string;
  created: string;
}

interface WorkerRow {
  id: string;
  queues: string;
  task: string | null;
  queue: string | null;
  timeout_sec: number;
  register_time: string;
  last_activity_time: string;
  last_report_time: string | null;
}

export class Queues extends Repository {
  create(q: {
    name: string;
    display_name?: string;
    tags?: string[];
    system_tags?: string[];
  }): string {
    const id = newId();
    try {
      this.sql(
        "INSERT INTO queues (id, name, display_name, tags, system_tags, created) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(
        id,
        q.name,
        q.display_name ?? null,
        json(q.tags ?? []),
        json(q.system_tags ?? []),
        now(),
      );
    } catch (err) {
      if (isUnique(err, "queues.name")) {
        const holder = this.byName(q.name);
        throw appgwError("APPGW_ALREADY_EXISTS", `name: queue '${q.name}' (${holder?.id}) exists`, {
          field: "name",
          reason: "already exists",
          holder: holder?.id,
        });
      }
      throw err;
    }
    this.touch();
    return id;
  }

  byId(id: string): Ref | undefined {
    return this.sql("SELECT id, name FROM queues WHERE id = ?").get(id) as Ref | undefined;
  }

  byName(name: string): Ref | undefined {
    return this.sql("SELECT id, name FROM queues WHERE name = ?").get(name) as Ref | undefined;
  }

  /** The queue; throws APPGW_QUEUE_NOT_FOUND (400/701) naming `field`. */
  require(id: string, field = "queue"): Ref {
    const q = this.byId(id);
    if (!q) {
      throw appgwError("APPGW_QUEUE_NOT_FOUND", `${field}: no queue with id '${id}'`, {
        field,
        reason: "unknown queue id",
      });
    }
    return q;
  }

  /** The queue with system tag `default` (ClearML's rule). */
  defaultQueue(): Ref | undefined {
    const rows = this.sql("SELECT id, name, system_tags FROM queues ORDER BY created").all() as {
      id: string;
      name: string;
      system_tags: string;
    }[];
    const chosen = rows.find((q) => parse<string[]>(q.system_tags).includes("default"));
    return chosen && { id: chosen.id, name: chosen.name };
  }

  list(filter: { id?: string[]; name?: string }): Queue[] {
    const { where, args } = whereAll([inList("id", filter.id), regex("name", filter.name)]);
    const rows = this.sql(`SELECT * FROM queues ${where} ORDER BY name`).all(...args) as QueueRow[];
    return rows.map((q) => this.toQueue(q));
  }

  get(id: string): Queue {
    this.require(id);
    return this.toQueue(this.sql("SELECT * FROM queues WHERE id = ?").get(id) as QueueRow);
  }

  private toQueue(q: QueueRow): Queue {
    return {
      id: q.id,
      name: q.name,
      display_name: q.display_name,
      created: q.created,
      tags: parse(q.tags),
      system_tags: parse(q.system_tags),
      entries: this.sql(
        "SELECT task_id AS task, added FROM queue_entries WHERE queue_id = ? ORDER BY seq",
      ).all(q.id) as { task: string; added: string }[],
    };
  }

  /**
   * Deletes the queue. One holding tasks needs `force`; its waiting tasks then go back to
   * `created`, to be enqueued elsewhere.
   */
  delete(id: string, force: boolean): number {
    return this.db.transaction(() => {
      const q = this.require(id);
      const waiting = (
        this.sql("SELECT count(*) AS n FROM queue_entries WHERE queue_id = ?").get(id) as {
          n: number;
        }
      ).n;
      if (waiting && !force) {
        throw appgwError(
          "APPGW_QUEUE_NOT_EMPTY",
          `queue '${q.name}' holds ${waiting} task(s): delete it with force to send them back to created`,
          { field: "force", reason: "queue not empty" },
        );
      }
      const ts = now();
      this.sql(
        `UPDATE tasks SET status = 'created', status_changed = ?, queue_id = NULL, last_update = ?
           WHERE queue_id = ? AND status = 'queued'`,
      ).run(ts, ts, id);
      const deleted = this.sql("DELETE FROM queues WHERE id = ?").run(id).changes;
      this.touch();
      return deleted;
    })();
  }

  /** Takes the oldest entry of the queue, if any. */
  pop(queueId: string): { task: string; added: string } | undefined {
    return this.db.transaction(() => {
      const row = this.sql(
        "SELECT seq, task_id, added FROM queue_entries WHERE queue_id = ? ORDER BY seq LIMIT 1",
      ).get(queueId) as { seq: number; task_id: string; added: string } | undefined;
      if (!row) return undefined;
      this.sql("DELETE FROM queue_entries WHERE seq = ?").run(row.seq);
      return { task: row.task_id, added: row.added };
    })();
  }

  // --- workers --------------------------------------------------------------------------------

  registerWorker(id: string, queues: string[], timeoutSec: number | undefined): void {
    for (const q of queues) this.require(q, "queues");
    const ts = now();
    this.sql(
      `INSERT INTO workers (id, queues, timeout_sec, register_time, last_activity_time) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET queues = excluded.queues, timeout_sec = excluded.timeout_sec,
           register_time = excluded.register_time, last_activity_time = excluded.last_activity_time`,
    ).run(id, json(queues), timeoutSec ?? DEFAULT_WORKER_TIMEOUT_SEC, ts, ts);
  }

  /**
   * The worker's heartbeat: what it runs now (`task`/`queue` left out clear them). A worker the
   * gateway does not know (it restarted on a fresh data dir) is registered on the way.
   */
  statusReport(r: {
    worker: string;
    timestamp: number;
    task?: string;
    queue?: string;
    queues?: string[];
  }): void {
    for (const q of [...(r.queues ?? []), ...(r.queue ? [r.queue] : [])]) this.require(q, "queue");
    const ts = now();
    const reported = new Date(r.timestamp * 1000).toISOString();
    this.sql(
      `INSERT INTO workers (id, queues, task, queue, timeout_sec, register_time, last_activity_time, last_report_time)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET queues = coalesce(?, queues), task = excluded.task,
           queue = excluded.queue, last_activity_time = excluded.last_activity_time,
           last_report_time = excluded.last_report_time`,
    ).run(
      r.worker,
      json(r.queues ?? []),
      r.task ?? null,
      r.queue ?? null,
      DEFAULT_WORKER_TIMEOUT_SEC,
      ts,
      ts,
      reported,
      r.queues ? json(r.queues) : null,
    );
  }

  unregisterWorker(id: string): void {
    this.sql("DELETE FROM workers WHERE id = ?").run(id);
  }

  /** Workers within their timeout and seen within `lastSeenSec` (0: no such limit). */
  listWorkers(lastSeenSec = DEFAULT_LAST_SEEN_SEC): Worker[] {
    const rows = this.sql("SELECT * FROM workers ORDER BY id").all() as WorkerRow[];
    const nowMs = Date.now();
    const taskRef = (id: string | null) =>
      id === null
        ? null
        : ((this.sql("SELECT id, name FROM tasks WHERE id = ?").get(id) as Ref | undefined) ?? {
            id,
            name: "",
          });
    return rows
      .filter((w) => {
        const idle = nowMs - Date.parse(w.last_activity_time);
        return idle < w.timeout_sec * 1000 && (lastSeenSec === 0 || idle < lastSeenSec * 1000);
      })
      .map((w) => ({
        id: w.id,
        register_time: w.register_time,
        last_activity_time: w.last_activity_time,
        last_report_time: w.last_report_time,
        task: taskRef(w.task),
        queue: w.queue === null ? null : (this.byId(w.queue) ?? null),
        queues: parse<string[]>(w.queues)
          .map((q) => this.byId(q))
          .filter((q): q is Ref => q !== undefined),
      }));
  }
}
