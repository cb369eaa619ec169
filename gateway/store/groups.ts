// Groups and their members. The built-in groups are seeded at open; 'Users' and 'Admins' have
// no stored members: everyone, and the users with the admin role, belong to them.
import { SYSTEM_GROUPS } from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import {
  inList,
  isUnique,
  newId,
  now,
  Repository,
  whereAll,
  type Ref,
  type StoreContext,
} from "./sql";
import type { Users } from "./users";

/** Groups whose members follow from the users themselves, so none can be assigned. */
const DERIVED: ReadonlySet<string> = new Set([SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id]);

interface GroupRow {
  id: string;
  name: string;
  description: string;
  system: number;
}

export type GroupRecord = {
  id: string;
  name: string;
  description: string;
  system: boolean;
  assignable: boolean;
  users: Ref[];
};

export class Groups extends Repository {
  constructor(
    ctx: StoreContext,
    private readonly users: Users,
  ) {
    super(ctx);
  }

  /** Inserts the built-in groups a database lacks. */
  seedSystemGroups(): void {
    const insert = this.sql(
      "INSERT OR IGNORE INTO groups (id, name, description, system, created) VALUES (?, ?, ?, 1, ?)",
    );
    for (const g of Object.values(SYSTEM_GROUPS)) insert.run(g.id, g.name, g.description, now());
  }

  private row(id: string): GroupRow | undefined {
    return this.sql("SELECT id, name, description, system FROM groups WHERE id = ?").get(id) as
      GroupRow | undefined;
  }

  /**
   * `permissions.add_or_update_user_group`: updates the group `id` names, or creates one (with
   * that id when given). `users` replaces the member list; fields left out keep their values.
   */
  upsert(g: { id?: string; name?: string; description?: string; users?: string[] }): GroupRecord {
    return this.db.transaction(() => {
      const existing = g.id === undefined ? undefined : this.row(g.id);
      if (existing) {
        this.update(existing, g);
        return this.get(existing.id);
      }
      if (g.name === undefined) {
        throw appgwError("APPGW_MISSING_FIELDS", "name: a new group needs a name", {
          field: "name",
          reason: "is required to create a group",
        });
      }
      const id = g.id ?? newId();
      try {
        this.sql(
          "INSERT INTO groups (id, name, description, system, created) VALUES (?, ?, ?, 0, ?)",
        ).run(id, g.name, g.description ?? "", now());
      } catch (err) {
        throw this.conflict(err, g.name);
      }
      this.setMembers(id, g.users ?? []);
      return this.get(id);
    })();
  }

  private update(
    row: GroupRow,
    patch: { name?: string; description?: string; users?: string[] },
  ): void {
    const renames =
      (patch.name !== undefined && patch.name !== row.name) ||
      (patch.description !== undefined && patch.description !== row.description);
    if (row.system === 1 && (renames || (patch.users !== undefined && DERIVED.has(row.id)))) {
      throw appgwError(
        "APPGW_GROUP_SYSTEM",
        `'${row.name}' is a built-in group: it cannot be changed (only the members of '${SYSTEM_GROUPS.queue_admins.name}' can)`,
        { field: "id", reason: "built-in group" },
      );
    }
    if (renames) {
      try {
        this.sql(
          "UPDATE groups SET name = coalesce(?, name), description = coalesce(?, description) WHERE id = ?",
        ).run(patch.name ?? null, patch.description ?? null, row.id);
      } catch (err) {
        throw this.conflict(err, patch.name ?? row.name);
      }
    }
    if (patch.users !== undefined) this.setMembers(row.id, patch.users);
  }

  /** A duplicate name (names are unique whatever their case) names the group that holds it. */
  private conflict(err: unknown, name: string): unknown {
    if (!isUnique(err, "groups.name")) return err;
    const holder = this.sql("SELECT id, name FROM groups WHERE name = ? COLLATE NOCASE").get(
      name,
    ) as Ref | undefined;
    return appgwError(
      "APPGW_ALREADY_EXISTS",
      `name: group '${holder?.name ?? name}' (${holder?.id ?? "?"}) already has this name`,
      { field: "name", reason: "already exists", holder: holder?.id },
    );
  }

  private setMembers(groupId: string, users: string[]): void {
    const unique = [...new Set(users)];
    this.users.requireAll(unique, "users");
    this.sql("DELETE FROM group_members WHERE group_id = ?").run(groupId);
    const insert = this.sql("INSERT INTO group_members (group_id, user_id) VALUES (?, ?)");
    for (const u of unique) insert.run(groupId, u);
    // Routers check access against current membership (see membership()).
    this.touch();
  }

  /**
   * Deletes custom groups; their places in access rules go with them (foreign keys; a rule left
   * empty still restricts its routes, see rules.routeGrants). A built-in group, or one in a
   * route's user_groups, refuses the whole call: removing a route's last group would open the
   * route to every signed-in user as a side effect, so the route must be edited first.
   */
  delete(ids: string[]): number {
    return this.db.transaction(() => {
      for (const id of ids) {
        const row = this.row(id);
        if (row?.system === 1) {
          throw appgwError(
            "APPGW_GROUP_SYSTEM",
            `'${row.name}' is a built-in group: it cannot be deleted`,
            { field: "groups", reason: "built-in group" },
          );
        }
        const routes = this.routesRestrictedBy(id);
        if (row && routes.length > 0) {
          throw appgwError(
            "APPGW_GROUP_IN_USE",
            `group '${row.name}' restricts route(s) ${routes.map((r) => `'${r}'`).join(", ")}: ` +
              "remove it from their user_groups first",
            { field: "groups", reason: "in a route's user_groups", routes },
          );
        }
      }
      const { where, args } = whereAll([inList("id", ids)]);
      const deleted = this.sql(`DELETE FROM groups ${where}`).run(...args).changes;
      if (deleted) this.touch();
      return deleted;
    })();
  }

  /** Names of the routes whose user_groups hold the group. */
  private routesRestrictedBy(groupId: string): string[] {
    return (
      this.sql(
        `SELECT r.name FROM route_groups g JOIN routes r ON r.id = g.route_id
           WHERE g.group_id = ? ORDER BY r.name`,
      ).all(groupId) as { name: string }[]
    ).map((r) => r.name);
  }

  /** The ids among `ids` that are no group's. */
  unknown(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.row(id));
  }

  get(id: string): GroupRecord {
    const [group] = this.list({ id: [id] });
    if (!group) throw new Error(`group ${id} vanished`);
    return group;
  }

  /** Every group (built-in ones first), or those with these ids; unknown ids are left out. */
  list(filter: { id?: string[] }): GroupRecord[] {
    const { where, args } = whereAll([inList("id", filter.id)]);
    const rows = this.sql(
      `SELECT id, name, description, system FROM groups ${where} ORDER BY system DESC, name`,
    ).all(...args) as GroupRow[];
    return rows.map((g) => ({
      id: g.id,
      name: g.name,
      description: g.description,
      system: g.system === 1,
      assignable: !DERIVED.has(g.id),
      users: this.membersOf(g.id),
    }));
  }

  /** Names of groups by id, for answers that show `{id, name}`. */
  refs(ids: readonly string[]): Ref[] {
    if (!ids.length) return [];
    const { where, args } = whereAll([inList("id", ids)]);
    return this.sql(`SELECT id, name FROM groups ${where} ORDER BY name`).all(...args) as Ref[];
  }

  private membersOf(groupId: string): Ref[] {
    if (groupId === SYSTEM_GROUPS.users.id) {
      return this.sql("SELECT id, name FROM users ORDER BY name").all() as Ref[];
    }
    if (groupId === SYSTEM_GROUPS.admins.id) {
      return this.sql(
        "SELECT id, name FROM users WHERE role = 'admin' ORDER BY name",
      ).all() as Ref[];
    }
    return this.sql(
      "SELECT u.id, u.name FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.name",
    ).all(groupId) as Ref[];
  }

  /** Every user's groups by id (built-in ones included): what routers check access against. */
  membership(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const users = this.sql("SELECT id, role FROM users").all() as { id: string; role: string }[];
    for (const u of users) {
      out[u.id] =
        u.role === "admin"
          ? [SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id]
          : [SYSTEM_GROUPS.users.id];
    }
    const rows = this.sql(
      "SELECT user_id, group_id FROM group_members WHERE group_id NOT IN (?, ?) ORDER BY group_id",
    ).all(SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id) as {
      user_id: string;
      group_id: string;
    }[];
    for (const r of rows) out[r.user_id]?.push(r.group_id);
    return out;
  }

  /** The user's groups, built-in ones first. */
  ofUser(user: { id: string; role: string }): Ref[] {
    const custom = this.sql(
      `SELECT g.id, g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = ? AND g.id NOT IN (?, ?) ORDER BY g.name`,
    ).all(user.id, SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id) as Ref[];
    const builtin: Ref[] = [SYSTEM_GROUPS.users];
    if (user.role === "admin") builtin.push(SYSTEM_GROUPS.admins);
    return [...builtin.map(({ id, name }) => ({ id, name })), ...custom];
  }
}
