import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { runRouterTest, type RouterTestResult } from "@appgw/sdk";
import { checkInputs, clientFor } from "./common";
import { providerShim, registeredProps, type ConnectionConfig, type Implementation } from "./shim";

export interface RouterTestArgs {
  /** The router to test: its id, which is the `ROUTER_NAME` it registered with. */
  router: pulumi.Input<string>;
  /** Queue served by agents in the network the router should reach. */
  queue: pulumi.Input<string>;
  /** How long the test may take, seconds. Default 120. */
  timeoutSec?: pulumi.Input<number>;
  /**
   * ClearML runs router tests only when the router is served over HTTPS. Loopback routers are
   * exempt; set true to test a plain-HTTP router elsewhere. Default false.
   */
  allowInsecure?: pulumi.Input<boolean>;
  /**
   * Values whose change re-runs the test, such as the router's image or deployment. The test
   * also re-runs when `router`, `queue`, `timeoutSec` or `allowInsecure` change; never on refresh.
   */
  triggers?: pulumi.Input<unknown[]>;
}

const inputsSchema = z.strictObject({
  router: z.string().min(1),
  queue: z.string().min(1),
  timeoutSec: z.number().int().min(5).max(3600).default(120),
  allowInsecure: z.boolean().default(false),
  triggers: z.array(z.unknown()).optional(),
});

type RouterTestInputs = z.output<typeof inputsSchema>;

/** The Test Details tab of the product, field by field. */
export interface RouterTestState
  extends RouterTestInputs, Omit<RouterTestResult, "log" | "status"> {
  routerId: string;
  /** `passed` (a failed test fails the update instead). */
  status: string;
  /** The last lines of the test log. */
  logTail: string[];
}

const LOG_TAIL = 15;

function inputsOf(s: RouterTestState): RouterTestInputs {
  return {
    router: s.router,
    queue: s.queue,
    timeoutSec: s.timeoutSec,
    allowInsecure: s.allowInsecure ?? false,
    ...(s.triggers ? { triggers: s.triggers } : {}),
  };
}

/** Runs the router test and waits for its verdict; a failed test throws with the log's tail. */
async function runTest(
  inputs: RouterTestInputs,
  conn: ConnectionConfig,
): Promise<{ id: string; outs: RouterTestState }> {
  const { log, ...result } = await runRouterTest(clientFor(conn), {
    router: inputs.router,
    queue: inputs.queue,
    timeoutSec: inputs.timeoutSec,
    allowInsecure: inputs.allowInsecure,
    progress: (line) => console.error(`router test '${inputs.router}': ${line}`),
  });
  const logTail = log.slice(-LOG_TAIL);
  if (result.status !== "passed") {
    throw new Error(
      `router test of '${inputs.router}' failed (${result.statusReason}): ${result.statusMessage}\n` +
        `--- last ${logTail.length} lines of the test log ---\n${logTail.join("\n")}`,
    );
  }
  return { id: inputs.router, outs: { ...inputs, ...result, routerId: inputs.router, logTail } };
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
      (olds.allowInsecure ?? false) !== news.allowInsecure ||
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
    // The stopped test task stays on the gateway as the record of the test.
  },
};

/** The serialized provider: shared by every RouterTest, since Pulumi caches serialization by identity. */
export const routerTestProvider = providerShim("routerTestImpl");

/**
 * Proves a router works, as the product's router test does, with documented ClearML calls: it
 * launches a small task on `queue`, waits for the router to give it an endpoint, sends a
 * request through the router with the stack's own token, checks it reached that task, and stops
 * the task. The steps and the verdict are written on the task. `pulumi up` fails with
 * the reason and the tail of the test log when the test fails. Give the router's deployment (or
 * image, or version) in `triggers` so a rollout re-runs the test.
 */
export class RouterTest extends pulumi.dynamic.Resource {
  declare public readonly router: pulumi.Output<string>;
  declare public readonly queue: pulumi.Output<string>;
  declare public readonly allowInsecure: pulumi.Output<boolean>;
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
      "allowInsecure",
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
