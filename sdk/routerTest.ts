// The router test, run with documented ClearML calls only (no router-test endpoint is
// published): launch a small task on a queue, wait for the router to give it an endpoint, send
// a request through the router, check it reached that task, stop the task. The steps go to the
// task's console log and the verdict into its runtime properties, so the result stays on the
// task (and the reference gateway shows it per router). docs/clearml-compatibility.md.
import { randomBytes } from "node:crypto";
import { ECHO_ENTRY_POINT, ECHO_REQUIREMENTS, ROUTER_TEST, RUNTIME } from "./contract";
import type { Router, Task } from "./contract";
import type { RouterTestResult, TestReason } from "./vocabulary";
import { messageOf } from "./errors";
import type { AppGatewayClient } from "./index";

export interface RouterTestOptions {
  /** The router's id (its `ROUTER_NAME`). */
  router: string;
  /** Name of a queue served by agents in the router's network. */
  queue: string;
  timeoutSec: number;
  /** Allow a plain-HTTP router outside loopback (ClearML requires HTTPS). */
  allowInsecure: boolean;
  /** Progress lines for the person running the test. */
  progress?: (line: string) => void;
  /** Called once the test's task is queued: from then on the test is on record as running. */
  onTaskCreated?: (taskId: string) => void;
  /**
   * The token sent through the router, valid for at least `seconds`. By default a new one from
   * `auth.login` (the client's credentials); a client holding only a session token passes that.
   */
  routerToken?: (seconds: number) => Promise<string>;
}

/**
 * What a ClearML agent runs: a standalone script (ClearML keeps its text in `script.diff`) that
 * serves the nonce and asks the router for an endpoint, as any app does, on the static route
 * named by `General/static_route` when one is. The agent installs ECHO_REQUIREMENTS first.
 */
export const ECHO_SCRIPT = `# App Gateway router test: answer every GET with the test's nonce.
import http.server
from clearml import Task

task = Task.init()
nonce = task.get_parameter("${ROUTER_TEST.hyperparamSection}/${ROUTER_TEST.nonceParam}")
static_route = task.get_parameter("${ROUTER_TEST.hyperparamSection}/${ROUTER_TEST.staticRouteParam}") or None


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ('{"service": "appgw-echo", "nonce": "%s"}' % nonce).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Echo)
task.request_external_endpoint(
    port=server.server_address[1], protocol="http", wait=False, static_route=static_route
)
server.serve_forever()
`;

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** HTTPS, or a loopback host (which browsers also count as secure). False for a non-URL. */
export function isSecureUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || LOOPBACK.has(parsed.hostname);
  } catch {
    return false;
  }
}
const POLL_MS = 250;

/** A failure with the reason the product shows. */
class TestFailure extends Error {
  constructor(
    readonly reason: TestReason,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one router test; never throws for a failed test, only returns its verdict. */
export async function runRouterTest(
  client: AppGatewayClient,
  opts: RouterTestOptions,
): Promise<RouterTestResult> {
  const started = new Date();
  const deadline = started.getTime() + opts.timeoutSec * 1000;
  const log: string[] = [];
  /** The runner's lines that are not on the task's console: the result's log adds them to it. */
  const notes: string[] = [];
  const taskName = `App Gateway router test: ${opts.router}`;
  let task: Task | undefined;
  let taskId = "";

  const step = async (line: string) => {
    log.push(line);
    opts.progress?.(line);
    if (!taskId) notes.push(line);
    else await client.tasks.log(taskId, line).catch(() => notes.push(line));
  };
  const note = (line: string) => {
    log.push(line);
    notes.push(line);
  };

  let reason: TestReason = "passed";
  let message = "";
  try {
    const router = await findRouter(client, opts);
    const queue = await client.queues.findByName(opts.queue);
    if (!queue) throw new TestFailure("no_agent", `the gateway has no queue named '${opts.queue}'`);
    const workers = await client.workers.list();
    const serving = workers.filter((w) =>
      [w.queue, ...(w.queues ?? [])].some((q) => q?.id === queue.id),
    );
    if (!serving.length) {
      throw new TestFailure("no_agent", `no agent serves queue '${opts.queue}'`);
    }

    const nonce = randomBytes(16).toString("hex");
    const param = (name: string, value: string) => ({
      section: ROUTER_TEST.hyperparamSection,
      name,
      value,
    });
    taskId = await client.tasks.create({
      name: taskName,
      type: "application",
      system_tags: [ROUTER_TEST.tag],
      script: {
        entry_point: ECHO_ENTRY_POINT,
        binary: "python3",
        diff: ECHO_SCRIPT,
        requirements: { pip: ECHO_REQUIREMENTS },
      },
      hyperparams: {
        [ROUTER_TEST.hyperparamSection]: {
          [ROUTER_TEST.nonceParam]: param(ROUTER_TEST.nonceParam, nonce),
        },
      },
    });
    await client.tasks.editRuntime(taskId, {
      [RUNTIME.router]: router.router,
      [ROUTER_TEST.runtime.started]: started.toISOString(),
      [ROUTER_TEST.runtime.deadline]: new Date(deadline).toISOString(),
    });
    await step(`created test task ${taskId} for router '${router.router}' (${router.url})`);
    await client.tasks.enqueue(taskId, queue.id);
    opts.onTaskCreated?.(taskId);
    await step(`enqueued on '${opts.queue}'; ${serving.length} agent(s) serve it`);

    task = await waitForEndpoint(client, taskId, deadline, step);
    const endpoint = String(task.runtime?.[RUNTIME.endpoint]);
    const origin = originOf(endpoint);
    if (origin === undefined) {
      throw new TestFailure("not_routed", `the task's endpoint '${endpoint}' is not a URL`);
    }
    if (origin !== new URL(router.url).origin) {
      // Our token goes only to the router under test, never to an address a task wrote.
      throw new TestFailure(
        "not_routed",
        `the task's endpoint ${endpoint} is not on router '${router.router}' (${router.url})`,
      );
    }
    await step(`the router gave the task an endpoint: ${endpoint}`);
    await sendThrough(client, opts.routerToken, endpoint, nonce, deadline, step);
    message = `traffic through router '${router.router}' reached the test task`;
    await step(message);
  } catch (err) {
    reason = err instanceof TestFailure ? err.reason : "aborted";
    message = messageOf(err);
    await step(`FAILED (${reason}): ${message}`);
  }

  const completed = new Date();
  // The router removes the endpoint once the task stops: keep what it wrote while routing.
  const runtime = task?.runtime ?? {};
  if (taskId) {
    await finish(client, taskId, { reason, message, completed, runtime }, note);
    task = await client.tasks.get(taskId).catch(() => task);
  }
  // The task's console holds the runner's steps and the agent's lines, in order; the runner's
  // lines that did not reach it (a failed write, the notes of `finish`) come after it.
  const taskLog = taskId ? await client.tasks.getLog(taskId).catch(() => []) : [];
  return {
    status: reason === "passed" ? "passed" : "failed",
    statusReason: reason,
    statusMessage: message,
    started: started.toISOString(),
    completed: completed.toISOString(),
    runTimeSec: (completed.getTime() - started.getTime()) / 1000,
    worker: task?.last_worker ?? "",
    taskName,
    taskId,
    browserEndpoint: String(runtime[RUNTIME.browserEndpoint] ?? ""),
    endpoint: String(runtime[RUNTIME.endpoint] ?? ""),
    log: taskLog.length ? [...taskLog, ...notes] : log,
  };
}

async function findRouter(client: AppGatewayClient, opts: RouterTestOptions): Promise<Router> {
  const routers = await client.routers.list();
  const router = routers.find((r) => r.router === opts.router);
  if (!router) {
    const known = routers.map((r) => `'${r.router}'`).join(", ") || "none";
    throw new TestFailure(
      "router_offline",
      `no router '${opts.router}' is registered with the gateway at ${client.apiHost} (registered: ${known})`,
    );
  }
  if (!isSecureUrl(router.url) && !opts.allowInsecure) {
    throw new TestFailure(
      "insecure",
      `router '${opts.router}' is served over plain HTTP (${router.url}); ClearML runs router tests ` +
        "only over HTTPS. Serve the router over HTTPS, or set allowInsecure: true",
    );
  }
  return router;
}

/** The origin of the endpoint a task reports; undefined when it is not a URL. */
function originOf(endpoint: string): string | undefined {
  try {
    return new URL(endpoint).origin;
  } catch {
    return undefined;
  }
}

/** Polls the task until the router has written its endpoint; fails when the task ends first. */
async function waitForEndpoint(
  client: AppGatewayClient,
  taskId: string,
  deadline: number,
  step: (line: string) => Promise<void>,
): Promise<Task> {
  let seen = "";
  for (;;) {
    const task = await client.tasks.get(taskId);
    const status = task.status ?? "unknown";
    if (status !== seen) {
      seen = status;
      await step(
        `task status: ${status}${task.last_worker ? ` (worker ${task.last_worker})` : ""}`,
      );
    }
    if (task.runtime?.[RUNTIME.endpoint]) return task;
    if (!["created", "queued", "in_progress"].includes(status)) {
      throw new TestFailure(
        "task_failed",
        `the test task ended as '${status}' before it was routed${task.status_reason ? `: ${task.status_reason}` : ""}`,
      );
    }
    if (Date.now() > deadline) {
      throw status === "in_progress"
        ? new TestFailure("not_routed", "the router did not give the test task an endpoint in time")
        : new TestFailure("not_started", "no agent started the test task in time");
    }
    await sleep(POLL_MS);
  }
}

/** Sends GETs through the router until one answers with the nonce, or the deadline passes. */
async function sendThrough(
  client: AppGatewayClient,
  routerToken: RouterTestOptions["routerToken"],
  endpoint: string,
  nonce: string,
  deadline: number,
  step: (line: string) => Promise<void>,
): Promise<void> {
  // A token of its own that outlives the test's deadline by 30 s: the router sees it, and a token
  // leaked by a broken or hostile router is worth the rest of the test, not the provider's whole
  // session. It is a ClearML token like any other (the API takes it too): ClearML has no token
  // for routers alone.
  const seconds = (deadline - Date.now()) / 1000 + 30;
  const token = await (routerToken ?? ((s: number) => client.shortLivedToken(s)))(seconds);
  let last = "";
  let answered = false;
  for (;;) {
    try {
      const res = await fetch(endpoint, {
        headers: { authorization: `Bearer ${token}` },
        redirect: "manual",
        signal: AbortSignal.timeout(Math.max(1000, Math.min(10_000, deadline - Date.now()))),
      });
      const body = await res.text();
      if (res.ok && body.includes(nonce)) {
        await step(`GET ${endpoint} -> ${res.status}, the answer carries the test's nonce`);
        return;
      }
      answered = true;
      const said = JSON.stringify(body.slice(0, 200));
      last = `GET ${endpoint} answered ${res.status}${res.ok ? " without the test's nonce" : ""}: ${said}`;
    } catch (err) {
      answered = false;
      last = `GET ${endpoint} failed: ${messageOf(err)}`;
    }
    // A route that is still being set up answers 404 or 503 for a moment: try until the deadline.
    if (Date.now() > deadline)
      throw new TestFailure(answered ? "wrong_response" : "unreachable", last);
    await sleep(POLL_MS);
  }
}

/** Stops the task and writes the verdict on it; best effort, the verdict stands regardless. */
async function finish(
  client: AppGatewayClient,
  taskId: string,
  verdict: {
    reason: TestReason;
    message: string;
    completed: Date;
    runtime: Record<string, unknown>;
  },
  note: (line: string) => void,
): Promise<void> {
  const status = verdict.reason === "passed" ? "passed" : "failed";
  await client.tasks
    .stop(taskId, `router test ${status}`, true)
    .catch((err: unknown) => note(`stopping the test task failed: ${messageOf(err)}`));
  const keys = ROUTER_TEST.runtime;
  await client.tasks
    .editRuntime(taskId, {
      [keys.status]: status,
      [keys.reason]: verdict.reason,
      [keys.message]: verdict.message.slice(0, 4000),
      [keys.completed]: verdict.completed.toISOString(),
      [keys.endpoint]: String(verdict.runtime[RUNTIME.endpoint] ?? ""),
      [keys.browserEndpoint]: String(verdict.runtime[RUNTIME.browserEndpoint] ?? ""),
    })
    .catch((err: unknown) => note(`recording the verdict failed: ${messageOf(err)}`));
}
