import type { ActionRequest, Queue, Task, Worker } from "./contract";
import type { CallOptions, Core } from "./core";
import { escapeRegex } from "./routes";

/** Tasks and their console logs (`tasks.*`, `events.*`). */
export class TasksApi {
  constructor(private readonly core: Core) {}

  async create(body: ActionRequest<"tasks.create">): Promise<string> {
    return (await this.core.call("tasks.create", body)).id;
  }
  /** Throws APPGW_TASK_NOT_FOUND (400/101) when there is no such task. */
  async get(task: string): Promise<Task> {
    return (await this.core.call("tasks.get_by_id", { task })).task;
  }
  async list(filter: ActionRequest<"tasks.get_all"> = {}): Promise<Task[]> {
    return (await this.core.call("tasks.get_all", filter)).tasks;
  }
  async edit(body: ActionRequest<"tasks.edit">): Promise<void> {
    await this.core.call("tasks.edit", body);
  }
  /** Merges `addOrUpdate` into the task's runtime properties and removes `remove`. */
  async editRuntime(
    task: string,
    addOrUpdate: Record<string, string>,
    remove: string[] = [],
    force = true,
  ): Promise<void> {
    await this.core.call("tasks.edit_runtime", {
      task,
      add_or_update: addOrUpdate,
      ...(remove.length ? { remove } : {}),
      force,
    });
  }
  async enqueue(task: string, queue: string): Promise<void> {
    await this.core.call("tasks.enqueue", { task, queue });
  }
  async stop(task: string, statusReason?: string, force = false): Promise<void> {
    await this.core.call("tasks.stop", {
      task,
      ...(statusReason ? { status_reason: statusReason } : {}),
      ...(force ? { force } : {}),
    });
  }
  /** What the agent running a task reports as it starts and ends it. */
  async report(
    status: "started" | "stopped" | "completed" | "failed",
    task: string,
    message: { status_reason?: string; status_message?: string } = {},
  ): Promise<void> {
    await this.core.call(`tasks.${status}`, { task, ...message });
  }
  /** Appends one line to the task's console log. */
  async log(task: string, msg: string, worker?: string): Promise<void> {
    await this.core.call("events.add", {
      type: "log",
      task,
      msg,
      timestamp: Date.now(),
      ...(worker ? { worker } : {}),
    });
  }
  /** The task's console log, oldest line first. */
  async getLog(task: string, batchSize = 1000): Promise<string[]> {
    const { events } = await this.core.call("events.get_task_log", {
      task,
      batch_size: batchSize,
      navigate_earlier: false,
    });
    return events.map((e) => e.msg ?? "");
  }
}

/** Queues (`queues.*`). */
export class QueuesApi {
  constructor(private readonly core: Core) {}

  async create(name: string): Promise<string> {
    return (await this.core.call("queues.create", { name })).id;
  }
  async list(filter: ActionRequest<"queues.get_all"> = {}): Promise<Queue[]> {
    return (await this.core.call("queues.get_all", filter)).queues;
  }
  async get(queue: string): Promise<Queue> {
    return (await this.core.call("queues.get_by_id", { queue })).queue;
  }
  async findByName(name: string): Promise<Queue | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` })).find((q) => q.name === name);
  }
  /** The queue named `name`, created if missing. */
  async ensure(name: string): Promise<string> {
    return (await this.findByName(name))?.id ?? (await this.create(name));
  }
  async delete(queue: string, force = false): Promise<void> {
    await this.core.call("queues.delete", { queue, ...(force ? { force } : {}) });
  }
  /**
   * Takes the next task off `queue`; null when it is empty. Never retried after a lost answer:
   * the task is already off the queue.
   */
  async next(queue: string, opts?: CallOptions): Promise<string | null> {
    const { entry } = await this.core.call("queues.get_next_task", { queue }, opts);
    return entry?.task ?? null;
  }
}

/** Workers: agents serving queues (`workers.*`). */
export class WorkersApi {
  constructor(private readonly core: Core) {}

  async register(worker: string, queues: string[], timeoutSec?: number): Promise<void> {
    await this.core.call("workers.register", {
      worker,
      queues,
      ...(timeoutSec ? { timeout: timeoutSec } : {}),
    });
  }
  /** The heartbeat: what the worker runs now (nothing when `task` is absent). */
  async statusReport(worker: string, task?: string, queue?: string): Promise<void> {
    await this.core.call("workers.status_report", {
      worker,
      timestamp: Math.floor(Date.now() / 1000),
      ...(task ? { task } : {}),
      ...(queue ? { queue } : {}),
    });
  }
  async unregister(worker: string): Promise<void> {
    await this.core.call("workers.unregister", { worker });
  }
  /** Workers seen within `lastSeenSec` (0: all). */
  async list(lastSeenSec?: number): Promise<Worker[]> {
    return (
      await this.core.call(
        "workers.get_all",
        lastSeenSec === undefined ? {} : { last_seen: lastSeenSec },
      )
    ).workers;
  }
}
