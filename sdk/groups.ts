import type { AccessRule, ActionRequest, Group } from "./contract";
import type { Core } from "./core";
import { appgwError } from "./errors";
import { escapeRegex } from "./routes";

/** Groups (`permissions.*_group`) and route access rules (`permissions.*access_rule*`). */
export class GroupsApi {
  constructor(private readonly core: Core) {}

  create(body: ActionRequest<"permissions.create_group">): Promise<{ id: string }> {
    return this.core.call("permissions.create_group", body);
  }
  async update(body: ActionRequest<"permissions.update_group">): Promise<void> {
    await this.core.call("permissions.update_group", body);
  }
  async delete(group: string): Promise<void> {
    await this.core.call("permissions.delete_group", { group });
  }
  async list(filter: ActionRequest<"permissions.get_user_groups"> = {}): Promise<Group[]> {
    return (await this.core.call("permissions.get_user_groups", filter)).groups;
  }
  async get(id: string): Promise<Group> {
    const [found] = await this.list({ id: [id] });
    if (!found)
      throw appgwError("APPGW_GROUP_NOT_FOUND", `group ${id} not found`, { field: "group" });
    return found;
  }
  async findByName(name: string): Promise<Group | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` }))[0];
  }

  /** Grants `group` access to `route`; idempotent. */
  grant(route: string, group: string): Promise<{ id: string; created: boolean }> {
    return this.core.call("permissions.add_or_update_access_rule", { route, group });
  }
  async rules(filter: ActionRequest<"permissions.get_access_rules"> = {}): Promise<AccessRule[]> {
    return (await this.core.call("permissions.get_access_rules", filter)).rules;
  }
  async revoke(filter: ActionRequest<"permissions.delete_access_rules">): Promise<number> {
    return (await this.core.call("permissions.delete_access_rules", filter)).deleted;
  }
}
