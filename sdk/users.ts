import type { ActionRequest, ActionResponse, User } from "./contract";
import type { Core } from "./core";
import { escapeRegex } from "./routes";

/** Users and the current identity (`users.*`). */
export class UsersApi {
  constructor(private readonly core: Core) {}

  create(body: ActionRequest<"users.create">): Promise<ActionResponse<"users.create">> {
    return this.core.call("users.create", body);
  }
  async list(filter: ActionRequest<"users.get_all"> = {}): Promise<User[]> {
    return (await this.core.call("users.get_all", filter)).users;
  }
  async findByName(name: string): Promise<User | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` }))[0];
  }
  async delete(user: string): Promise<void> {
    await this.core.call("users.delete", { user });
  }
  async me(): Promise<ActionResponse<"users.get_current_user">["user"]> {
    return (await this.core.call("users.get_current_user", {})).user;
  }
}
