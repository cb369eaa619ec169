import type { ActionRequest, ActionResponse, User } from "./contract";
import type { Core } from "./core";
import { escapeRegex } from "./routes";

/** Users and the current identity (`users.*`). */
export class UsersApi {
  constructor(private readonly core: Core) {}

  async list(filter: ActionRequest<"users.get_all"> = {}): Promise<User[]> {
    return (await this.core.call("users.get_all", filter)).users;
  }
  async findByName(name: string): Promise<User | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` })).find((u) => u.name === name);
  }
  /** Users by name; names with no user are left out of the map. */
  async byName(names: string[]): Promise<Map<string, User>> {
    if (!names.length) return new Map();
    const wanted = new Set(names);
    const users = await this.list({ name: `^(${names.map(escapeRegex).join("|")})$` });
    return new Map(users.filter((u) => wanted.has(u.name)).map((u) => [u.name, u]));
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
