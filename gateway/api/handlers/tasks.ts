import { appgwError } from "../../../sdk/errors";
import type { Ctx, Handlers } from "./types";

/** Non-admins may only touch their own tasks. */
function ownTask(taskId: string, { user, store }: Ctx): void {
  const task = store.tasks.get(taskId);
  if (!user.admin && task.user.id !== user.id) {
    throw appgwError("APPGW_FORBIDDEN", "only the task's owner or an administrator can change it", {
      field: "task",
    });
  }
}

export const tasks: Handlers<"tasks"> = {
  "tasks.create": (body, { user, store }) => ({
    id: store.tasks.create({
      name: body.name,
      type: body.type ?? "application",
      entryPoint: body.entry_point ?? "",
      params: body.params ?? {},
      systemTags: body.system_tags ?? [],
      userId: user.id,
    }),
  }),
  "tasks.enqueue": (body, ctx) => {
    ownTask(body.task, ctx);
    ctx.store.tasks.enqueue(body.task, body.queue);
    return { queued: 1 };
  },
  "tasks.get_by_id": (body, { store }) => ({ task: store.tasks.get(body.task) }),
  "tasks.get_all": (body, { store }) => ({
    tasks: store.tasks.list({
      id: body.id,
      name: body.name,
      status: body.status,
      systemTags: body.system_tags,
    }),
  }),
  "tasks.edit": (body, ctx) => {
    ownTask(body.task, ctx);
    ctx.store.tasks.edit(body.task, { name: body.name, systemTags: body.system_tags });
    return { updated: 1 };
  },
  "tasks.edit_runtime_properties": (body, ctx) => {
    ownTask(body.task, ctx);
    ctx.store.tasks.editRuntime(body.task, body.runtime);
    return { updated: 1 };
  },
  "tasks.started": (body, { store }) => {
    store.tasks.setStatus(body.task, "in_progress", { worker: body.worker });
    return { updated: 1 };
  },
  "tasks.completed": (body, { store }) => {
    store.tasks.setStatus(body.task, "completed", { message: body.status_message });
    return { updated: 1 };
  },
  "tasks.failed": (body, { store }) => {
    store.tasks.setStatus(body.task, "failed", { reason: body.status_reason });
    return { updated: 1 };
  },
  "tasks.stop": (body, ctx) => {
    ownTask(body.task, ctx);
    ctx.store.tasks.setStatus(body.task, "stopped", {
      reason: body.status_reason ?? `stopped by ${ctx.user.name}`,
    });
    return { updated: 1 };
  },
};

export const events: Handlers<"events"> = {
  "events.add_log": (body, { store }) => ({ added: store.tasks.addLog(body.task, body.lines) }),
  "events.get_task_log": (body, { store }) => ({ events: store.tasks.getLog(body.task) }),
};

export const queues: Handlers<"queues"> = {
  "queues.create": (body, { store }) => ({ id: store.queues.create(body.name) }),
  "queues.get_all": (body, { store }) => ({ queues: store.queues.list(body) }),
  "queues.delete": (body, { store }) => {
    const deleted = store.queues.delete(body.queue);
    if (!deleted)
      throw appgwError("APPGW_QUEUE_NOT_FOUND", `queue ${body.queue} not found`, {
        field: "queue",
      });
    return { deleted };
  },
  "queues.get_next_task": async (body, { store, signal }) => {
    if (!store.queues.byId(body.queue)) {
      throw appgwError("APPGW_QUEUE_NOT_FOUND", `queue ${body.queue} not found`, {
        field: "queue",
      });
    }
    const deadline = Date.now() + (body.wait_sec ?? 0) * 1000;
    for (;;) {
      const entry = store.queues.pop(body.queue);
      if (entry || Date.now() >= deadline || signal.aborted) return { entry };
      await store.waitForChange(deadline - Date.now(), signal);
    }
  },
};

export const workers: Handlers<"workers"> = {
  "workers.register": (body, { store }) => {
    for (const q of body.queues) {
      if (!store.queues.byId(q))
        throw appgwError("APPGW_QUEUE_NOT_FOUND", `queue ${q} not found`, { field: "queues" });
    }
    store.queues.registerWorker(body.worker, body.queues);
    return {};
  },
  "workers.heartbeat": (body, { store }) => ({
    stop: store.queues.workerHeartbeat(body.worker, body.task),
  }),
  "workers.unregister": (body, { store }) => {
    store.queues.unregisterWorker(body.worker);
    return {};
  },
  "workers.get_all": (body, { store }) => ({ workers: store.queues.listWorkers(body.queue) }),
};
