// The router test, run by the control plane: enqueue a small echo task, wait for an agent to
// start it and for the router to publish its endpoint, then send a request through the router
// with a real token and check that the echo answers with this test's nonce. Every way it can
// fail has its own `status_reason` and a message a person can act on.
import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { request } from "undici";
import { ECHO_ENTRY_POINT, RUNTIME, type RouterTest, type TestReason } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import type { Store } from "../store";
import type { Principal } from "./handlers";
import type { TokenService } from "./tokens";

export const TEST_TASK_TYPE = "router_test";
/** How long a test waits for a worker to appear when none serves the queue at the start. */
const NO_AGENT_GRACE_MS = 5_000;

export interface StartTest {
  router: string;
  queue: string;
  timeoutSec: number;
  user: Principal;
  allowInsecure: boolean;
}

class TestFailure extends Error {
  constructor(
    readonly reason: TestReason,
    message: string,
  ) {
    super(message);
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h)
  );
}

export class TestRunner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly log: FastifyBaseLogger,
  ) {
    store.routers.abandonRunningTests("the gateway restarted during the test; run it again");
  }

  /** Validates, enqueues the test task and returns its id; the test goes on in the background. */
  start(opts: StartTest): string {
    const router = this.store.routers.ref(opts.router);
    const queue = this.store.queues.byId(opts.queue);
    if (!queue)
      throw appgwError("APPGW_QUEUE_NOT_FOUND", `queue ${opts.queue} not found`, {
        field: "queue",
      });
    if (this.running.has(router.id)) {
      throw appgwError(
        "APPGW_TEST_RUNNING",
        `a test of router '${router.name}' is already running`,
        {
          field: "router",
        },
      );
    }
    const url = new URL(router.url);
    if (url.protocol !== "https:" && !isLoopbackHost(url.hostname) && !opts.allowInsecure) {
      throw appgwError(
        "APPGW_TEST_INSECURE",
        `router '${router.name}' is served over plain HTTP (${router.url}); router tests need HTTPS. ` +
          "Serve the router over HTTPS, or start the gateway with APPGW_ALLOW_INSECURE_TESTS=true",
        { field: "router" },
      );
    }

    const nonce = randomBytes(12).toString("hex");
    const taskName = `router-test-${router.name}`;
    const task = this.store.tasks.create({
      name: taskName,
      type: TEST_TASK_TYPE,
      entryPoint: ECHO_ENTRY_POINT,
      params: { nonce },
      systemTags: [TEST_TASK_TYPE],
      userId: opts.user.id,
    });
    // Pinned to the router under test, whatever queues that router listens to.
    this.store.tasks.editRuntime(task, { [RUNTIME.router]: router.name });
    this.store.tasks.enqueue(task, queue.id);

    const test: TestState = {
      router: router.id,
      queue: queue.id,
      task: { id: task, name: taskName },
      status: "running",
      status_reason: "running",
      status_message: `waiting for an agent on queue '${queue.name}'`,
      started: new Date().toISOString(),
      completed: null,
      run_time_sec: null,
      worker: null,
      endpoint: null,
      browser_endpoint: null,
      timeout_sec: opts.timeoutSec,
      log: [],
    };
    const step = (line: string) => {
      test.log.push(`${new Date().toISOString()} ${line}`);
      this.store.routers.saveTest(test);
    };
    step(
      `test of router '${router.name}' (${router.url}) started by ${opts.user.name}; task ${task} enqueued on '${queue.name}'`,
    );

    const run = this.run(test, { ...router, queueName: queue.name }, nonce, opts.user, step)
      .catch((err: unknown) => this.log.error({ err }, "router test crashed"))
      .finally(() => this.running.delete(router.id));
    this.running.set(router.id, run);
    return task;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.running.values()]);
  }

  private async run(
    test: TestState,
    router: { id: string; name: string; queueName: string },
    nonce: string,
    user: Principal,
    step: (line: string) => void,
  ): Promise<void> {
    const started = Date.now();
    const deadline = started + test.timeout_sec * 1000;
    try {
      await this.waitForAgent(test, router.queueName, deadline, step);
      await this.waitForEndpoint(test, router, deadline, step);
      await this.probe(test, nonce, user, deadline, step);
      test.status = "passed";
      test.status_reason = "passed";
      test.status_message = `router '${router.name}' routed a request to the test task`;
    } catch (err) {
      test.status = "failed";
      if (err instanceof TestFailure) {
        test.status_reason = err.reason;
        test.status_message = err.message;
      } else {
        test.status_reason = "aborted";
        test.status_message = `test stopped: ${(err as Error).message}`;
      }
    }
    test.completed = new Date().toISOString();
    test.run_time_sec = (Date.now() - started) / 1000;
    this.endTask(test.task.id);
    const taskLog = this.store.tasks
      .getLog(test.task.id)
      .map((e) => `${e.timestamp} [task] ${e.msg}`);
    test.log.push(...taskLog);
    step(`${test.status}: ${test.status_message} (${test.run_time_sec} s)`);
  }

  /** Until an agent has started the task. */
  private async waitForAgent(
    test: TestState,
    queueName: string,
    deadline: number,
    step: (l: string) => void,
  ): Promise<void> {
    const noAgentBy = this.store.queues.workersOf(test.queue).length
      ? Infinity
      : Date.now() + NO_AGENT_GRACE_MS;
    for (;;) {
      const task = this.store.tasks.get(test.task.id);
      if (task.status === "in_progress") {
        test.worker = task.worker;
        test.status_message = "waiting for the router to publish the test task's endpoint";
        step(`worker '${task.worker}' started the test task`);
        return;
      }
      if (task.status === "failed" || task.status === "stopped") {
        throw new TestFailure(
          "task_failed",
          `the test task ${task.status}: ${task.status_reason || "no reason given"}`,
        );
      }
      if (Date.now() >= noAgentBy && !this.store.queues.workersOf(test.queue).length) {
        throw new TestFailure(
          "no_agent",
          `no agent serves queue '${queueName}': start an agent on it (npm start -- --role agent --queue ${queueName})`,
        );
      }
      if (Date.now() >= deadline) {
        const workers = this.store.queues.workersOf(test.queue).map((w) => w.id);
        throw new TestFailure(
          "not_started",
          `no agent started the test task within ${test.timeout_sec} s (workers on '${queueName}': ${workers.join(", ") || "none"}); they may be busy`,
        );
      }
      await this.tick(deadline);
    }
  }

  /** Until the router writes the endpoint back onto the task. */
  private async waitForEndpoint(
    test: TestState,
    router: { id: string; name: string },
    deadline: number,
    step: (l: string) => void,
  ): Promise<void> {
    for (;;) {
      const task = this.store.tasks.get(test.task.id);
      const endpoint = task.runtime[RUNTIME.endpoint];
      if (endpoint) {
        test.endpoint = endpoint;
        test.browser_endpoint = task.runtime[RUNTIME.browserEndpoint] ?? endpoint;
        test.status_message = "sending a request through the router";
        step(`router published endpoint ${endpoint}`);
        return;
      }
      if (task.status !== "in_progress") {
        throw new TestFailure(
          "task_failed",
          `the test task ${task.status}: ${task.status_reason || "no reason given"}`,
        );
      }
      if (!this.store.routers.isOnline(router.id)) {
        throw new TestFailure(
          "router_offline",
          `router '${router.name}' has not sent a heartbeat for 30 s: check that it runs and reaches the API`,
        );
      }
      if (Date.now() >= deadline) {
        throw new TestFailure(
          "not_routed",
          `router '${router.name}' did not create a route for the running test task within ${test.timeout_sec} s`,
        );
      }
      await this.tick(deadline);
    }
  }

  /** One real request through the router, with a token of the user who started the test. */
  private async probe(
    test: TestState,
    nonce: string,
    user: Principal,
    deadline: number,
    step: (l: string) => void,
  ): Promise<void> {
    const endpoint = test.endpoint as string;
    const groups = this.store.groups.ofUser(user).map((g) => g.id);
    const token = await this.tokens.sign(
      { sub: user.id, name: user.name, admin: user.admin, groups },
      300,
    );
    let lastError = "";
    for (;;) {
      try {
        const res = await request(endpoint, {
          headers: { authorization: `Bearer ${token}`, accept: "application/json" },
          headersTimeout: Math.max(1000, deadline - Date.now()),
          bodyTimeout: Math.max(1000, deadline - Date.now()),
          signal: this.abort.signal,
        });
        const text = await res.body.text();
        let body: { nonce?: unknown } = {};
        try {
          body = JSON.parse(text) as { nonce?: unknown };
        } catch {
          // Not JSON: reported below with the text itself.
        }
        if (res.statusCode === 200 && body.nonce === nonce) {
          step(`echo answered through ${endpoint} with the test's nonce`);
          return;
        }
        lastError = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
        // The router may answer 503 for a moment while its table catches up.
        if (res.statusCode !== 503) {
          throw new TestFailure(
            "wrong_response",
            `the router answered ${lastError} instead of the test task's echo`,
          );
        }
      } catch (err) {
        if (err instanceof TestFailure) throw err;
        lastError = (err as Error).message;
      }
      if (Date.now() >= deadline) {
        throw new TestFailure(
          "unreachable",
          `no answer through ${endpoint} within the timeout: ${lastError}`,
        );
      }
      step(`retrying: ${lastError}`);
      await this.tick(deadline, 250);
    }
  }

  private endTask(taskId: string): void {
    try {
      this.store.tasks.setStatus(taskId, "stopped", { reason: "router test finished" });
    } catch {
      // Already ended (failed or stopped by someone): nothing to stop.
    }
  }

  private async tick(deadline: number, ms = 200): Promise<void> {
    if (this.abort.signal.aborted) throw new Error("gateway shutting down");
    await this.store.waitForChange(
      Math.max(10, Math.min(ms, deadline - Date.now())),
      this.abort.signal,
    );
  }
}

type TestState = Omit<RouterTest, "router" | "queue" | "task"> & {
  router: string;
  queue: string;
  task: { id: string; name: string };
};
