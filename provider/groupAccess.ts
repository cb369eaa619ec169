import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { messageOf, type AccessRule, type AppGatewayClient } from "@appgw/sdk";
import { checkInputs, clientFor, sameSet, sorted, stringSet } from "./common";
import { readsFor } from "./reads";
import { providerShim, registeredProps, type ConnectionConfig, type Implementation } from "./shim";

export interface GroupAccessArgs {
  /** The group's id (a Group's `id`, or a built-in group's id). */
  group: pulumi.Input<string>;
  /** Ids of the routes the group may use (StaticRoute `id`s). */
  routes: pulumi.Input<pulumi.Input<string>[]>;
}

const inputsSchema = z.strictObject({
  group: z.string().min(1),
  routes: stringSet().refine((r) => r.length > 0, { message: "must name at least one route" }),
});

type GroupAccessInputs = z.output<typeof inputsSchema>;

export interface GroupAccessState extends GroupAccessInputs {
  /** The access rule of each route: route id -> rule id (absent in state from 0.1.0). */
  rules?: Record<string, string>;
}

/**
 * The rule granting `group` access to `route`. Its name is derived from both, so a create whose
 * answer was lost finds its rule again instead of making a second one.
 */
const ruleName = (group: string, route: string) => `appgw-access:${group}:${route}`;

const grants = (rule: AccessRule, group: string, route: string) =>
  rule.entity_type === "route" &&
  rule.entity_id === route &&
  (rule.groups ?? []).some((g) => g.id === group);

/**
 * Our rules that still grant `group` access, by route: the recorded rule, or else the rule
 * named for the pair (a create whose answer was lost, or state from before rules were recorded).
 */
function held(rules: AccessRule[], state: GroupAccessState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const route of state.routes) {
    const rule =
      rules.find((r) => r.id === state.rules?.[route] && grants(r, state.group, route)) ??
      rules.find((r) => r.name === ruleName(state.group, route) && grants(r, state.group, route));
    if (rule) out[route] = rule.id;
  }
  return out;
}

/** Grants `group` each of `routes` (reusing a rule of ours that already does); returns the rules. */
async function grant(
  client: AppGatewayClient,
  group: string,
  routes: string[],
): Promise<Record<string, string>> {
  const existing = await readsFor(client).accessRules();
  const made: Record<string, string> = {};
  try {
    for (const route of routes) {
      const name = ruleName(group, route);
      const found = existing.find((r) => r.name === name && grants(r, group, route));
      made[route] =
        found?.id ??
        (await client.accessRules.save({
          name,
          description: "Route access managed by Pulumi (appgw GroupAccess)",
          access_permission: "read_write",
          entity_type: "route",
          entity_id: route,
          users: [],
          groups: [group],
        }));
    }
  } catch (err) {
    // A failed grant leaves nothing behind: revoke what this call made.
    const fresh = Object.values(made).filter((id) => !existing.some((r) => r.id === id));
    if (fresh.length) await client.accessRules.delete(fresh).catch(() => undefined);
    throw new Error(`group access for '${group}': ${messageOf(err)}`);
  }
  return made;
}

/** Deletes rules found live by `current`. */
async function revoke(client: AppGatewayClient, ruleIds: string[]): Promise<void> {
  if (ruleIds.length) await client.accessRules.delete(ruleIds);
}

async function current(conn: ConnectionConfig, state: GroupAccessState) {
  return held(await readsFor(clientFor(conn)).accessRules(), state);
}

export const groupAccessImpl: Implementation<GroupAccessInputs, GroupAccessState> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    const replaces = olds.group !== news.group ? ["group"] : [];
    return { changes: replaces.length > 0 || !sameSet(olds.routes, news.routes), replaces };
  },

  async create(inputs, conn) {
    const rules = await grant(clientFor(conn), inputs.group, inputs.routes);
    return {
      id: inputs.group,
      outs: { group: inputs.group, routes: sorted(inputs.routes), rules },
    };
  },

  /** Reports the managed routes whose rule still stands; rules made elsewhere are not ours. */
  async read(id, props, conn) {
    const rules = await current(conn, props);
    const routes = sorted(Object.keys(rules));
    if (!routes.length) return {};
    return {
      id,
      props: { group: props.group, routes, rules },
      inputs: { group: props.group, routes },
    };
  },

  async update(_id, olds, news, conn) {
    const client = clientFor(conn);
    const kept = await current(conn, olds);
    const added = await grant(
      client,
      news.group,
      news.routes.filter((r) => !(r in kept)),
    );
    const dropped = Object.entries(kept).filter(([route]) => !news.routes.includes(route));
    await revoke(
      client,
      dropped.map(([, rule]) => rule),
    );
    const rules = Object.fromEntries(
      Object.entries({ ...kept, ...added }).filter(([route]) => news.routes.includes(route)),
    );
    return { outs: { group: news.group, routes: sorted(news.routes), rules } };
  },

  async delete(_id, props, conn) {
    await revoke(clientFor(conn), Object.values(await current(conn, props)));
  },
};

/** The serialized provider: shared by every GroupAccess, since Pulumi caches serialization by identity. */
export const groupAccessProvider = providerShim("groupAccessImpl");

/**
 * Grants one group access to routes through ClearML access rules (`entity_type: route`), one
 * rule per route, without owning the routes' own group lists.
 *
 * Use StaticRoute `accessGroups` when one stack owns a route and everything about who may use
 * it; use GroupAccess when access is granted from elsewhere (a team's stack granting its group
 * access to a shared route).
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
      registeredProps(args, ["rules"]),
      opts,
      "appgw",
      "GroupAccess",
    );
  }
}
