import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { AppGatewayClient, Router } from "@appgw/sdk";
import { hasCode, isAuthFailure } from "@appgw/sdk";
import { checkInputs, clientFor } from "./common";
import { providerShim, registeredProps, type Implementation } from "./shim";

export interface RouterRegistrationArgs {
  /** `ROUTER_NAME` of the router to wait for. Changing it replaces the resource. */
  routerName: pulumi.Input<string>;
  /** How long `create`/`update` wait for the router to register and come online. Default 300. */
  timeoutSec?: pulumi.Input<number>;
  /**
   * The URL the router must have registered with (its `ROUTER_URL`). When set, a router of the
   * same name registered elsewhere, or still showing an old URL, does not count.
   */
  expectedUrl?: pulumi.Input<string>;
  /**
   * Any change of these values waits for the router again. RouterDeployment passes the
   * Deployment's generation and images, so a rollout is followed by a new wait.
   */
  triggers?: pulumi.Input<pulumi.Input<string>[]>;
  /** Kubernetes namespace of the router's Deployment; only used to make error messages precise. */
  namespace?: pulumi.Input<string>;
}

/** URLs compare without trailing slashes: `https://r.example.com/` is `https://r.example.com`. */
const normalUrl = (u: string): string => u.replace(/\/+$/, "");

const inputsSchema = z.strictObject({
  routerName: z.string().min(1).max(128),
  timeoutSec: z.number().int().min(1).max(3600).default(300),
  expectedUrl: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, "must be an http(s) URL")
    .transform((u) => normalUrl(u))
    .optional(),
  triggers: z.array(z.string()).optional(),
  namespace: z.string().min(1).optional(),
});

type RouterRegistrationInputs = z.output<typeof inputsSchema>;

/** The inputs plus what the control API shows of the router once it is online. */
export interface RouterRegistrationState extends RouterRegistrationInputs {
  /** The router's id in `routers.get_task_routers`: its `ROUTER_NAME`. */
  routerId: string;
  url: string;
  /** Absent when the router reported no version. */
  version?: string;
  online: boolean;
}

/**
 * Answers that waiting longer would not change: the stack's credentials are refused (any 401:
 * the SDK has already tried a fresh login), its user may not list routers (403:
 * `get_task_routers` needs an administrator), or the server has no such endpoint (404: not
 * ClearML Enterprise, or too old).
 */
function fatal(err: unknown, routerName: string): Error | undefined {
  const message = (err as Error).message ?? String(err);
  if (
    isAuthFailure(err) ||
    hasCode(err, "APPGW_FORBIDDEN") ||
    hasCode(err, "APPGW_NO_WRITE_PERMISSION")
  ) {
    return new Error(
      `router '${routerName}': this stack cannot read routers from the control API ` +
        `(${message}). Check the stack's appgw:apiHost, appgw:accessKey and appgw:secretKey ` +
        "(routers.get_task_routers needs an administrator's credentials)",
    );
  }
  if (hasCode(err, "APPGW_UNKNOWN_ENDPOINT")) {
    return new Error(
      `router '${routerName}': the control API has no routers.get_task_routers (${message}). ` +
        "Routers are listed by ClearML Enterprise servers only; check appgw:apiHost",
    );
  }
  return undefined;
}

/**
 * Listed with the URL we expect. Listed means online: the control API drops a router whose
 * last report is older than the `timeout` it reported with.
 */
const ready = (r: Router | undefined, expectedUrl: string | undefined): r is Router =>
  r !== undefined && (expectedUrl === undefined || normalUrl(r.url) === expectedUrl);

/** What the last poll saw, for the timeout message. */
function lastSeen(
  r: Router | undefined,
  inputs: RouterRegistrationInputs,
  lastError: unknown,
): string {
  if (lastError !== undefined) {
    return `the last poll of the control API failed: ${(lastError as Error).message ?? String(lastError)}`;
  }
  if (!r) {
    return (
      "no router of that name is registered (the control API lists a router only while it " +
      "keeps reporting)"
    );
  }
  return `it is online with url ${r.url}, not ${inputs.expectedUrl}`;
}

/**
 * Polls `routers.get_task_routers` until the router is listed (with `expectedUrl`, when set).
 * Polls quickly at first (a router that is already up answers the first poll), then every 2 s.
 */
async function waitForRouter(
  client: AppGatewayClient,
  inputs: RouterRegistrationInputs,
): Promise<Router> {
  const deadline = Date.now() + inputs.timeoutSec * 1000;
  let delay = 250;
  let router: Router | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      // A router's id is its ROUTER_NAME (docs/clearml-compatibility.md).
      router = await client.routers.find(inputs.routerName);
      lastError = undefined;
    } catch (err) {
      const stop = fatal(err, inputs.routerName);
      if (stop) throw stop;
      lastError = err;
    }
    if (ready(router, inputs.expectedUrl)) return router;
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise((r) => setTimeout(r, Math.min(delay, left)));
    delay = Math.min(delay * 2, 2000);
  }
  const logs = inputs.namespace
    ? `\`kubectl logs -n ${inputs.namespace} deployment/${inputs.routerName} --all-containers\``
    : "the router's logs";
  throw new Error(
    `router '${inputs.routerName}' did not come online within ${inputs.timeoutSec}s: ` +
      `${lastSeen(router, inputs, lastError)}. Check ${logs}; that CLEARML_API_HOST given to the ` +
      "router is reachable from the cluster and its API credentials are valid (the router registers " +
      "itself with them); and that this stack's appgw:apiHost is the same control API",
  );
}

function stateOf(inputs: RouterRegistrationInputs, router: Router): RouterRegistrationState {
  return {
    ...inputs,
    routerId: router.router,
    url: router.url,
    ...(router.version ? { version: router.version } : {}),
    // Listed means online; see `ready`.
    online: true,
  };
}

function inputsOf(state: RouterRegistrationState): RouterRegistrationInputs {
  const { routerName, timeoutSec, expectedUrl, triggers, namespace } = state;
  const inputs: RouterRegistrationInputs = { routerName, timeoutSec };
  if (expectedUrl !== undefined) inputs.expectedUrl = expectedUrl;
  if (triggers !== undefined) inputs.triggers = triggers;
  if (namespace !== undefined) inputs.namespace = namespace;
  return inputs;
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((v, i) => v === (b ?? [])[i]);

export const routerRegistrationImpl: Implementation<
  RouterRegistrationInputs,
  RouterRegistrationState
> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    // The id is the router's id, which belongs to its name: another name is another router.
    const replaces = olds.routerName !== news.routerName ? ["routerName"] : [];
    const changes =
      replaces.length > 0 ||
      olds.timeoutSec !== news.timeoutSec ||
      olds.expectedUrl !== news.expectedUrl ||
      olds.namespace !== news.namespace ||
      !sameList(olds.triggers, news.triggers);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async create(inputs, conn) {
    const router = await waitForRouter(clientFor(conn), inputs);
    return { id: router.router, outs: stateOf(inputs, router) };
  },

  // Never polls: whether the router is online right now is not this resource's state, and
  // reading it here would make `refresh` flap with every missed heartbeat.
  async read(id, props) {
    return { id, props, inputs: inputsOf(props) };
  },

  async update(_id, _olds, news, conn) {
    return { outs: stateOf(news, await waitForRouter(clientFor(conn), news)) };
  },

  // Routers register themselves; the registration goes away with the router, not with this wait.
  async delete() {},
};

/** The serialized provider: shared by every RouterRegistration, since Pulumi caches serialization by identity. */
export const routerRegistrationProvider = providerShim("routerRegistrationImpl");

/**
 * Waits until a router has registered itself with the control API (it is listed by
 * `routers.get_task_routers`, which lists only routers that keep reporting), so that
 * `pulumi up` fails (instead of reporting success) when a router never comes up. It creates
 * nothing on the gateway: `read` returns the recorded state unchanged and `delete` does nothing.
 *
 * The wait uses the stack's own connection to the control API (`appgw:apiHost`,
 * `appgw:accessKey`, `appgw:secretKey`, or the `CLEARML_API_*` environment variables), not
 * the router's credentials.
 */
export class RouterRegistration extends pulumi.dynamic.Resource {
  // `declare`, not `!`: with target ES2022 (useDefineForClassFields), a `!` field is redefined as
  // undefined after `super()` returns, wiping the outputs the Resource constructor just set.
  declare public readonly routerName: pulumi.Output<string>;
  declare public readonly timeoutSec: pulumi.Output<number>;
  declare public readonly expectedUrl: pulumi.Output<string | undefined>;
  declare public readonly triggers: pulumi.Output<string[] | undefined>;
  declare public readonly namespace: pulumi.Output<string | undefined>;
  /** The router's id in `routers.get_task_routers`, which is its `ROUTER_NAME`. */
  declare public readonly routerId: pulumi.Output<string>;
  /** The external URL the router registered with. */
  declare public readonly url: pulumi.Output<string>;
  /** The router's version, as it reported it; undefined when it reported none. */
  declare public readonly version: pulumi.Output<string | undefined>;
  /** Always true once created: the wait ends only when the router is listed. Not refreshed. */
  declare public readonly online: pulumi.Output<boolean>;

  constructor(name: string, args: RouterRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      routerRegistrationProvider,
      name,
      registeredProps(args, [
        "timeoutSec",
        "expectedUrl",
        "triggers",
        "namespace",
        "routerId",
        "url",
        "version",
        "online",
      ]),
      opts,
      "appgw",
      "RouterRegistration",
    );
  }
}
