// The reference agent: serves queues, runs their tasks and reports a worker name and logs.
// It runs built-in applications only (the echo service); a task asking for anything else fails
// with a reason, so the agent never executes code it was sent.
import type { Logger } from "pino";
import pino from "pino";
import {
  AppGatewayClient,
  ECHO_ENTRY_POINT,
  EXTERNAL_SERVICE_TAG,
  RUNTIME,
  hasCode,
  type Task,
} from "../../sdk";
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

export async function startAgent(
  config: AgentConfig,
  client: AppGatewayClient,
  logger: Logger = pino({ level: process.env.LOG_LEVEL ?? "info" }),
): Promise<RunningAgent> {
  const log = logger.child({ role: "agent", worker: config.worker });
  const queueIds = await Promise.all(config.queues.map((q) => client.queues.ensure(q)));
  await client.queues.registerWorker(config.worker, queueIds);
  const running = new Map<string, EchoService>();
  const stop = new AbortController();

  const taskLog = (task: string, line: string) =>
    client.tasks
      .log(task, [line])
      .catch((err: unknown) => log.warn({ err, task }, "could not send log"));

  const endTask = async (taskId: string) => {
    const service = running.get(taskId);
    if (!service) return;
    running.delete(taskId);
    await service.close();
    log.info({ task: taskId }, "task ended");
  };

  const runTask = async (task: Task) => {
    await client.tasks.started(task.id, config.worker);
    await taskLog(task.id, `worker ${config.worker} started task '${task.name}'`);
    if (task.entry_point !== ECHO_ENTRY_POINT) {
      await client.tasks.failed(
        task.id,
        `unsupported entry point '${task.entry_point}': this agent runs ${ECHO_ENTRY_POINT} only`,
      );
      return;
    }
    const service = await startEcho({
      task: task.id,
      nonce: task.params.nonce ?? "",
      host: config.address,
    });
    running.set(task.id, service);
    await taskLog(task.id, `echo service listening on ${config.address}:${service.port}`);
    const runtime: Record<string, string> = {
      [RUNTIME.service]: "EXTERNAL",
      [RUNTIME.address]: config.address,
      [RUNTIME.port]: String(service.port),
    };
    if (task.params.static_route) {
      runtime[RUNTIME.mode] = "path";
      runtime[RUNTIME.modeParam] = task.params.static_route;
    }
    try {
      await client.tasks.setRuntime(task.id, runtime);
      await client.tasks.edit({
        task: task.id,
        system_tags: [...new Set([...task.system_tags, EXTERNAL_SERVICE_TAG])],
      });
      await taskLog(
        task.id,
        `requested an external endpoint${task.params.static_route ? ` on static route '${task.params.static_route}'` : ""}`,
      );
    } catch (err) {
      await endTask(task.id);
      const reason = hasCode(err, "APPGW_ROUTE_BUSY")
        ? (err as Error).message
        : `could not request an endpoint: ${(err as Error).message}`;
      await client.tasks.failed(task.id, reason).catch(() => undefined);
    }
  };

  const serveQueue = async (queueId: string) => {
    while (!stop.signal.aborted) {
      try {
        if (running.size >= config.maxTasks) {
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        const taskId = await client.queues.next(queueId, config.worker, 20, {
          signal: stop.signal,
        });
        if (!taskId || stop.signal.aborted) continue;
        const task = await client.tasks.get(taskId);
        log.info({ task: task.id, name: task.name }, "running task");
        await runTask(task).catch(async (err: unknown) => {
          log.error({ err, task: task.id }, "task failed to start");
          await client.tasks.failed(task.id, (err as Error).message).catch(() => undefined);
        });
      } catch (err) {
        if (stop.signal.aborted) return;
        log.warn({ err }, "queue poll failed; retrying");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };

  const heartbeat = setInterval(() => {
    client.queues
      .heartbeat(config.worker, running.keys().next().value ?? null)
      .then((stopped) => Promise.all(stopped.map(endTask)))
      .catch((err: unknown) => log.warn({ err }, "heartbeat failed"));
  }, 1000);

  const loops = queueIds.map(serveQueue);
  log.info({ queues: config.queues }, "agent serving queues");
  return {
    worker: config.worker,
    close: async () => {
      stop.abort();
      clearInterval(heartbeat);
      await Promise.all([...running.keys()].map(endTask));
      await client.queues.unregisterWorker(config.worker).catch(() => undefined);
      await Promise.allSettled(loops);
    },
  };
}
