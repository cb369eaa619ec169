import * as pulumi from "@pulumi/pulumi";
import { routeStatusLabel, type RouteStatusLabel } from "@appgw/sdk/vocabulary";
import { managedByMarker, providerShim, registeredProps, uniqueName, unsetSettings } from "./shim";

export interface StaticRouteArgs {
  /** Route label, unique on the gateway. Tasks attach to the route by this name. */
  name: pulumi.Input<string>;
  /** URL path, beginning with `/` (`/llm`). Exactly one of `path` and `subdomain`. */
  path?: pulumi.Input<string>;
  /** Subdomain of the router's domain (`llm` for `llm.<router domain>`). */
  subdomain?: pulumi.Input<string>;
  /** Several targets behind the route, with session affinity. Default false (single endpoint). */
  loadBalanced?: pulumi.Input<boolean>;
  /** Only signed-in users may use the route (ClearML's `auth_enabled`). Default true; false makes it public. */
  authenticated?: pulumi.Input<boolean>;
  /**
   * Ids of the groups whose members may use the route (ClearML's `user_groups`: a Group's `id`,
   * or a built-in group's id).
   *
   * Set, this resource owns the route's group list: groups added elsewhere show as drift and are
   * removed by the next update. `[]` means the route names no group of its own (every signed-in
   * user may use it unless an access rule restricts it), and going from unset to `[]` clears the
   * groups the route has. Unset, the route's groups are left alone and never compared: grant
   * access with GroupAccess resources, or elsewhere. Going from a list back to unset stops
   * managing them and leaves them as they are.
   */
  accessGroups?: pulumi.Input<pulumi.Input<string>[]>;
  /** Default true. A disabled route keeps its configuration but routes nothing. */
  enabled?: pulumi.Input<boolean>;
  /**
   * ClearML edits a route only while it is disabled, so an update of an enabled route disables
   * it, edits it and enables it again. While the route is routing traffic (`Routing`), that
   * stops its connections. Set false to make such an update fail instead, with the reason.
   * Default true.
   */
  allowDisruptiveEdits?: pulumi.Input<boolean>;
  /**
   * Take over a route of the same name that already exists on the gateway instead of failing
   * (dynamic resources cannot be imported; see the README). Default false.
   */
  adopt?: pulumi.Input<boolean>;
}

/** The inputs as `check` completes them (defaults filled in), plus the program's marker. */
export interface StaticRouteInputs {
  name: string;
  path?: string;
  subdomain?: string;
  loadBalanced: boolean;
  authenticated: boolean;
  accessGroups?: string[];
  enabled: boolean;
  allowDisruptiveEdits: boolean;
  adopt?: boolean;
  /**
   * `managedByMarker`: sent with each route write, kept in state so that `read` returns it, and
   * never compared (a stack that upgrades to it, or is renamed, shows no change).
   */
  __managedBy?: string;
}

/** The product's three states; see docs/clearml-compatibility.md for how they are derived. */
export type { RouteStatusLabel };

/** @deprecated since 0.5: `routeStatusLabel` of `@appgw/sdk`, which the settings page shares. */
export const statusLabel = routeStatusLabel;

/** Everything the resource records: its inputs plus what the gateway computes. */
export interface StaticRouteState extends StaticRouteInputs {
  /** `URL` or `Subdomain`, as the product shows it. */
  type: "URL" | "Subdomain";
  status: RouteStatusLabel;
  /** The route's URLs on the routers serving it; empty while no router does. */
  urls: string[];
  /**
   * Who the routers admit, as the settings page shows it: `["Public"]` for a public route;
   * `["Users"]` (every signed-in user) while nothing restricts it; else the names of the groups
   * (the route's own and those of its access rules, such as a GroupAccess grants), sorted, then
   * of the users its access rules name, sorted, and `[]` when none is left: a restriction whose
   * groups and users are all gone admits no one.
   */
  access: string[];
  targets: string[];
  tasks: string[];
  created: string;
  lastUpdated: string;
  /** Name of the user who last changed the route (its id when the user is gone). */
  updatedBy: string;
}

/**
 * Outputs that only report what the gateway computes: the state keeps them under `observed`
 * (provider/runtime.ts says why), and the class reads them through getters.
 */
export const OBSERVED = [
  "type",
  "status",
  "urls",
  "access",
  "targets",
  "tasks",
  "created",
  "lastUpdated",
  "updatedBy",
] as const satisfies readonly (keyof StaticRouteState)[];
type Observed = (typeof OBSERVED)[number];

/**
 * The settings a program may leave unset: the state copies them under `observed` too, and the
 * class registers only those the program gave (`unsetSettings` in provider/shim.ts says why).
 */
export const SETTINGS = [
  "path",
  "subdomain",
  "loadBalanced",
  "authenticated",
  "accessGroups",
  "enabled",
  "allowDisruptiveEdits",
] as const satisfies readonly (keyof StaticRouteInputs)[];

/** The serialized provider: shared by every StaticRoute, since Pulumi caches serialization by identity. */
export const staticRouteProvider = providerShim("staticRouteImpl");

/**
 * A static route of the gateway: a fixed URL (`<router url>/path` or `sub.<router domain>`)
 * that tasks attach to by name.
 *
 * ClearML edits a route only while it is disabled, so changing anything but `enabled` on an
 * enabled route disables it, edits it and enables it again. During that edit (a few
 * milliseconds against the reference gateway) the route routes nothing: new requests get 404
 * and its open connections are closed. If the edit is refused, the route is restored as it was.
 * `allowDisruptiveEdits: false` makes such an update of a route that is routing fail instead.
 * The update ends once the routers that served the route serve it again (at most 10 s), so that
 * what they report (`urls`, and `status` and `targets` with them) is recorded as the edit left
 * it, not as it was during the edit.
 *
 * Its writes name the stack and the resource that manage the route (`X-Appgw-Managed-By`), which
 * the reference gateway shows; see docs/clearml-compatibility.md, "Routes managed by Pulumi".
 */
export class StaticRoute extends pulumi.dynamic.Resource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly path: pulumi.Output<string | undefined>;
  declare public readonly subdomain: pulumi.Output<string | undefined>;
  declare public readonly loadBalanced: pulumi.Output<boolean>;
  declare public readonly authenticated: pulumi.Output<boolean>;
  declare public readonly accessGroups: pulumi.Output<string[] | undefined>;
  declare public readonly enabled: pulumi.Output<boolean>;
  declare public readonly allowDisruptiveEdits: pulumi.Output<boolean>;
  /**
   * What the gateway reports, kept as one output (see `OBSERVED` and the getters below), with a
   * copy of the `SETTINGS`.
   */
  declare private readonly observed: pulumi.Output<
    Pick<StaticRouteState, Observed | (typeof SETTINGS)[number]> | undefined
  >;

  /** One field of `observed`; undefined only in a state no update has touched since 0.3.0. */
  private seen<K extends Observed>(field: K): pulumi.Output<StaticRouteState[K]> {
    return this.observed.apply((o) => o?.[field]) as pulumi.Output<StaticRouteState[K]>;
  }

  /** `URL` or `Subdomain`. */
  get type(): pulumi.Output<string> {
    return this.seen("type");
  }
  /** `Not In Use`, `Pending` or `Routing`. */
  get status(): pulumi.Output<RouteStatusLabel> {
    return this.seen("status");
  }
  /** The route's URLs on the routers that serve it; empty while none does. */
  get urls(): pulumi.Output<string[]> {
    return this.seen("urls");
  }
  /**
   * Who the routers admit: `Public`, `Users` (every signed-in user), or the names of the groups,
   * then of the users; none when a restriction admits no one.
   */
  get access(): pulumi.Output<string[]> {
    return this.seen("access");
  }
  /** `ip:port` of the internal endpoints behind the route. */
  get targets(): pulumi.Output<string[]> {
    return this.seen("targets");
  }
  /** Names of the tasks attached to the route. */
  get tasks(): pulumi.Output<string[]> {
    return this.seen("tasks");
  }
  get created(): pulumi.Output<string> {
    return this.seen("created");
  }
  get lastUpdated(): pulumi.Output<string> {
    return this.seen("lastUpdated");
  }
  get updatedBy(): pulumi.Output<string> {
    return this.seen("updatedBy");
  }

  constructor(name: string, args: StaticRouteArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      staticRouteProvider,
      name,
      registeredProps(
        {
          ...args,
          name: uniqueName("StaticRoute", name, args.name),
          __managedBy: managedByMarker(name),
        },
        ["observed"],
      ),
      opts,
      "appgw",
      "StaticRoute",
    );
    unsetSettings(this, this.observed, SETTINGS);
  }
}
