import * as pulumi from "@pulumi/pulumi";
import { providerShim, registeredProps } from "./shim";

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

/** The inputs as `check` completes them: defaults filled in, the URL without trailing slashes. */
export interface RouterRegistrationInputs {
  routerName: string;
  timeoutSec: number;
  expectedUrl?: string;
  triggers?: string[];
  namespace?: string;
}

/** The inputs plus what the control API shows of the router once it is online. */
export interface RouterRegistrationState extends RouterRegistrationInputs {
  /** The router's id in `routers.get_task_routers`: its `ROUTER_NAME`. */
  routerId: string;
  url: string;
  /** Absent when the router reported no version. */
  version?: string;
  online: boolean;
}

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
