import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { AppGatewayClient, Router } from "../sdk";
import { hasCode } from "../sdk";
import { checkInputs, clientFor } from "./common";
import { providerShim, type Implementation } from "./shim";

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

const inputsSchema = z.strictObject({
  routerName: z.string().min(1).max(128),
  timeoutSec: z.number().int().min(1).max(3600).default(300),
  expectedUrl: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, "must be an http(s) URL")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  triggers: z.array(z.string()).optional(),
  namespace: z.string().min(1).optional(),
});

type RouterRegistrationInputs = z.output<typeof inputsSchema>;

/** The inputs plus what the control API shows of the router once it is online. */
export interface RouterRegistrationState extends RouterRegistrationInputs {
  routerId: string;
  url: string;
  version: string;
  online: boolean;
}

/** Where the provider process itself cannot help: waiting longer would not fix these. */
const FATAL = ["APPGW_BAD_CREDENTIALS", "APPGW_UNAUTHORIZED", "APPGW_FORBIDDEN"] as const;

const ready = (r: Router | undefined, expectedUrl: string | undefined): r is Router =>
  r !== undefined &&
  r.online &&
  (expectedUrl === undefined || r.url.replace(/\/+$/, "") === expectedUrl);

/** What the last poll saw, for the timeout message. */
function lastSeen(
  r: Router | undefined,
  inputs: RouterRegistrationInputs,
  lastError: unknown,
): string {
  if (lastError !== undefined) {
    return `the last poll of the control API failed: ${(lastError as Error).message ?? String(lastError)}`;
  }
  if (!r) return "no router of that name has registered";
  if (!r.online)
    return `it registered (url ${r.url}) but has sent no heartbeat since ${r.last_update}`;
  return `it is online with url ${r.url}, not ${inputs.expectedUrl}`;
}

/**
 * Polls `routers.get_all` until the router exists and is online (with `expectedUrl`, when set).
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
      router = await client.routers.findByName(inputs.routerName);
      lastError = undefined;
    } catch (err) {
      if (FATAL.some((code) => hasCode(err, code))) {
        throw new Error(
          `router '${inputs.routerName}': this stack cannot read routers from the control API ` +
            `(${(err as Error).message}). Check the stack's appgw:apiHost, appgw:accessKey and ` +
            "appgw:secretKey (an administrator's credentials)",
        );
      }
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
    routerId: router.id,
    url: router.url,
    version: router.version,
    online: router.online,
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
    return { id: router.id, outs: stateOf(inputs, router) };
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
export const routerRegistrationProvider = providerShim(__filename, "routerRegistrationImpl");

/**
 * Waits until a router has registered itself with the control API and is online, so that
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
  /** The router's id in the control API. */
  declare public readonly routerId: pulumi.Output<string>;
  /** The external URL the router registered with. */
  declare public readonly url: pulumi.Output<string>;
  /** The router's version, as it reported it. */
  declare public readonly version: pulumi.Output<string>;
  /** Online when the wait ended; not refreshed afterwards. */
  declare public readonly online: pulumi.Output<boolean>;

  constructor(name: string, args: RouterRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      routerRegistrationProvider,
      name,
      { ...args, routerId: undefined, url: undefined, version: undefined, online: undefined },
      opts,
      "appgw",
      "RouterRegistration",
    );
  }
}
