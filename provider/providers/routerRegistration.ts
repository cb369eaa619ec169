// RouterRegistration's dynamic provider: waits for a router to register with the control API.
import { z } from "zod";
import type { AppGatewayClient, Router } from "@appgw/sdk";
import { hasCode, isAuthFailure } from "@appgw/sdk";
import { checkInputs, clientFor } from "../common";
import type { RouterRegistrationInputs, RouterRegistrationState } from "../routerRegistration";
import type { Implementation } from "../shim";

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
