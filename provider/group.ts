import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { AppGatewayClient, Group as GatewayGroup } from "@appgw/sdk";
import { SYSTEM_GROUPS } from "@appgw/sdk";
import {
  checkInputs,
  clientFor,
  managedByMarker,
  ownerOf,
  refusal,
  sameSet,
  sorted,
  stringSet,
  uniqueName,
  usableMarker,
  withOwner,
} from "./common";
import { readsFor } from "./reads";
import { providerShim, registeredProps, type Implementation } from "./shim";

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

const BUILTIN_NAMES = Object.values(SYSTEM_GROUPS).map((g) => g.name.toLowerCase());

const inputsSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(128)
    .refine((n) => !BUILTIN_NAMES.includes(n.toLowerCase()), {
      message: `is a built-in group, which cannot be managed; refer to it by id in accessGroups (${Object.values(
        SYSTEM_GROUPS,
      )
        .map((g) => `'${g.id}'`)
        .join(", ")})`,
    }),
  description: z.string().max(1024).default(""),
  members: stringSet().default([]),
  adopt: z.boolean().optional(),
});

type GroupInputs = z.output<typeof inputsSchema> & {
  /**
   * `managedByMarker`: recorded in the group's description with each write (see `withOwner` in
   * common.ts), so that a create whose answer was lost, or that an interrupted run made, finds
   * this resource's group and no other. Kept in state, never compared, like a StaticRoute's.
   */
  __managedBy?: string;
};

export interface GroupState extends GroupInputs {
  /** Ids of the member users. */
  memberIds: string[];
}

/** The ids of the users named `names`; fails naming every name without a user. */
async function memberIds(client: AppGatewayClient, names: string[]): Promise<string[]> {
  const users = await client.users.byName(names);
  const missing = names.filter((n) => !users.has(n));
  if (missing.length) {
    throw new Error(
      `members: no user named ${missing.map((n) => `'${n}'`).join(", ")} on the gateway`,
    );
  }
  return names.map((n) => (users.get(n) as { id: string }).id);
}

/** What `permissions.add_or_update_user_group` is sent for `inputs`, member ids resolved. */
function desired(inputs: GroupInputs, users: string[]) {
  return {
    name: inputs.name,
    description: withOwner(inputs.description, inputs.__managedBy),
    users,
  };
}

/** The group's state, resolving member names through `users.get_all` when the group omits them. */
async function stateOf(
  client: AppGatewayClient,
  group: GatewayGroup,
  recorded: Pick<GroupInputs, "adopt" | "__managedBy">,
): Promise<GroupState> {
  const members = group.users ?? [];
  const unnamed = members.filter((u) => !u.name).map((u) => u.id);
  const names = new Map(members.map((u) => [u.id, u.name ?? u.id]));
  const reads = readsFor(client);
  for (const u of await Promise.all(unnamed.map((id) => reads.user(id)))) {
    if (u) names.set(u.id, u.name);
  }
  return {
    name: group.name,
    // The owner's record is ours, not the program's description.
    description: ownerOf(group.description).text,
    members: sorted([...names.values()]),
    memberIds: sorted(members.map((u) => u.id)),
    ...(recorded.adopt !== undefined ? { adopt: recorded.adopt } : {}),
    ...(recorded.__managedBy !== undefined ? { __managedBy: recorded.__managedBy } : {}),
  };
}

function inputsOf(s: GroupState): GroupInputs {
  return {
    name: s.name,
    description: s.description,
    members: s.members,
    ...(s.adopt !== undefined ? { adopt: s.adopt } : {}),
    ...(s.__managedBy !== undefined ? { __managedBy: s.__managedBy } : {}),
  };
}

/** The group with this id, decided by listing (ClearML publishes no "group not found" code). */
async function find(client: AppGatewayClient, id: string): Promise<GatewayGroup | undefined> {
  return (await readsFor(client).groups()).find((g) => g.id === id);
}

/**
 * The group with this id as the server holds it now (never the shared listing): before a write
 * or a delete that depends on it. Fails with advice when it is gone.
 */
async function mustGet(client: AppGatewayClient, id: string, name: string): Promise<GatewayGroup> {
  const group = await client.groups.get(id);
  if (!group) {
    throw new Error(
      `group '${name}' (${id}) no longer exists on the gateway: run \`pulumi refresh\`, then \`pulumi up\``,
    );
  }
  return group;
}

export const groupImpl: Implementation<GroupInputs, GroupState> = {
  async check(_olds, news) {
    const { __managedBy: marker, ...rest } = news;
    const result = checkInputs(inputsSchema, rest);
    return result.inputs && usableMarker(marker)
      ? { ...result, inputs: { ...result.inputs, __managedBy: marker } }
      : result;
  },

  async diff(_id, olds, news) {
    const changes =
      olds.name !== news.name ||
      olds.description !== news.description ||
      !sameSet(olds.members, news.members);
    // A replacement (`pulumi up --replace`) deletes first: the new resource records the same
    // owner and would take the group as an interrupted run's, which the old one's delete would
    // then remove.
    return { changes, deleteBeforeReplace: true };
  },

  async create(inputs, conn) {
    const client = clientFor(conn);
    const body = desired(inputs, await memberIds(client, inputs.members));
    const existing = inputs.adopt ? await client.groups.findByName(inputs.name) : undefined;
    if (existing) {
      if (existing.system)
        throw new Error(`name: '${inputs.name}' is a built-in group and cannot be managed`);
      // With the declared name: adopt finds a name whatever its case, and the state then
      // matches the program.
      await client.groups.save({ id: existing.id, ...body });
      const group = await mustGet(client, existing.id, inputs.name);
      return { id: existing.id, outs: await stateOf(client, group, inputs) };
    }
    let id: string;
    try {
      ({ id } = await client.groups.save(body));
    } catch (err) {
      // Whether the name is taken, or a lost answer or an interrupted run left this resource's
      // group behind, is decided by listing: ClearML publishes no subcode for either. Only a
      // group recording this stack and resource as its owner is ours; it is brought to the
      // program's when the run that made it asked for something else.
      const found = await client.groups.findByName(inputs.name).catch(() => undefined);
      if (!found) throw new Error(`group '${inputs.name}': ${refusal(err)}`);
      const ours =
        inputs.__managedBy !== undefined && ownerOf(found.description).owner === inputs.__managedBy;
      if (!ours) {
        throw new Error(
          `a group named '${found.name}' already exists on the gateway (${found.id}). To manage it ` +
            "from this stack set `adopt: true` on the Group, or choose another name",
        );
      }
      const same =
        found.name === body.name &&
        found.description === body.description &&
        sameSet(
          (found.users ?? []).map((u) => u.id),
          body.users,
        );
      if (!same) await client.groups.save({ id: found.id, ...body });
      id = found.id;
    }
    const group = await mustGet(client, id, inputs.name);
    return { id, outs: await stateOf(client, group, inputs) };
  },

  async read(id, props, conn) {
    const client = clientFor(conn);
    const group = await find(client, id);
    if (!group) return {};
    const state = await stateOf(client, group, props);
    return { id, props: state, inputs: inputsOf(state) };
  },

  async update(id, olds, news, conn) {
    const client = clientFor(conn);
    const body = desired(news, await memberIds(client, news.members));
    await mustGet(client, id, olds.name);
    await client.groups.save({ id, ...body });
    return { outs: await stateOf(client, await mustGet(client, id, news.name), news) };
  },

  async delete(id, _props, conn) {
    const client = clientFor(conn);
    if (await client.groups.get(id)) await client.groups.delete([id]);
  },
};

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
