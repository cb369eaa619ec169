// Router tests, read back from the tasks that ran them. The runner (the provider) writes a
// test with documented calls only: a task with system tag ROUTER_TEST.tag and runtime `_ROUTER`,
// its verdict in runtime properties, its steps in the task's console log. Nothing is stored
// here: each router's latest test is derived from its latest such task.
import {
  ROUTER_TEST,
  RUNTIME,
  testReason,
  type RouterTestRecord,
  type TestReason,
} from "@appgw/sdk/contract";
import type { Queues } from "./queues";
import { parse } from "./sql";
import { runtimeText, type Runtime, type TaskRow, type Tasks } from "./tasks";
import type { Users } from "./users";

/** The contract's bounds on a test log. */
const MAX_LOG_LINES = 2000;
const MAX_LOG_LINE = 8192;

/** Past a test's deadline by more than this, a test without a verdict has no runner left. */
const DEADLINE_GRACE_MS = 30_000;

function pastDeadline(deadline: string | undefined): boolean {
  const at = deadline ? Date.parse(deadline) : NaN;
  return Number.isFinite(at) && Date.now() > at + DEADLINE_GRACE_MS;
}

export class RouterTests {
  constructor(private readonly deps: { tasks: Tasks; queues: Queues; users: Users }) {}

  /**
   * The latest test of each router (or of these routers), by router name; `withLog: false` leaves
   * the logs (up to 2000 lines each) out, for a listing.
   */
  latest(routers?: string[], withLog = true): RouterTestRecord[] {
    const latest = new Map<string, { task: TaskRow; runtime: Record<string, string> }>();
    // Oldest first: a later task of the same router replaces an earlier one.
    for (const task of this.deps.tasks.rows({ system_tags: [ROUTER_TEST.tag] })) {
      const runtime = runtimeText(parse<Runtime>(task.runtime));
      const router = runtime[RUNTIME.router];
      // Only an administrator (or a service account) runs router tests: a user's task with
      // the same tag and a verdict of its own choosing is not a test of the router.
      const byAdmin = this.deps.users.byId(task.user_id)?.role === "admin";
      if (router && byAdmin && (!routers || routers.includes(router))) {
        latest.set(router, { task, runtime });
      }
    }
    return [...latest.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([router, { task, runtime }]) => this.record(router, task, runtime, withLog));
  }

  private record(
    router: string,
    task: TaskRow,
    runtime: Record<string, string>,
    withLog: boolean,
  ): RouterTestRecord {
    const keys = ROUTER_TEST.runtime;
    const written = runtime[keys.status];
    const taskRunning = task.status === "queued" || task.status === "in_progress";
    // No verdict yet: running while the task may still run, else the runner went away.
    let status: RouterTestRecord["status"];
    let reason: TestReason;
    let message = runtime[keys.message] ?? "";
    if (written === "passed" || written === "failed") {
      status = written;
      const given = testReason.safeParse(runtime[keys.reason]);
      reason = given.success ? given.data : written === "passed" ? "passed" : "aborted";
    } else if (taskRunning && !pastDeadline(runtime[keys.deadline])) {
      status = "running";
      reason = "running";
    } else if (taskRunning) {
      status = "failed";
      reason = "aborted";
      message = "the test's runner stopped before its verdict (its deadline has passed)";
    } else {
      status = "failed";
      reason = "aborted";
      message = `the test ended without a verdict (its task is ${task.status})`;
    }
    const started = runtime[keys.started] || task.started || task.created;
    const completed =
      status === "running"
        ? null
        : runtime[keys.completed] || task.completed || task.status_changed;
    const span = completed === null ? NaN : Date.parse(completed) - Date.parse(started);
    return {
      router,
      status,
      status_message: message.slice(0, 4096),
      status_reason: reason,
      started,
      completed,
      run_time_sec: Number.isFinite(span) ? Math.max(0, span) / 1000 : null,
      queue: task.queue_id ? (this.deps.queues.byId(task.queue_id)?.name ?? "") : "",
      worker: task.last_worker,
      task_name: task.name,
      task_id: task.id,
      // The runner keeps what the router wrote: the router removes its own keys once it stops.
      endpoint: runtime[keys.endpoint] || runtime[RUNTIME.endpoint] || null,
      browser_endpoint: runtime[keys.browserEndpoint] || runtime[RUNTIME.browserEndpoint] || null,
      log: withLog
        ? this.deps.tasks
            .getLog(task.id, MAX_LOG_LINES, true)
            .events.map((e) => e.msg.slice(0, MAX_LOG_LINE))
        : [],
    };
  }
}
