import { appgwError } from "@appgw/sdk/errors";
import { listing, type ReportedStatus } from "../../store";
import { isAdmin, type Ctx, type Handler, type Handlers } from "./types";

/**
 * Users may change only their own tasks; administrators and service accounts any (an agent
 * reports the tasks it runs, a router writes their endpoints back). Returns the task's row.
 */
function writable(taskId: string, { user, store }: Ctx) {
  const row = store.tasks.row(taskId);
  if (!isAdmin(user) && !user.service && row.user_id !== user.id) {
    throw appgwError(
      "APPGW_NO_WRITE_PERMISSION",
      `task '${row.name}' belongs to another user: only its owner, an administrator or a service account can change it`,
      { field: "task", reason: "not the owner" },
    );
  }
  return row;
}

/**
 * `tasks.started/stopped/completed/failed`: what the agent running the task reports;
 * `completed {publish: true}` publishes it too.
 */
function reported(
  to: ReportedStatus,
): Handler<"tasks.started" | "tasks.stopped" | "tasks.completed" | "tasks.failed"> {
  return (body, ctx) => {
    writable(body.task, ctx);
    const status = { reason: body.status_reason, message: body.status_message };
    ctx.store.tasks.report(body.task, to, status, body.force);
    if ("publish" in body && body.publish) {
      ctx.store.tasks.report(body.task, "published", status, body.force);
      return { updated: 1, fields: { status: "published" } };
    }
    return { updated: 1, fields: { status: to } };
  };
}

export const tasks: Handlers<"tasks"> = {
  "tasks.create": (body, { user, store }) => ({ id: store.tasks.create(body, user.id) }),
  "tasks.ping": (body, ctx) => {
    writable(body.task, ctx);
    ctx.store.tasks.ping(body.task);
    return {};
  },
  "tasks.set_requirements": (body, ctx) => {
    writable(body.task, ctx);
    ctx.store.tasks.setRequirements(body.task, body.requirements);
    return { updated: 1, fields: { "script.requirements": body.requirements } };
  },
  "tasks.dequeue": (body, ctx) => {
    writable(body.task, ctx);
    const updated = ctx.store.tasks.dequeue(body.task, body.new_status, {
      reason: body.status_reason,
      message: body.status_message,
    });
    return {
      dequeued: 1,
      updated,
      fields: updated ? { status: body.new_status ?? "created" } : {},
    };
  },
  "tasks.get_by_id": (body, { store }) => ({ task: store.tasks.get(body.task) }),
  "tasks.get_all": (body, { store }) => ({ tasks: listing(store.tasks.list(body), body) }),
  "tasks.edit": (body, ctx) => {
    writable(body.task, ctx);
    const { task, force, ...patch } = body;
    return { updated: 1, fields: ctx.store.tasks.edit(task, patch, force) };
  },
  "tasks.edit_runtime": (body, ctx) => {
    writable(body.task, ctx);
    ctx.store.tasks.editRuntime(body.task, body.add_or_update ?? {}, body.remove ?? [], body.force);
    return { updated: 1 };
  },
  "tasks.enqueue": (body, ctx) => {
    writable(body.task, ctx);
    const { store } = ctx;
    const queue =
      body.queue ??
      (body.queue_name === undefined
        ? store.queues.defaultQueue()?.id
        : (store.queues.byName(body.queue_name)?.id ??
          store.queues.create({ name: body.queue_name })));
    if (queue === undefined) {
      throw appgwError(
        "APPGW_NO_DEFAULT_QUEUE",
        "queue: give queue or queue_name (no queue is tagged 'default')",
        { field: "queue", reason: "no default queue" },
      );
    }
    store.tasks.enqueue(body.task, queue, {
      reason: body.status_reason,
      message: body.status_message,
    });
    return { queued: 1, updated: 1, fields: {} };
  },
  "tasks.stop": (body, ctx) => {
    writable(body.task, ctx);
    ctx.store.tasks.stop(body.task, body.force, {
      reason: body.status_reason ?? `stopped by ${ctx.user.name}`,
      message: body.status_message,
    });
    return { updated: 1, fields: { status: "stopped" } };
  },
  "tasks.started": reported("in_progress"),
  "tasks.stopped": reported("stopped"),
  "tasks.completed": reported("completed"),
  "tasks.failed": reported("failed"),
};

export const events: Handlers<"events"> = {
  "events.add": (body, ctx) => {
    writable(body.task, ctx);
    ctx.store.tasks.addEvents([body]);
    return {};
  },
  /** Keeps the `log` events (the console); metrics and plots are counted and dropped. */
  "events.add_batch": (body, ctx) => {
    const logs = body.requests.filter((e) => e.type === "log");
    for (const task of new Set(logs.map((e) => e.task))) writable(task, ctx);
    ctx.store.tasks.addEvents(logs);
    return { added: body.requests.length, errors: 0 };
  },
  "events.get_task_log": (body, { store }) => {
    const { events, total } = store.tasks.getLog(body.task, body.batch_size, body.navigate_earlier);
    return { events, returned: events.length, total };
  },
};

export const projects: Handlers<"projects"> = {
  "projects.create": (body, { user, store }) => ({ id: store.projects.create(body, user.id) }),
  "projects.get_all": (body, { store }) => ({
    projects: listing(store.projects.list(body), body),
  }),
  "projects.get_by_id": (body, { store }) => ({ project: store.projects.get(body.project) }),
};

export const queues: Handlers<"queues"> = {
  "queues.create": (body, { store }) => ({ id: store.queues.create(body) }),
  "queues.get_all": (body, { store }) => ({ queues: listing(store.queues.list(body), body) }),
  "queues.get_by_id": (body, { store }) => {
    const queue = store.queues.get(body.queue);
    const max = body.max_task_entries;
    return {
      queue: max === undefined ? queue : { ...queue, entries: (queue.entries ?? []).slice(0, max) },
    };
  },
  "queues.delete": (body, { store }) => ({
    deleted: store.queues.delete(body.queue, body.force ?? false),
  }),
  // No long poll: an agent waits with appgw.watch and then asks again.
  "queues.get_next_task": (body, { store }) => {
    store.queues.require(body.queue);
    const entry = store.queues.pop(body.queue);
    return entry ? { entry } : {};
  },
};

export const workers: Handlers<"workers"> = {
  "workers.register": (body, { store }) => {
    store.queues.registerWorker(body.worker, body.queues ?? [], body.timeout);
    return {};
  },
  "workers.status_report": (body, { store }) => {
    store.db.transaction(() => {
      store.queues.statusReport(body);
      if (body.task) store.tasks.setLastWorker(body.task, body.worker);
    })();
    return {};
  },
  "workers.unregister": (body, { store }) => {
    store.queues.unregisterWorker(body.worker);
    return {};
  },
  "workers.get_runtime_properties": () => ({ runtime_properties: [] }),
  "workers.cluster_report": () => ({}),
  "workers.cluster_unregister": () => ({}),
  "workers.get_all": (body, { store }) => ({ workers: store.queues.listWorkers(body.last_seen) }),
};
