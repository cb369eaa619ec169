import * as pulumi from "@pulumi/pulumi";
import { managedByMarker, providerShim, registeredProps, uniqueName } from "./shim";

export interface GroupArgs {
  /** Group name, unique on the gateway (case-insensitive). */
  name: pulumi.Input<string>;
  /**
   * On the gateway, a last line follows it that records the stack and resource managing the
   * group (`managed-by: tool=pulumi&stack=...&resource=...`), when both fit in 1024 characters.
   */
  description?: pulumi.Input<string>;
  /** Member user names. The group's members are exactly these. */
  members?: pulumi.Input<pulumi.Input<string>[]>;
  /** Take over an existing group of the same name instead of failing. Default false. */
  adopt?: pulumi.Input<boolean>;
}

/** The inputs as `check` completes them (defaults filled in), plus the program's marker. */
export interface GroupInputs {
  name: string;
  description: string;
  members: string[];
  adopt?: boolean;
  /**
   * `managedByMarker`: recorded in the group's description with each write (see `withOwner` in
   * common.ts), so that a create whose answer was lost, or that an interrupted run made, finds
   * this resource's group and no other. Kept in state, never compared, like a StaticRoute's.
   */
  __managedBy?: string;
}

export interface GroupState extends GroupInputs {
  /** Ids of the member users. */
  memberIds: string[];
}

/** The serialized provider: shared by every Group, since Pulumi caches serialization by identity. */
export const groupProvider = providerShim("groupImpl");

/**
 * A custom group of gateway users (`permissions.add_or_update_user_group`). Routes grant access
 * to groups (StaticRoute `accessGroups` or GroupAccess). The built-in groups (Users, Admins,
 * Queue admins) cannot be managed; refer to them by id.
 *
 * Its writes record the stack and resource that manage the group in its description (a ClearML
 * server keeps nothing else of a group), so that a create whose answer was lost, or that an
 * interrupted run made, takes this resource's group and no other.
 */
export class Group extends pulumi.dynamic.Resource {
  declare public readonly name: pulumi.Output<string>;
  declare public readonly description: pulumi.Output<string>;
  /** Member user names, sorted. */
  declare public readonly members: pulumi.Output<string[]>;
  declare public readonly memberIds: pulumi.Output<string[]>;

  constructor(name: string, args: GroupArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      groupProvider,
      name,
      registeredProps(
        {
          ...args,
          name: uniqueName("Group", name, args.name),
          __managedBy: managedByMarker(name),
        },
        ["description", "members", "memberIds"],
      ),
      opts,
      "appgw",
      "Group",
    );
  }
}
