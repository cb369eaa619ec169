// The reference agent: a worker in ClearML's terms. It registers (`workers.register`), reports
// what it runs (`workers.status_report`), wakes when the gateway changes (`appgw.watch`) to take
// tasks off its queues (`queues.get_next_task`), and reports each task's life (`tasks.started`,
// `tasks.failed`) and console lines (`events.add`). It runs built-in applications only (the echo
// app, for entry point ECHO_ENTRY_POINT); a task asking for anything else fails with a reason,
// so the agent never executes code it was sent.
import { setTimeout as wait } from "node:timers/promises";
import type { Logger } from "pino";
import pino from "pino";
import {
  ECHO_ENTRY_POINT,
  EXTERNAL_SERVICE_TAG,
  ROUTER_TEST,
  RUNTIME,
  hasCode,
  messageOf,
  type Task,
} from "@appgw/sdk";
import type { ReferenceGatewayClient } from "@appgw/sdk/reference";
import { startEcho, type EchoService } from "./echo";

export interface AgentConfig {
  /** The worker name reported to the control plane. */
  worker: string;
  /** Queue names; missing queues are created. */
  queues: string[];
  /** The address tasks advertise to routers (`_ADDRESS`). */
  address: string;
  /** Tasks run at once. */
  maxTasks: number;
}

export interface RunningAgent {
  worker: string;
  close(): Promise<void>;
}

export function agentConfigFromEnv(env: NodeJS.ProcessEnv): AgentConfig {
  return {
    worker: env.APPGW_WORKER_NAME || `agent-${process.pid}`,
    queues: (env.APPGW_AGENT_QUEUES || "default").split(/[\s,]+/).filter(Boolean),
    address: env.APPGW_AGENT_ADDRESS || "127.0.0.1",
    maxTasks: Number(env.APPGW_AGENT_MAX_TASKS || 8),
  };
}

/** Heartbeat period; the tasks run are checked for a stop at the same pace. */
const HEARTBEAT_MS = 3_000;
/** The control plane drops a worker silent this long. */
const WORKER_TIMEOUT_SEC = 30;
/**
 * Long-poll wait. Any change (an enqueue, a stop) ends it at once; the bound only limits how
 * long a change the watch missed can go unnoticed.
 */
const WAIT_SEC = 10;
const MAX_BACKOFF_MS = 2_000;

/** Why a task could not get its endpoint, in the words of ClearML's SDK checks. */
class EndpointRefused extends Error {}

class Agent {
  /** Running echo apps by task id, in start order. */
  private readonly running = new Map<string, EchoService>();
  private readonly stopping = new AbortController();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly config: AgentConfig,
    private readonly client: ReferenceGatewayClient,
    private readonly queueIds: string[],
    logger: Logger,
  ) {
    this.log = logger.child({ role: "agent", worker: config.worker });
  }

  async start(): Promise<void> {
    await this.register();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
    this.loop = this.serve();
    this.log.info({ queues: this.config.queues }, "agent serving queues");
  }

  async close(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.heartbeatTimer);
    await this.loop;
    await Promise.all(
      [...this.running.keys()].map(async (task) => {
        await this.end(task, `worker ${this.config.worker} shut down`);
        await this.client.tasks
          .report("stopped", task, { status_reason: `worker ${this.config.worker} shut down` })
          .catch(() => undefined);
      }),
    );
    await this.client.workers.unregister(this.config.worker).catch(() => undefined);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private register(): Promise<void> {
    return this.client.workers.register(this.config.worker, this.queueIds, WORKER_TIMEOUT_SEC);
  }

  /** The task reported as the worker's current one: the latest started. */
  private current(): string | undefined {
    return [...this.running.keys()].pop();
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.client.workers.statusReport(this.config.worker, this.current());
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err: messageOf(err) }, "heartbeat failed");
      // The control plane may have forgotten the worker (restarted, or timed it out).
      if (!hasCode(err, "APPGW_CONNECTION")) await this.register().catch(() => undefined);
    }
    await this.checkRunning().catch((err: unknown) =>
      this.log.warn({ err: messageOf(err) }, "could not check the tasks' status"),
    );
  }

  /** Wakes on every change of the gateway, then ends stopped tasks and takes new ones. */
  private async serve(): Promise<void> {
    let since: number | undefined;
    let backoff = 0;
    while (!this.stopped) {
      try {
        const revision = await this.client.watch(since, WAIT_SEC, {
          signal: this.stopping.signal,
        });
        await this.checkRunning();
        await this.takeTasks();
        // Only now: after a failure, the next watch returns at once and the work is retried.
        since = revision;
        backoff = 0;
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err: messageOf(err) }, "waiting for work failed; retrying");
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 100 : backoff * 2);
        await this.pause(backoff);
      }
    }
  }

  /** Waits, or returns early when the agent closes. */
  private pause(ms: number): Promise<void> {
    return wait(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  private async takeTasks(): Promise<void> {
    for (const queue of this.queueIds) {
      while (!this.stopped && this.running.size < this.config.maxTasks) {
        // Never retried (the SDK knows): a lost answer means the task is already off the queue.
        const task = await this.client.queues.next(queue);
        if (task === null) break;
        await this.run(task);
      }
    }
  }

  /** Ends the tasks run here that are no longer `in_progress` (stopped, failed, deleted). */
  private async checkRunning(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    const tasks = await this.client.tasks.list({ id: ids, only_fields: ["id", "status"] });
    const status = new Map(tasks.map((t) => [t.id, t.status]));
    await Promise.all(
      ids
        .filter((id) => status.get(id) !== "in_progress")
        .map((id) => this.end(id, `the task is ${status.get(id) ?? "gone"}`)),
    );
  }

  private async run(taskId: string): Promise<void> {
    try {
      const task = await this.client.tasks.get(taskId);
      this.log.info({ task: task.id, name: task.name }, "running task");
      await this.client.tasks.report("started", task.id);
      // The control plane learns which worker runs the task from this report.
      await this.client.workers.statusReport(this.config.worker, task.id);
      await this.console(task.id, `worker ${this.config.worker} started task '${task.name}'`);
      const entryPoint = task.script?.entry_point ?? "";
      if (entryPoint !== ECHO_ENTRY_POINT) {
        await this.client.tasks.report("failed", task.id, {
          status_reason: `unsupported entry point '${entryPoint}': this agent runs ${ECHO_ENTRY_POINT} only`,
        });
        return;
      }
      await this.runEcho(task);
    } catch (err) {
      this.log.error({ err: messageOf(err), task: taskId }, "task failed to start");
      await this.end(taskId, "it failed to start");
      await this.client.tasks
        .report("failed", taskId, { status_reason: messageOf(err) })
        .catch(() => undefined);
    }
  }

  private async runEcho(task: Task): Promise<void> {
    const params = task.hyperparams?.[ROUTER_TEST.hyperparamSection] ?? {};
    const nonce = params[ROUTER_TEST.nonceParam]?.value ?? "";
    const staticRoute = params[ROUTER_TEST.staticRouteParam]?.value || null;
    const service = await startEcho({ task: task.id, nonce, host: this.config.address });
    this.running.set(task.id, service);
    await this.console(task.id, `echo service listening on ${this.config.address}:${service.port}`);
    try {
      if (staticRoute !== null) await this.checkStaticRoute(staticRoute);
      await this.requestEndpoint(task.id, service.port, staticRoute);
    } catch (err) {
      await this.end(task.id, "it could not get an endpoint");
      const reason =
        err instanceof EndpointRefused
          ? err.message
          : `could not request an endpoint: ${messageOf(err)}`;
      await this.console(task.id, reason);
      await this.client.tasks
        .report("failed", task.id, { status_reason: reason })
        .catch(() => undefined);
      return;
    }
    await this.console(
      task.id,
      `requested an external endpoint${staticRoute ? ` on static route '${staticRoute}'` : ""}`,
    );
  }

  /**
   * What ClearML's SDK checks before attaching to a static route (`_validate_static_route`):
   * the route exists, is enabled, and is load balanced unless nothing uses it yet.
   */
  private async checkStaticRoute(name: string): Promise<void> {
    const route = await this.client.routes.findByName(name);
    if (!route) throw new EndpointRefused(`static route '${name}' does not exist`);
    if (!route.enabled) throw new EndpointRefused(`static route '${name}' is disabled`);
    // `load_balancer.enabled` defaults to true in ClearML's reference.
    if (route.status === "active" && route.load_balancer?.enabled === false) {
      const holders = (route.tasks ?? []).map((t) => t.id).join(", ");
      throw new EndpointRefused(
        `static route '${name}' is single-endpoint and already routes task ${holders || "(unknown)"}`,
      );
    }
  }

  /**
   * Asks for an endpoint as `Task.request_external_endpoint` does: runtime properties on the
   * task (merged, so `_ROUTER` and anything else set stays), then the `external_service` system
   * tag added to the tags the task has.
   */
  private async requestEndpoint(
    task: string,
    port: number,
    staticRoute: string | null,
  ): Promise<void> {
    const props: Record<string, string> = {
      [RUNTIME.service]: "EXTERNAL",
      [RUNTIME.address]: this.config.address,
      [RUNTIME.port]: String(port),
    };
    if (staticRoute !== null) {
      props[RUNTIME.mode] = "path";
      props[RUNTIME.modeParam] = staticRoute;
    }
    await this.client.tasks.editRuntime(task, props, [], true);
    const tags = (await this.client.tasks.get(task)).system_tags ?? [];
    if (!tags.includes(EXTERNAL_SERVICE_TAG)) {
      await this.client.tasks.edit({
        task,
        system_tags: [...tags, EXTERNAL_SERVICE_TAG],
        force: true,
      });
    }
  }

  /** Closes the task's app if it runs here. */
  private async end(task: string, why: string): Promise<void> {
    const service = this.running.get(task);
    if (!service) return;
    this.running.delete(task);
    await service.close();
    this.log.info({ task, why }, "task ended");
    await this.console(task, `echo service closed: ${why}`);
  }

  /** One line of the task's console log; a lost line is not worth failing the task for. */
  private async console(task: string, line: string): Promise<void> {
    await this.client.tasks
      .log(task, line, this.config.worker)
      .catch((err: unknown) => this.log.warn({ err: messageOf(err), task }, "could not send log"));
  }
}

export async function startAgent(
  config: AgentConfig,
  client: ReferenceGatewayClient,
  logger: Logger = pino({ level: process.env.LOG_LEVEL ?? "info" }),
): Promise<RunningAgent> {
  const queueIds = await Promise.all(config.queues.map((q) => client.queues.ensure(q)));
  const agent = new Agent(config, client, queueIds, logger);
  await agent.start();
  return { worker: config.worker, close: () => agent.close() };
}
