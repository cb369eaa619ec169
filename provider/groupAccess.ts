import * as pulumi from "@pulumi/pulumi";
import { managedByMarker, providerShim, registeredProps } from "./shim";

export interface GroupAccessArgs {
  /** The group's id (a Group's `id`, or a built-in group's id). */
  group: pulumi.Input<string>;
  /** Ids of the routes the group may use (StaticRoute `id`s). */
  routes: pulumi.Input<pulumi.Input<string>[]>;
}

/** Its type token: the marker of a resource with parents names their types (`ownerMarker`). */
const TYPE = "pulumi-nodejs:dynamic/appgw:GroupAccess";
/** The inputs as `check` completes them, plus the program's marker. */
export interface GroupAccessInputs {
  group: string;
  routes: string[];
  /**
   * The marker of the stack and resource (`ownerMarker`), which every rule of this resource
   * records as its owner. `check` requires it; a state written by 0.5 or earlier has none, and its rules
   * record none (`diff` then asks for the update that records it).
   */
  __managedBy?: string;
}

export interface GroupAccessState extends GroupAccessInputs {
  /** The access rule of each route: route id -> rule id (absent in state from 0.1.0). */
  rules?: Record<string, string>;
}

/** The serialized provider: shared by every GroupAccess, since Pulumi caches serialization by identity. */
export const groupAccessProvider = providerShim("groupAccessImpl");

/**
 * The marker of a GroupAccess: `managedByMarker`, with the types of its parents before its name
 * when it has any (`shop:Team$access`). Resources of one name under different parents must not
 * record one owner: each would take the other's rules as its own.
 */
function ownerMarker(name: string, parent: pulumi.Resource | undefined): pulumi.Input<string> {
  if (!parent) return managedByMarker(name);
  return pulumi.createUrn(name, TYPE, parent).apply((urn) => {
    // urn:pulumi:<stack>::<project>::<parents' types, each followed by $><TYPE>::<name>
    const qualified = urn.split("::")[2] ?? TYPE;
    return managedByMarker(`${qualified.slice(0, -TYPE.length)}${name}`);
  });
}

/**
 * Grants one group access to routes through ClearML access rules (`entity_type: route`), one
 * rule per route, without owning the routes' own group lists.
 *
 * Use StaticRoute `accessGroups` when one stack owns a route and everything about who may use
 * it; use GroupAccess when access is granted from elsewhere (a team's stack granting its group
 * access to a shared route).
 *
 * Its rules are its own: two GroupAccess resources granting one group the same route each have
 * a rule, so removing one leaves the other's access. Each rule records the stack and resource
 * that own it in its description (a ClearML server keeps nothing else of a rule), and a create
 * whose answer was lost, or that an interrupted run made, takes only the rules recording its
 * own stack and resource.
 */
export class GroupAccess extends pulumi.dynamic.Resource {
  declare public readonly group: pulumi.Output<string>;
  declare public readonly routes: pulumi.Output<string[]>;
  /** Route id -> the access rule granting it. */
  declare public readonly rules: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: GroupAccessArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      groupAccessProvider,
      name,
      registeredProps({ ...args, __managedBy: ownerMarker(name, opts?.parent) }, ["rules"]),
      opts,
      "appgw",
      "GroupAccess",
    );
  }
}
