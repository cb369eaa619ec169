import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { checkInputs, clientFor, isNotFound, sameSet, sorted, stringSet } from "./common";
import { providerShim, type Implementation } from "./shim";

export interface GroupAccessArgs {
  /** The group's id (a Group's `id`, or `users`, `admins`, `queue-admins`). */
  group: pulumi.Input<string>;
  /** Ids of the routes the group may use (StaticRoute `id`s). */
  routes: pulumi.Input<pulumi.Input<string>[]>;
}

const inputsSchema = z.strictObject({
  group: z.string().min(1),
  routes: stringSet().refine((r) => r.length > 0, { message: "must name at least one route" }),
});

type GroupAccessInputs = z.output<typeof inputsSchema>;

export type GroupAccessState = GroupAccessInputs;

/** The routes among `routes` where the group holds an access rule now. */
async function granted(
  conn: Parameters<typeof clientFor>[0],
  group: string,
  routes: string[],
): Promise<string[]> {
  const rules = await clientFor(conn).groups.rules({ group });
  const held = new Set(rules.map((r) => r.route.id));
  return sorted(routes.filter((r) => held.has(r)));
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
    const client = clientFor(conn);
    const done: string[] = [];
    try {
      for (const route of inputs.routes) {
        if ((await client.groups.grant(route, inputs.group)).created) done.push(route);
      }
    } catch (err) {
      // A failed create leaves nothing behind: revoke what this call granted.
      for (const route of done)
        await client.groups.revoke({ route, group: inputs.group }).catch(() => undefined);
      throw new Error(`group access: ${(err as Error).message}`);
    }
    return { id: inputs.group, outs: { group: inputs.group, routes: sorted(inputs.routes) } };
  },

  /** Reports the managed routes that still grant access; rules made elsewhere are not ours. */
  async read(id, props, conn) {
    try {
      const routes = await granted(conn, props.group, props.routes);
      if (!routes.length) return {};
      const state = { group: props.group, routes };
      return { id, props: state, inputs: state };
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
  },

  async update(_id, olds, news, conn) {
    const client = clientFor(conn);
    for (const route of news.routes) await client.groups.grant(route, news.group);
    for (const route of olds.routes) {
      if (!news.routes.includes(route)) await client.groups.revoke({ route, group: olds.group });
    }
    return { outs: { group: news.group, routes: sorted(news.routes) } };
  },

  async delete(_id, props, conn) {
    const client = clientFor(conn);
    for (const route of props.routes) {
      await client.groups.revoke({ route, group: props.group }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  },
};

/** The serialized provider: shared by every GroupAccess, since Pulumi caches serialization by identity. */
export const groupAccessProvider = providerShim(__filename, "groupAccessImpl");

/**
 * Grants one group access to routes, without owning the routes' whole access lists.
 *
 * Use StaticRoute `accessGroups` when one stack owns a route and everything about who may use
 * it; use GroupAccess when access is granted from elsewhere (a team's stack granting its group
 * access to a shared route). Do not combine them on one route: a route with `accessGroups` set
 * treats any other group as drift.
 */
export class GroupAccess extends pulumi.dynamic.Resource {
  declare public readonly group: pulumi.Output<string>;
  declare public readonly routes: pulumi.Output<string[]>;

  constructor(name: string, args: GroupAccessArgs, opts?: pulumi.CustomResourceOptions) {
    super(groupAccessProvider, name, args, opts, "appgw", "GroupAccess");
  }
}
