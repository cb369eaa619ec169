import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { AppGatewayClient, Group as GatewayGroup } from "../sdk";
import { hasCode, SYSTEM_GROUPS } from "../sdk";
import { checkInputs, clientFor, isNotFound, sameSet, sorted, stringSet } from "./common";
import { providerShim, registeredProps, type Implementation } from "./shim";

export interface GroupArgs {
  /** Group name, unique on the gateway (case-insensitive). */
  name: pulumi.Input<string>;
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

type GroupInputs = z.output<typeof inputsSchema>;

export interface GroupState extends GroupInputs {
  /** Ids of the member users. */
  memberIds: string[];
}

async function memberIds(client: AppGatewayClient, names: string[]): Promise<string[]> {
  if (!names.length) return [];
  const users = await client.users.list();
  const byName = new Map(users.map((u) => [u.name, u.id]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new Error(
      `members: no user named ${missing.map((n) => `'${n}'`).join(", ")} on the gateway`,
    );
  }
  return names.map((n) => byName.get(n) as string);
}

function stateOf(group: GatewayGroup, adopt: boolean | undefined): GroupState {
  return {
    name: group.name,
    description: group.description,
    members: sorted(group.users.map((u) => u.name)),
    memberIds: sorted(group.users.map((u) => u.id)),
    ...(adopt !== undefined ? { adopt } : {}),
  };
}

function inputsOf(s: GroupState): GroupInputs {
  return {
    name: s.name,
    description: s.description,
    members: s.members,
    ...(s.adopt !== undefined ? { adopt: s.adopt } : {}),
  };
}

export const groupImpl: Implementation<GroupInputs, GroupState> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    const changes =
      olds.name !== news.name ||
      olds.description !== news.description ||
      !sameSet(olds.members, news.members);
    return { changes };
  },

  async create(inputs, conn) {
    const client = clientFor(conn);
    const users = await memberIds(client, inputs.members);
    const existing = inputs.adopt ? await client.groups.findByName(inputs.name) : undefined;
    if (existing) {
      if (existing.system)
        throw new Error(`name: '${inputs.name}' is a built-in group and cannot be managed`);
      await client.groups.update({ group: existing.id, description: inputs.description, users });
      return { id: existing.id, outs: stateOf(await client.groups.get(existing.id), inputs.adopt) };
    }
    let id: string;
    try {
      ({ id } = await client.groups.create({
        name: inputs.name,
        description: inputs.description,
        users,
      }));
    } catch (err) {
      // The answer was lost after the request went out: the group may exist. Take it only if it
      // is exactly what we asked for, so a retry is idempotent and nothing is duplicated.
      const found = hasCode(err, "APPGW_CONNECTION")
        ? await client.groups.findByName(inputs.name)
        : undefined;
      const same =
        found !== undefined &&
        found.description === inputs.description &&
        sameSet(
          found.users.map((u) => u.id),
          users,
        );
      if (!same) {
        if (hasCode(err, "APPGW_GROUP_NAME_TAKEN")) {
          throw new Error(
            `a group named '${inputs.name}' already exists on the gateway. To manage it from this stack set ` +
              "`adopt: true` on the Group, or choose another name",
          );
        }
        throw err;
      }
      id = found.id;
    }
    return { id, outs: stateOf(await client.groups.get(id), inputs.adopt) };
  },

  async read(id, props, conn) {
    try {
      const state = stateOf(await clientFor(conn).groups.get(id), props.adopt);
      return { id, props: state, inputs: inputsOf(state) };
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
  },

  async update(id, _olds, news, conn) {
    const client = clientFor(conn);
    const users = await memberIds(client, news.members);
    await client.groups.update({
      group: id,
      name: news.name,
      description: news.description,
      users,
    });
    return { outs: stateOf(await client.groups.get(id), news.adopt) };
  },

  async delete(id, _props, conn) {
    try {
      await clientFor(conn).groups.delete(id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
};

/** The serialized provider: shared by every Group, since Pulumi caches serialization by identity. */
export const groupProvider = providerShim(__filename, "groupImpl");

/**
 * A custom group of gateway users. Routes grant access to groups (StaticRoute `accessGroups`
 * or GroupAccess). The built-in groups (Users, Admins, Queue admins) cannot be managed; refer to
 * them by id: `users`, `admins`, `queue-admins`.
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
      registeredProps(args, ["description", "members", "memberIds"]),
      opts,
      "appgw",
      "Group",
    );
  }
}
