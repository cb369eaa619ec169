// Queues, their entries, and the workers (agents) that pull from them. Tasks enter a queue
// through Tasks.enqueue, which owns the task's state.
import type { Queue, Worker } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import { filters, isUnique, json, newId, now, parse, Repository, type Ref } from "./sql";

export class Queues extends Repository {
  create(name: string): string {
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

  byId(id: string): Ref | undefined {
    return this.sql("SELECT id, name FROM queues WHERE id = ?").get(id) as Ref | undefined;
  }

  list(filter: { id?: string[]; name?: string }): Queue[] {
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

  /** Deletes the queue; its waiting tasks go back to `created`, to be enqueued elsewhere. */
  delete(id: string): number {
    return this.db.transaction(() => {
      this.sql(
        "UPDATE tasks SET status = 'created', queue_id = NULL, last_update = ? WHERE queue_id = ? AND status = 'queued'",
      ).run(now(), id);
      return this.sql("DELETE FROM queues WHERE id = ?").run(id).changes;
    })();
  }

  /** Takes the oldest entry of the queue, if any. */
  pop(queueId: string): { task: string; added: string } | null {
    return this.db.transaction(() => {
      const row = this.sql(
        "SELECT seq, task_id, added FROM queue_entries WHERE queue_id = ? ORDER BY seq LIMIT 1",
      ).get(queueId) as { seq: number; task_id: string; added: string } | undefined;
      if (!row) return null;
      this.sql("DELETE FROM queue_entries WHERE seq = ?").run(row.seq);
      return { task: row.task_id, added: row.added };
    })();
  }

  // --- workers --------------------------------------------------------------------------------

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
          .map((q) => this.byId(q))
          .filter((q): q is Ref => q !== undefined),
      }))
      .filter((w) => !queue || w.queues.some((q) => q.id === queue));
  }

  /** Workers serving the queue whose last activity is recent. */
  workersOf(queueId: string, activeWithinMs = 60_000): Worker[] {
    const cutoff = Date.now() - activeWithinMs;
    return this.listWorkers(queueId).filter((w) => Date.parse(w.last_activity) >= cutoff);
  }
}
