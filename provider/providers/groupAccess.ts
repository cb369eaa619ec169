// GroupAccess's dynamic provider: one access rule per route, each recording its owner.
import { createHash, randomUUID } from "node:crypto";
import { z } from "zod";
import { hasCode, messageOf, type AccessRule, type AppGatewayClient } from "@appgw/sdk";
import {
  checkInputs,
  clientFor,
  DESCRIPTION_MAX_LENGTH,
  ownerOf,
  sameSet,
  sorted,
  stringSet,
  withOwner,
} from "../common";
import { readsFor } from "../reads";
import type { GroupAccessInputs, GroupAccessState } from "../groupAccess";
import type { Implementation } from "../shim";

/** The text of each rule's description, before the record of its owner. */
const RULE_TEXT = "Route access managed by Pulumi (appgw GroupAccess)";
/** The longest marker a rule's description records beside RULE_TEXT. */
const MARKER_MAX_LENGTH = DESCRIPTION_MAX_LENGTH - withOwner(RULE_TEXT, "").length;

const inputsSchema = z.strictObject({
  group: z.string().min(1),
  routes: stringSet().refine((r) => r.length > 0, { message: "must name at least one route" }),
  // Not a label here but what tells this resource's rules from another's: required.
  __managedBy: z
    .string({
      error:
        "the stack and resource that own this grant's rules are missing: the GroupAccess class " +
        "sets them; make GroupAccess resources with it",
    })
    .min(1)
    .max(MARKER_MAX_LENGTH, {
      error:
        `each rule records the stack and resource that own it, in at most ${MARKER_MAX_LENGTH} ` +
        "characters (form-encoded): give the resource, or its stack, a shorter name",
    }),
});

/** The owner that checked inputs name (`check` refuses inputs without one). */
function ownerIn(inputs: GroupAccessInputs): string {
  if (inputs.__managedBy === undefined) {
    throw new Error("__managedBy: the stack and resource that own this grant's rules are missing");
  }
  return inputs.__managedBy;
}

/**
 * The name of a rule of `owner` granting `group` access to `route`: a digest of the owner keeps
 * two resources' rules for one pair apart by name too, in case a server wants names unique.
 */
const ruleName = (group: string, route: string, owner: string) =>
  `appgw-access:${group}:${route}:${createHash("sha256").update(owner).digest("hex").slice(0, 12)}`;

/** How 0.5 and earlier named rules, by the pair alone: state from 0.1.0 finds its rule by it. */
const legacyRuleName = (group: string, route: string) => `appgw-access:${group}:${route}`;

const grants = (rule: AccessRule, group: string, route: string) =>
  rule.entity_type === "route" &&
  rule.entity_id === route &&
  (rule.groups ?? []).some((g) => g.id === group);

const ownerOfRule = (rule: AccessRule) => ownerOf(rule.description).owner;

type Rules = [AccessRule, ...AccessRule[]];

/**
 * This resource's rules, by route, the one its state records first: the route rules granting its
 * group that record its owner, whatever their route (one an interrupted update made is this
 * resource's too, and goes at its next update or delete). A state from before owners were
 * recorded holds, for each of its routes, the rule it recorded (from 0.1.0, which recorded none,
 * the rule named for the pair) while that rule records no owner: once another resource recorded
 * itself on it, it is that one's.
 */
function held(rules: AccessRule[], state: GroupAccessState): Map<string, Rules> {
  const mine = (r: AccessRule): r is AccessRule & { entity_id: string } => {
    if (!r.entity_id || !grants(r, state.group, r.entity_id)) return false;
    if (state.__managedBy !== undefined) return ownerOfRule(r) === state.__managedBy;
    if (ownerOfRule(r) !== undefined || !state.routes.includes(r.entity_id)) return false;
    const recorded = state.rules?.[r.entity_id];
    return recorded !== undefined
      ? r.id === recorded
      : r.name === legacyRuleName(state.group, r.entity_id);
  };
  const out = new Map<string, Rules>();
  for (const rule of rules.filter(mine)) {
    const route = out.get(rule.entity_id);
    if (!route) out.set(rule.entity_id, [rule]);
    else if (state.rules?.[rule.entity_id] === rule.id) route.unshift(rule);
    else route.push(rule);
  }
  return out;
}

/** The first rule of each route: what the state records. */
const recordedRules = (rules: Map<string, Rules>): Record<string, string> =>
  Object.fromEntries([...rules].map(([route, [first]]) => [route, first.id]));

/**
 * Writes the rule granting `group` access to `route` as `owner`'s: a new one, or the one `id`
 * names (to record a new owner on it). When the answer is lost, the rule is found again by its
 * owner's record, and only then.
 */
async function write(
  client: AppGatewayClient,
  group: string,
  route: string,
  owner: string,
  id?: string,
): Promise<string> {
  try {
    return await client.accessRules.save({
      ...(id !== undefined ? { id } : {}),
      name: ruleName(group, route, owner),
      description: withOwner(RULE_TEXT, owner),
      access_permission: "read_write",
      entity_type: "route",
      entity_id: route,
      users: [],
      groups: [group],
    });
  } catch (err) {
    if (!hasCode(err, "APPGW_CONNECTION")) throw err;
    const found = (await client.accessRules.list()).find(
      (r) =>
        grants(r, group, route) && ownerOfRule(r) === owner && (id === undefined || r.id === id),
    );
    if (!found) throw err;
    return found.id;
  }
}

/**
 * Grants `group` each of `routes` as `owner`, taking a rule of `owner`'s that already does (a lost
 * answer's or an interrupted run's); returns the rules, by route.
 */
async function grant(
  client: AppGatewayClient,
  group: string,
  owner: string,
  routes: string[],
  existing: AccessRule[],
): Promise<Record<string, string>> {
  const made: Record<string, string> = {};
  try {
    for (const route of routes) {
      const left = existing.find((r) => grants(r, group, route) && ownerOfRule(r) === owner);
      made[route] = left?.id ?? (await write(client, group, route, owner));
    }
  } catch (err) {
    // A failed grant leaves nothing behind: revoke what this call made.
    const fresh = Object.values(made).filter((id) => !existing.some((r) => r.id === id));
    if (fresh.length) await client.accessRules.delete(fresh).catch(() => undefined);
    throw new Error(`group access for '${group}': ${messageOf(err)}`);
  }
  return made;
}

async function revoke(client: AppGatewayClient, ruleIds: string[]): Promise<void> {
  if (ruleIds.length) await client.accessRules.delete(ruleIds);
}

/** Operations on state from before owners were recorded, one at a time in this process. */
let unrecorded: Promise<unknown> = Promise.resolve();

/**
 * Runs `op`, after every other such operation of this process when `state` predates owner
 * records. Up to 0.5, two resources of one stack could hold one rule, recording no owner; the
 * first of them to update records itself on it (`update`), and the other, which then finds it
 * recorded as another's, makes its own. Run side by side, both would take it.
 */
function inTurn<T>(state: GroupAccessState, op: () => Promise<T>): Promise<T> {
  if (state.__managedBy !== undefined) return op();
  const run = unrecorded.then(op, op);
  unrecorded = run.catch(() => undefined);
  return run;
}

export const groupAccessImpl: Implementation<GroupAccessInputs, GroupAccessState> = {
  async check(_olds, news) {
    return checkInputs(inputsSchema, news);
  },

  async diff(_id, olds, news) {
    const replaces = olds.group !== news.group ? ["group"] : [];
    // The rules record their owner: a state from before that, or a stack or resource renamed
    // since, is updated so that they record the owner it has now.
    const changes =
      replaces.length > 0 ||
      !sameSet(olds.routes, news.routes) ||
      olds.__managedBy !== news.__managedBy;
    // A replacement deletes first. A new group's access starts a moment later; but when the
    // group stays (`pulumi up --replace`), the new resource records the same owner and would
    // take the old one's rules as an interrupted run's, which the old one's delete would then
    // revoke.
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs, conn) {
    const client = clientFor(conn);
    const { group, routes } = inputs;
    const owner = ownerIn(inputs);
    const rules = await grant(client, group, owner, routes, await client.accessRules.list());
    // Its own id: two resources may grant one group, and neither is the group.
    return {
      id: randomUUID().replace(/-/g, ""),
      outs: { group, routes: sorted(routes), __managedBy: owner, rules },
    };
  },

  /** Reports the managed routes whose rule still stands; rules made elsewhere are not ours. */
  async read(id, props, conn) {
    const rules = held(await readsFor(clientFor(conn)).accessRules(), props);
    const routes = sorted([...rules.keys()]);
    if (!routes.length) return {};
    const owner = props.__managedBy !== undefined ? { __managedBy: props.__managedBy } : {};
    return {
      id,
      props: { group: props.group, routes, ...owner, rules: recordedRules(rules) },
      inputs: { group: props.group, routes, ...owner },
    };
  },

  async update(_id, olds, news, conn) {
    const client = clientFor(conn);
    const owner = ownerIn(news);
    return inTurn(olds, async () => {
      // Afresh, not this command's listing: another resource may have written since.
      const existing = await client.accessRules.list();
      const kept = new Map<string, AccessRule>();
      const dropped: string[] = [];
      for (const [route, [first, ...extra]] of held(existing, olds)) {
        // One rule a route: any other of this resource's goes, as do those of dropped routes.
        dropped.push(...extra.map((r) => r.id));
        if (news.routes.includes(route)) kept.set(route, first);
        else dropped.push(first.id);
      }
      const rules = await grant(
        client,
        news.group,
        owner,
        news.routes.filter((r) => !kept.has(r)),
        existing,
      );
      // After the grants, which undo themselves when one fails: a kept rule recorded as another
      // owner's (a renamed stack or resource) or as no one's (0.5) becomes this one's.
      for (const [route, rule] of kept) {
        rules[route] =
          ownerOfRule(rule) === owner
            ? rule.id
            : await write(client, news.group, route, owner, rule.id);
      }
      await revoke(client, dropped);
      return {
        outs: {
          group: news.group,
          routes: sorted(news.routes),
          __managedBy: owner,
          rules,
        },
      };
    });
  },

  async delete(_id, props, conn) {
    const client = clientFor(conn);
    await inTurn(props, async () => {
      const rules = held(await client.accessRules.list(), props);
      await revoke(
        client,
        [...rules.values()].flat().map((r) => r.id),
      );
    });
  },
};
