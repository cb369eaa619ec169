// Users and their key pairs (the secret only as a hash). A user has a role (admin or user) and
// any number of key pairs; service accounts are admins flagged `service`.
import { appgwError } from "@appgw/sdk/errors";
import { inList, isUnique, newId, now, regex, Repository, whereAll } from "./sql";

export type Role = "admin" | "user";

/** The label of the key pair a user was made with: the one bootstrap replaces when the configured keys change. */
const DEFAULT_LABEL = "default";

interface UserRow {
  id: string;
  name: string;
  role: Role;
  service: number;
  created: string;
}

export interface UserRecord {
  id: string;
  name: string;
  role: Role;
  service: boolean;
  created: string;
}

export interface CredentialRecord {
  accessKey: string;
  userId: string;
  secretHash: string;
  label: string | null;
  created: string;
  expire: string | null;
}

export interface NewCredentials {
  accessKey: string;
  secretHash: string;
  label?: string;
  expire?: string | null;
}

export class Users extends Repository {
  count(): number {
    return (this.sql("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  /** A new user with one key pair (labelled 'default' unless told otherwise). */
  create(u: { name: string; role: Role; service?: boolean }, creds: NewCredentials): string {
    const id = newId();
    this.db.transaction(() => {
      try {
        this.sql("INSERT INTO users (id, name, role, service, created) VALUES (?, ?, ?, ?, ?)").run(
          id,
          u.name,
          u.role,
          u.service ? 1 : 0,
          now(),
        );
      } catch (err) {
        if (isUnique(err, "users.name")) {
          throw appgwError("APPGW_ALREADY_EXISTS", `a user named '${u.name}' exists`, {
            field: "name",
            reason: "already exists",
          });
        }
        throw err;
      }
      this.addCredentials(id, { label: DEFAULT_LABEL, ...creds });
      // Every user is in Users (and admins in Admins): routers' membership changes.
      this.touch();
    })();
    return id;
  }

  /**
   * Creates the user, or brings the existing one of that name to this role and gives it this
   * default key pair in place of the previous one (rotating the bootstrap credentials).
   */
  upsertWithDefaultCredentials(
    u: { name: string; role: Role; service?: boolean },
    creds: NewCredentials,
  ): string {
    return this.db.transaction(() => {
      const existing = this.byName(u.name);
      if (!existing) return this.create(u, creds);
      this.sql("UPDATE users SET role = ?, service = ? WHERE id = ?").run(
        u.role,
        u.service ? 1 : 0,
        existing.id,
      );
      this.sql("DELETE FROM credentials WHERE user_id = ? AND (label = ? OR access_key = ?)").run(
        existing.id,
        DEFAULT_LABEL,
        creds.accessKey,
      );
      this.addCredentials(existing.id, { label: DEFAULT_LABEL, ...creds });
      this.touch();
      return existing.id;
    })();
  }

  /** Adds a key pair to the user; the access key must be new. */
  addCredentials(userId: string, c: NewCredentials): CredentialRecord {
    const record: CredentialRecord = {
      accessKey: c.accessKey,
      userId,
      secretHash: c.secretHash,
      label: c.label ?? null,
      created: now(),
      expire: c.expire ?? null,
    };
    try {
      this.sql(
        "INSERT INTO credentials (access_key, user_id, secret_hash, label, created, expire) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(
        record.accessKey,
        userId,
        record.secretHash,
        record.label,
        record.created,
        record.expire,
      );
    } catch (err) {
      if (isUnique(err, "credentials.access_key")) {
        throw appgwError("APPGW_ALREADY_EXISTS", "access_key is already in use", {
          field: "access_key",
          reason: "already in use",
        });
      }
      throw err;
    }
    return record;
  }

  /** Revokes the user's own key pair; another user's key is left alone. */
  revokeCredentials(userId: string, accessKey: string): number {
    return this.sql("DELETE FROM credentials WHERE user_id = ? AND access_key = ?").run(
      userId,
      accessKey,
    ).changes;
  }

  credentials(accessKey: string): CredentialRecord | undefined {
    const row = this.sql("SELECT * FROM credentials WHERE access_key = ?").get(accessKey) as
      | {
          access_key: string;
          user_id: string;
          secret_hash: string;
          label: string | null;
          created: string;
          expire: string | null;
        }
      | undefined;
    return (
      row && {
        accessKey: row.access_key,
        userId: row.user_id,
        secretHash: row.secret_hash,
        label: row.label,
        created: row.created,
        expire: row.expire,
      }
    );
  }

  byId(id: string): UserRecord | undefined {
    const row = this.sql("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
    return row && toRecord(row);
  }

  byName(name: string): UserRecord | undefined {
    const row = this.sql("SELECT * FROM users WHERE name = ?").get(name) as UserRow | undefined;
    return row && toRecord(row);
  }

  /** Throws APPGW_USER_NOT_FOUND (400/301), naming `field`, for the first id that is unknown. */
  requireAll(ids: readonly string[], field: string): void {
    for (const id of ids) {
      if (!this.byId(id)) {
        throw appgwError("APPGW_USER_NOT_FOUND", `${field}: no user with id '${id}'`, {
          field,
          reason: `unknown user id '${id}'`,
        });
      }
    }
  }

  /** The ids among `ids` that are no user's. */
  unknown(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.byId(id));
  }

  list(filter: { id?: string[]; name?: string }): UserRecord[] {
    const { where, args } = whereAll([inList("id", filter.id), regex("name", filter.name)]);
    const rows = this.sql(`SELECT * FROM users ${where} ORDER BY created, name`).all(
      ...args,
    ) as UserRow[];
    return rows.map(toRecord);
  }

  /** Deletes the user and, by cascade, their key pairs, memberships and rule entries. */
  delete(id: string): number {
    const changes = this.sql("DELETE FROM users WHERE id = ?").run(id).changes;
    // Routers stop accepting the user's tokens with the next configuration.
    if (changes) this.touch();
    return changes;
  }
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    service: row.service === 1,
    created: row.created,
  };
}
