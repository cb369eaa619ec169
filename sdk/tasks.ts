import type { ActionRequest, Queue, Task, Worker } from "./contract";
import type { CallOptions, Core } from "./core";
import { escapeRegex } from "./routes";

/** Tasks and their logs (`tasks.*`, `events.*`). */
export class TasksApi {
  constructor(private readonly core: Core) {}

  create(body: ActionRequest<"tasks.create">): Promise<{ id: string }> {
    return this.core.call("tasks.create", body);
  }
  async enqueue(task: string, queue: string): Promise<void> {
    await this.core.call("tasks.enqueue", { task, queue });
  }
  async get(task: string): Promise<Task> {
    return (await this.core.call("tasks.get_by_id", { task })).task;
  }
  async list(filter: ActionRequest<"tasks.get_all"> = {}): Promise<Task[]> {
    return (await this.core.call("tasks.get_all", filter)).tasks;
  }
  async edit(body: ActionRequest<"tasks.edit">): Promise<void> {
    await this.core.call("tasks.edit", body);
  }
  async setRuntime(task: string, runtime: Record<string, string | null>): Promise<void> {
    await this.core.call("tasks.edit_runtime_properties", { task, runtime });
  }
  async started(task: string, worker: string): Promise<void> {
    await this.core.call("tasks.started", { task, worker });
  }
  async completed(task: string, statusMessage?: string): Promise<void> {
    await this.core.call("tasks.completed", { task, status_message: statusMessage });
  }
  async failed(task: string, statusReason?: string): Promise<void> {
    await this.core.call("tasks.failed", { task, status_reason: statusReason });
  }
  async stop(task: string, statusReason?: string): Promise<void> {
    await this.core.call("tasks.stop", { task, status_reason: statusReason });
  }
  async log(task: string, lines: string[]): Promise<void> {
    if (lines.length) await this.core.call("events.add_log", { task, lines });
  }
  async getLog(task: string): Promise<string[]> {
    return (await this.core.call("events.get_task_log", { task })).events.map((e) => e.msg);
  }
}

/** Queues and the workers that serve them (`queues.*`, `workers.*`). */
export class QueuesApi {
  constructor(private readonly core: Core) {}

  create(name: string): Promise<{ id: string }> {
    return this.core.call("queues.create", { name });
  }
  async list(filter: ActionRequest<"queues.get_all"> = {}): Promise<Queue[]> {
    return (await this.core.call("queues.get_all", filter)).queues;
  }
  async findByName(name: string): Promise<Queue | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` }))[0];
  }
  /** The queue named `name`, created if missing. */
  async ensure(name: string): Promise<string> {
    return (await this.findByName(name))?.id ?? (await this.create(name)).id;
  }
  async delete(queue: string): Promise<void> {
    await this.core.call("queues.delete", { queue });
  }
  /** Long poll for the next task of `queue`; null when none arrived within `waitSec`. */
  async next(
    queue: string,
    worker: string,
    waitSec = 20,
    opts?: CallOptions,
  ): Promise<string | null> {
    const { entry } = await this.core.call(
      "queues.get_next_task",
      { queue, worker, wait_sec: waitSec },
      opts,
    );
    return entry?.task ?? null;
  }
  async registerWorker(worker: string, queues: string[]): Promise<void> {
    await this.core.call("workers.register", { worker, queues });
  }
  /** Returns the ids of this worker's tasks that were stopped. */
  async heartbeat(worker: string, task?: string | null): Promise<string[]> {
    return (await this.core.call("workers.heartbeat", { worker, task })).stop;
  }
  async unregisterWorker(worker: string): Promise<void> {
    await this.core.call("workers.unregister", { worker });
  }
  async workers(queue?: string): Promise<Worker[]> {
    return (await this.core.call("workers.get_all", { queue })).workers;
  }
}
