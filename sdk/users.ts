import type { ActionRequest, ActionResponse, User } from "./contract";
import type { Core } from "./core";
import { escapeRegex } from "./routes";

/** How many lookups `byName` has in flight at once. */
const LOOKUPS_AT_ONCE = 8;

/** Users and the current identity (`users.*`). */
export class UsersApi {
  constructor(private readonly core: Core) {}

  async list(filter: ActionRequest<"users.get_all"> = {}): Promise<User[]> {
    return (await this.core.call("users.get_all", filter)).users;
  }
  async findByName(name: string): Promise<User | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` })).find((u) => u.name === name);
  }
  /**
   * Users by name; names with no user are left out of the map. One exact lookup per name, a few
   * at a time: a filter naming them all outgrows the 256 characters `name` takes (about 25
   * names), and an exact lookup is what a server answers best (the reference gateway as plain
   * SQL, whatever its number of users).
   */
  async byName(names: string[]): Promise<Map<string, User>> {
    const wanted = [...new Set(names)];
    const found: (User | undefined)[] = [];
    let next = 0;
    const lookUp = async () => {
      for (let i = next++; i < wanted.length; i = next++) {
        found[i] = await this.findByName(wanted[i] as string);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOOKUPS_AT_ONCE, wanted.length) }, lookUp));
    return new Map(wanted.flatMap((name, i) => (found[i] ? [[name, found[i]] as const] : [])));
  }
  async delete(user: string): Promise<void> {
    await this.core.call("users.delete", { user });
  }
  me(): Promise<ActionResponse<"users.get_current_user">> {
    return this.core.call("users.get_current_user", {});
  }
}

/** Credentials and service accounts (`auth.*`); logging in is the core's job. */
export class AuthApi {
  constructor(private readonly core: Core) {}

  /** A service account and its first key pair; the secret is returned only here. */
  createServiceUser(
    body: ActionRequest<"auth.create_service_user">,
  ): Promise<ActionResponse<"auth.create_service_user">> {
    return this.core.call("auth.create_service_user", body);
  }
  /** A new key pair for the calling user; the secret is returned only here. */
  async createCredentials(
    body: ActionRequest<"auth.create_credentials"> = {},
  ): Promise<ActionResponse<"auth.create_credentials">["credentials"]> {
    return (await this.core.call("auth.create_credentials", body)).credentials;
  }
  async revokeCredentials(accessKey: string): Promise<number> {
    return (await this.core.call("auth.revoke_credentials", { access_key: accessKey })).revoked;
  }
}
