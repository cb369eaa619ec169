// Group's dynamic provider: `permissions.*_user_group`, members by name, the owner recorded in
// the description.
import { z } from "zod";
import type { AppGatewayClient, Group as GatewayGroup } from "@appgw/sdk";
import { SYSTEM_GROUPS } from "@appgw/sdk";
import {
  checkMarkedInputs,
  clientFor,
  ownerOf,
  refusal,
  sameSet,
  sorted,
  stringSet,
  withOwner,
} from "../common";
import { readsFor } from "../reads";
import type { GroupInputs, GroupState } from "../group";
import type { Implementation } from "../shim";

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
    return checkMarkedInputs(inputsSchema, news);
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
