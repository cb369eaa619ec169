// Groups and their members. The built-in groups are seeded at open; 'Users' and 'Admins' have
// no stored members: everyone, and the administrators, belong to them.
import { SYSTEM_GROUPS, type Group } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import { filters, isUnique, newId, now, Repository, type Ref, type StoreContext } from "./sql";
import type { Users } from "./users";

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

  create(g: { name: string; description: string; users: string[] }): string {
    const id = newId();
    this.db.transaction(() => {
      try {
        this.sql(
          "INSERT INTO groups (id, name, description, system, created) VALUES (?, ?, ?, 0, ?)",
        ).run(id, g.name, g.description, now());
      } catch (err) {
        if (isUnique(err, "groups.name")) {
          throw appgwError("APPGW_GROUP_NAME_TAKEN", `a group named '${g.name}' exists`, {
            field: "name",
          });
        }
        throw err;
      }
      this.setMembers(id, g.users);
    })();
    return id;
  }

  update(id: string, patch: { name?: string; description?: string; users?: string[] }): void {
    this.db.transaction(() => {
      const row = this.sql("SELECT system FROM groups WHERE id = ?").get(id) as
        { system: number } | undefined;
      if (!row)
        throw appgwError("APPGW_GROUP_NOT_FOUND", `group ${id} not found`, { field: "group" });
      const membersOnly =
        id === SYSTEM_GROUPS.queue_admins.id &&
        patch.name === undefined &&
        patch.description === undefined;
      if (row.system === 1 && !membersOnly) {
        throw appgwError(
          "APPGW_GROUP_SYSTEM",
          "built-in groups cannot be changed (only the members of 'Queue admins' can)",
          { field: "group" },
        );
      }
      if (patch.name !== undefined || patch.description !== undefined) {
        try {
          this.sql(
            "UPDATE groups SET name = coalesce(?, name), description = coalesce(?, description) WHERE id = ?",
          ).run(patch.name ?? null, patch.description ?? null, id);
        } catch (err) {
          if (isUnique(err, "groups.name")) {
            throw appgwError("APPGW_GROUP_NAME_TAKEN", `a group named '${patch.name}' exists`, {
              field: "name",
            });
          }
          throw err;
        }
      }
      if (patch.users) this.setMembers(id, patch.users);
    })();
  }

  private setMembers(groupId: string, users: string[]): void {
    const unique = [...new Set(users)];
    for (const u of unique) {
      if (!this.users.byId(u)) {
        throw appgwError("APPGW_USER_NOT_FOUND", `user ${u} not found`, { field: "users" });
      }
    }
    this.sql("DELETE FROM group_members WHERE group_id = ?").run(groupId);
    const insert = this.sql("INSERT INTO group_members (group_id, user_id) VALUES (?, ?)");
    for (const u of unique) insert.run(groupId, u);
    // Routers check access against current membership (see membership()).
    this.touch();
  }

  /** Deletes a custom group and the access rules that name it (routers must see those go). */
  delete(id: string): void {
    this.db.transaction(() => {
      const row = this.sql("SELECT system FROM groups WHERE id = ?").get(id) as
        { system: number } | undefined;
      if (!row)
        throw appgwError("APPGW_GROUP_NOT_FOUND", `group ${id} not found`, { field: "group" });
      if (row.system === 1) {
        throw appgwError("APPGW_GROUP_SYSTEM", "built-in groups cannot be deleted", {
          field: "group",
        });
      }
      this.sql("DELETE FROM access_rules WHERE group_id = ?").run(id);
      this.sql("DELETE FROM groups WHERE id = ?").run(id);
      // Its rules and its members are gone: routers must see both.
      this.touch();
    })();
  }

  /** Throws APPGW_GROUP_NOT_FOUND, naming `field`, unless the group exists. */
  require(id: string, field: string): void {
    if (!this.sql("SELECT 1 FROM groups WHERE id = ?").get(id)) {
      throw appgwError("APPGW_GROUP_NOT_FOUND", `group ${id} not found`, { field });
    }
  }

  list(filter: { id?: string[]; name?: string }): Group[] {
    const { where, args } = filters({ id: filter.id, name: filter.name });
    const rows = this.sql(
      `SELECT id, name, description, system FROM groups ${where} ORDER BY system DESC, name`,
    ).all(...args) as { id: string; name: string; description: string; system: number }[];
    return rows.map((g) => ({
      id: g.id,
      name: g.name,
      description: g.description,
      system: g.system === 1,
      users: this.membersOf(g.id),
    }));
  }

  private membersOf(groupId: string): Ref[] {
    if (groupId === SYSTEM_GROUPS.users.id) {
      return this.sql("SELECT id, name FROM users ORDER BY name").all() as Ref[];
    }
    if (groupId === SYSTEM_GROUPS.admins.id) {
      return this.sql("SELECT id, name FROM users WHERE admin = 1 ORDER BY name").all() as Ref[];
    }
    return this.sql(
      "SELECT u.id, u.name FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.name",
    ).all(groupId) as Ref[];
  }

  /** Every group the user belongs to, built-in ones included. */
  /** Every user's groups by id (built-in ones included): what routers check access against. */
  membership(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const users = this.sql("SELECT id, admin FROM users").all() as { id: string; admin: number }[];
    for (const u of users) {
      out[u.id] = u.admin
        ? [SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id]
        : [SYSTEM_GROUPS.users.id];
    }
    const rows = this.sql(
      "SELECT user_id, group_id FROM group_members WHERE group_id NOT IN (?, ?)",
    ).all(SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id) as {
      user_id: string;
      group_id: string;
    }[];
    for (const r of rows) out[r.user_id]?.push(r.group_id);
    return out;
  }

  ofUser(user: { id: string; admin: boolean }): Ref[] {
    const custom = this.sql(
      `SELECT g.id, g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = ? AND g.id NOT IN (?, ?) ORDER BY g.name`,
    ).all(user.id, SYSTEM_GROUPS.users.id, SYSTEM_GROUPS.admins.id) as Ref[];
    const builtin: Ref[] = [SYSTEM_GROUPS.users];
    if (user.admin) builtin.push(SYSTEM_GROUPS.admins);
    return [...builtin.map(({ id, name }) => ({ id, name })), ...custom];
  }
}
