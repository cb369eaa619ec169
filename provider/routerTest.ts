import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { hasCode, type RouterTest as GatewayTest } from "../sdk";
import { checkInputs, clientFor } from "./common";
import { providerShim, registeredProps, type ConnectionConfig, type Implementation } from "./shim";

export interface RouterTestArgs {
  /** Name of the router to test (routers register themselves under `ROUTER_NAME`). */
  router: pulumi.Input<string>;
  /** Queue served by agents in the network the router should reach. */
  queue: pulumi.Input<string>;
  /** How long the test may take, seconds. Default 120. */
  timeoutSec?: pulumi.Input<number>;
  /**
   * Values whose change re-runs the test, such as the router's image or deployment. The test
   * also re-runs when `router`, `queue` or `timeoutSec` change; never on refresh.
   */
  triggers?: pulumi.Input<unknown[]>;
}

const inputsSchema = z.strictObject({
  router: z.string().min(1),
  queue: z.string().min(1),
  timeoutSec: z.number().int().min(5).max(3600).default(120),
  triggers: z.array(z.unknown()).optional(),
});

type RouterTestInputs = z.output<typeof inputsSchema>;

/** The Test Details tab of the product, field by field. */
export interface RouterTestState extends RouterTestInputs {
  routerId: string;
  status: string;
  statusMessage: string;
  statusReason: string;
  started: string;
  completed: string;
  runTimeSec: number;
  worker: string;
  taskName: string;
  taskId: string;
  browserEndpoint: string;
  endpoint: string;
  /** The last lines of the test log. */
  logTail: string[];
}

const LOG_TAIL = 15;

function inputsOf(s: RouterTestState): RouterTestInputs {
  return {
    router: s.router,
    queue: s.queue,
    timeoutSec: s.timeoutSec,
    ...(s.triggers ? { triggers: s.triggers } : {}),
  };
}

/** Runs the gateway's router test and waits for its verdict; a failed test throws. */
async function runTest(
  inputs: RouterTestInputs,
  conn: ConnectionConfig,
): Promise<{ id: string; outs: RouterTestState }> {
  const client = clientFor(conn);
  const router = await client.routers.findByName(inputs.router);
  if (!router) {
    const known = (await client.routers.list()).map((r) => `'${r.name}'`);
    throw new Error(
      `router: no router named '${inputs.router}' has registered with the gateway at ${client.apiHost}` +
        ` (registered: ${known.join(", ") || "none"})`,
    );
  }
  const queue = await client.queues.findByName(inputs.queue);
  if (!queue) {
    throw new Error(`queue: the gateway has no queue named '${inputs.queue}'`);
  }
  const progress = (line: string) => console.error(`router test '${router.name}': ${line}`);

  for (;;) {
    try {
      await client.routers.startTest({
        router: router.id,
        queue: queue.id,
        timeout_sec: inputs.timeoutSec,
      });
      break;
    } catch (err) {
      if (!hasCode(err, "APPGW_TEST_RUNNING"))
        throw new Error(`router test of '${router.name}': ${(err as Error).message}`);
      // Another test of this router is running (an earlier, interrupted `up`): let it end, then start ours.
      progress("another test of this router is running; waiting for it to end");
      await client.routers.waitForTest(router.id, { pollMs: 500 });
    }
  }

  let lastMessage = "";
  const test: GatewayTest = await client.routers.waitForTest(router.id, {
    pollMs: 250,
    onProgress: (t) => {
      if (t.status_message !== lastMessage) progress((lastMessage = t.status_message));
    },
  });
  const logTail = test.log.slice(-LOG_TAIL);
  if (test.status !== "passed") {
    throw new Error(
      `router test of '${router.name}' failed (${test.status_reason}): ${test.status_message}\n` +
        `--- last ${logTail.length} lines of the test log ---\n${logTail.join("\n")}`,
    );
  }
  return {
    id: router.id,
    outs: {
      ...inputs,
      routerId: router.id,
      status: test.status,
      statusMessage: test.status_message,
      statusReason: test.status_reason,
      started: test.started,
      completed: test.completed ?? "",
      runTimeSec: test.run_time_sec ?? 0,
      worker: test.worker ?? "",
      taskName: test.task.name,
      taskId: test.task.id,
      browserEndpoint: test.browser_endpoint ?? "",
      endpoint: test.endpoint ?? "",
      logTail,
    },
  };
}

export const routerTestImpl: Implementation<RouterTestInputs, RouterTestState> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    const changes =
      olds.router !== news.router ||
      olds.queue !== news.queue ||
      olds.timeoutSec !== news.timeoutSec ||
      JSON.stringify(olds.triggers ?? null) !== JSON.stringify(news.triggers ?? null);
    return { changes };
  },

  create: runTest,

  /** A test is a past event: refresh keeps the recorded result, so it never flaps or re-runs. */
  async read(id, props) {
    return { id, props, inputs: inputsOf(props) };
  },

  async update(_id, _olds, news, conn) {
    return { outs: (await runTest(news, conn)).outs };
  },

  async delete() {
    // Only the latest result of a router's test exists, and it belongs to the router.
  },
};

/** The serialized provider: shared by every RouterTest, since Pulumi caches serialization by identity. */
export const routerTestProvider = providerShim(__filename, "routerTestImpl");

/**
 * Proves a router works: the gateway launches a small task on `queue`, waits for the router to
 * route it, and sends a request through the router with a real token. `pulumi up` fails with
 * the reason and the tail of the test log when the test fails. Give the router's deployment (or
 * image, or version) in `triggers` so a rollout re-runs the test.
 */
export class RouterTest extends pulumi.dynamic.Resource {
  declare public readonly router: pulumi.Output<string>;
  declare public readonly queue: pulumi.Output<string>;
  declare public readonly routerId: pulumi.Output<string>;
  /** `passed` (a failed test fails the update instead). */
  declare public readonly status: pulumi.Output<string>;
  declare public readonly statusMessage: pulumi.Output<string>;
  declare public readonly statusReason: pulumi.Output<string>;
  declare public readonly started: pulumi.Output<string>;
  declare public readonly completed: pulumi.Output<string>;
  declare public readonly runTimeSec: pulumi.Output<number>;
  declare public readonly worker: pulumi.Output<string>;
  declare public readonly taskName: pulumi.Output<string>;
  declare public readonly taskId: pulumi.Output<string>;
  declare public readonly browserEndpoint: pulumi.Output<string>;
  declare public readonly endpoint: pulumi.Output<string>;
  declare public readonly logTail: pulumi.Output<string[]>;

  constructor(name: string, args: RouterTestArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = [
      "timeoutSec",
      "triggers",
      "routerId",
      "status",
      "statusMessage",
      "statusReason",
      "started",
      "completed",
      "runTimeSec",
      "worker",
      "taskName",
      "taskId",
      "browserEndpoint",
      "endpoint",
      "logTail",
    ];
    super(routerTestProvider, name, registeredProps(args, outputs), opts, "appgw", "RouterTest");
  }
}
