// Users and their credentials (the secret only as a hash).
import type { User } from "../../sdk/contract";
import { appgwError } from "../../sdk/errors";
import { filters, isUnique, newId, now, Repository } from "./sql";

interface UserRow {
  id: string;
  name: string;
  admin: number;
  access_key: string;
  secret_hash: string;
  created: string;
}

export interface UserRecord {
  id: string;
  name: string;
  admin: boolean;
  accessKey: string;
  secretHash: string;
}

export class Users extends Repository {
  count(): number {
    return (this.sql("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  create(u: { name: string; admin: boolean; accessKey: string; secretHash: string }): string {
    const id = newId();
    try {
      this.sql(
        "INSERT INTO users (id, name, admin, access_key, secret_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(id, u.name, u.admin ? 1 : 0, u.accessKey, u.secretHash, now());
      // Every user is in Users (and admins in Admins): routers' membership changes.
      this.touch();
    } catch (err) {
      if (isUnique(err, "users.name")) {
        throw appgwError("APPGW_USER_NAME_TAKEN", `a user named '${u.name}' exists`, {
          field: "name",
        });
      }
      if (isUnique(err, "users.access_key")) {
        throw appgwError("APPGW_INVALID_REQUEST", "access_key is already in use", {
          field: "access_key",
        });
      }
      throw err;
    }
    return id;
  }

  /** Creates the user, or gives the existing one of that name these credentials. */
  upsertCredentials(u: {
    name: string;
    admin: boolean;
    accessKey: string;
    secretHash: string;
  }): string {
    return this.db.transaction(() => {
      const existing = this.sql("SELECT id FROM users WHERE name = ?").get(u.name) as
        { id: string } | undefined;
      if (!existing) return this.create(u);
      this.sql("UPDATE users SET admin = ?, access_key = ?, secret_hash = ? WHERE id = ?").run(
        u.admin ? 1 : 0,
        u.accessKey,
        u.secretHash,
        existing.id,
      );
      this.touch();
      return existing.id;
    })();
  }

  byAccessKey(accessKey: string): UserRecord | undefined {
    const row = this.sql("SELECT * FROM users WHERE access_key = ?").get(accessKey) as
      UserRow | undefined;
    return row && toUserRecord(row);
  }

  byId(id: string): UserRecord | undefined {
    const row = this.sql("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
    return row && toUserRecord(row);
  }

  list(filter: { id?: string[]; name?: string }): User[] {
    const { where, args } = filters({ id: filter.id, name: filter.name });
    const rows = this.sql(`SELECT * FROM users ${where} ORDER BY created, name`).all(
      ...args,
    ) as UserRow[];
    return rows.map((r) => ({ id: r.id, name: r.name, admin: r.admin === 1, created: r.created }));
  }

  /** Deletes the user; routers stop accepting their tokens with the next configuration. */
  delete(id: string): number {
    const changes = this.sql("DELETE FROM users WHERE id = ?").run(id).changes;
    if (changes) this.touch();
    return changes;
  }
}

function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    name: row.name,
    admin: row.admin === 1,
    accessKey: row.access_key,
    secretHash: row.secret_hash,
  };
}
