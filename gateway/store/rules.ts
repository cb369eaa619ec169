// Access rules in ClearML's shape: a permission on one entity (or every entity of a type, `*`)
// for some users and groups. Only route rules have an effect here: their groups and users may
// use the route, beside the route's own user_groups.
import type { AccessRule } from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import type { Groups } from "./groups";
import { eq, inList, newId, now, Repository, whereAll, type Ref, type StoreContext } from "./sql";
import type { Users } from "./users";

export interface RuleInput {
  id?: string;
  name: string;
  description: string;
  access_permission: "read" | "read_write";
  entity_type: AccessRule["entity_type"];
  entity_id?: string;
  users: string[];
  groups: string[];
}

/** Who route rules let in: per route id, and for every route (`*`). */
export interface RouteGrants {
  byRoute: Map<string, { groups: Set<string>; users: Set<string> }>;
  all: { groups: Set<string>; users: Set<string> };
  /**
   * Routes (and `*`) some rule names, even a rule left with no group or user: such a route stays
   * restricted, so deleting the last user or group a rule names never opens it to everyone.
   */
  ruled: Set<string>;
}

interface RuleRow {
  id: string;
  name: string;
  description: string;
  access_permission: "read" | "read_write";
  entity_type: AccessRule["entity_type"];
  entity_id: string | null;
}

/** Stands for every entity of the rule's type. */
const ALL = "*";

export class AccessRules extends Repository {
  constructor(
    ctx: StoreContext,
    private readonly deps: { users: Users; groups: Groups },
  ) {
    super(ctx);
  }

  /** Creates the rule, or replaces the one `id` names (a new rule gets that id when given). */
  upsert(r: RuleInput): { id: string; name: string } {
    return this.db.transaction(() => {
      this.check(r);
      const ts = now();
      const id = r.id ?? newId();
      this.sql(
        `INSERT INTO access_rules (id, name, description, access_permission, entity_type, entity_id, created, last_update)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description,
             access_permission = excluded.access_permission, entity_type = excluded.entity_type,
             entity_id = excluded.entity_id, last_update = excluded.last_update`,
      ).run(
        id,
        r.name,
        r.description,
        r.access_permission,
        r.entity_type,
        r.entity_id ?? null,
        ts,
        ts,
      );
      this.sql("DELETE FROM access_rule_groups WHERE rule_id = ?").run(id);
      this.sql("DELETE FROM access_rule_users WHERE rule_id = ?").run(id);
      const addGroup = this.sql("INSERT INTO access_rule_groups (rule_id, group_id) VALUES (?, ?)");
      for (const g of new Set(r.groups)) addGroup.run(id, g);
      const addUser = this.sql("INSERT INTO access_rule_users (rule_id, user_id) VALUES (?, ?)");
      for (const u of new Set(r.users)) addUser.run(id, u);
      // Route rules are part of every router's configuration.
      this.touch();
      return { id, name: r.name };
    })();
  }

  /** Unknown groups, users or routes are refused with 400/10, naming the field. */
  private check(r: RuleInput): void {
    const invalid = (field: string, ids: string[], what: string) => {
      if (!ids.length) return;
      throw appgwError(
        "APPGW_INVALID_ID",
        `${field}: no ${what} with id ${ids.map((i) => `'${i}'`).join(", ")}`,
        {
          field,
          reason: `unknown ${what} id(s): ${ids.join(", ")}`,
        },
      );
    };
    invalid("groups", this.deps.groups.unknown(r.groups), "group");
    invalid("users", this.deps.users.unknown(r.users), "user");
    if (r.entity_type === "route" && r.entity_id !== undefined && r.entity_id !== ALL) {
      const exists = this.sql("SELECT 1 FROM routes WHERE id = ?").get(r.entity_id);
      if (!exists) invalid("entity_id", [r.entity_id], "route");
    }
  }

  list(filter: { rules?: string[] }): AccessRule[] {
    const { where, args } = whereAll([inList("id", filter.rules)]);
    const rows = this.sql(`SELECT * FROM access_rules ${where} ORDER BY created, name`).all(
      ...args,
    ) as RuleRow[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      access_permission: r.access_permission,
      entity_type: r.entity_type,
      entity_id: r.entity_id,
      entity_name: this.entityName(r),
      autocreated: false,
      groups: this.sql(
        "SELECT g.id, g.name FROM access_rule_groups a JOIN groups g ON g.id = a.group_id WHERE a.rule_id = ? ORDER BY g.name",
      ).all(r.id) as Ref[],
      users: this.sql(
        "SELECT u.id, u.name FROM access_rule_users a JOIN users u ON u.id = a.user_id WHERE a.rule_id = ? ORDER BY u.name",
      ).all(r.id) as Ref[],
    }));
  }

  /** The route's name for a route rule; nothing for other types or `*`. */
  private entityName(r: RuleRow): string | null {
    if (r.entity_type !== "route" || r.entity_id === null) return null;
    const route = this.sql("SELECT name FROM routes WHERE id = ?").get(r.entity_id) as
      { name: string } | undefined;
    return route?.name ?? null;
  }

  /** The rules that name a group, for `get_user_groups {include_permissions}`. */
  ofGroup(
    groupId: string,
  ): Pick<AccessRule, "id" | "name" | "access_permission" | "entity_type" | "entity_id">[] {
    return this.sql(
      `SELECT r.id, r.name, r.access_permission, r.entity_type, r.entity_id FROM access_rules r
         JOIN access_rule_groups g ON g.rule_id = r.id WHERE g.group_id = ? ORDER BY r.name`,
    ).all(groupId) as RuleRow[];
  }

  delete(ids: string[]): number {
    const { where, args } = whereAll([inList("id", ids)]);
    const deleted = this.sql(`DELETE FROM access_rules ${where}`).run(...args).changes;
    if (deleted) this.touch();
    return deleted;
  }

  /** Rules left naming a deleted route would point at nothing: they go with it. */
  deleteForRoutes(routeIds: string[]): void {
    const { where, args } = whereAll([eq("entity_type", "route"), inList("entity_id", routeIds)]);
    this.sql(`DELETE FROM access_rules ${where}`).run(...args);
  }

  /** The groups and users that route rules let in. */
  routeGrants(): RouteGrants {
    const grants: RouteGrants = {
      byRoute: new Map(),
      all: { groups: new Set(), users: new Set() },
      ruled: new Set(),
    };
    const entry = (entityId: string) => {
      if (entityId === ALL) return grants.all;
      let e = grants.byRoute.get(entityId);
      if (!e) grants.byRoute.set(entityId, (e = { groups: new Set(), users: new Set() }));
      return e;
    };
    const groups = this.sql(
      `SELECT r.entity_id, g.group_id FROM access_rules r JOIN access_rule_groups g ON g.rule_id = r.id
         WHERE r.entity_type = 'route' AND r.entity_id IS NOT NULL`,
    ).all() as { entity_id: string; group_id: string }[];
    for (const g of groups) entry(g.entity_id).groups.add(g.group_id);
    const users = this.sql(
      `SELECT r.entity_id, u.user_id FROM access_rules r JOIN access_rule_users u ON u.rule_id = r.id
         WHERE r.entity_type = 'route' AND r.entity_id IS NOT NULL`,
    ).all() as { entity_id: string; user_id: string }[];
    for (const u of users) entry(u.entity_id).users.add(u.user_id);
    const ruled = this.sql(
      "SELECT DISTINCT entity_id FROM access_rules WHERE entity_type = 'route' AND entity_id IS NOT NULL",
    ).all() as { entity_id: string }[];
    for (const r of ruled) grants.ruled.add(r.entity_id);
    return grants;
  }
}
