import * as pulumi from "@pulumi/pulumi";
import type { RouterTestResult } from "@appgw/sdk/vocabulary";
import { providerShim, registeredProps } from "./shim";

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

/** The inputs as `check` completes them. */
export interface RouterTestInputs {
  router: string;
  queue: string;
  timeoutSec: number;
  allowInsecure: boolean;
  triggers?: unknown[];
}

/** The Test Details tab of the product, field by field. */
export interface RouterTestState
  extends RouterTestInputs, Omit<RouterTestResult, "log" | "status"> {
  routerId: string;
  /** `passed` (a failed test fails the update instead). */
  status: string;
  /** The last lines of the test log. */
  logTail: string[];
}

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
