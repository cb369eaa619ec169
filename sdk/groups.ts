import type { AccessRule, ActionRequest, ActionResponse, Group } from "./contract";
import type { Core } from "./core";

/** ASCII letters in lower case, the others as they are: how SQLite's NOCASE compares. */
const foldCase = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** User groups (`permissions.*user_group*`). */
export class GroupsApi {
  constructor(private readonly core: Core) {}

  /** Creates the group, or updates it when `id` names one. `users` is the whole member list. */
  save(
    body: ActionRequest<"permissions.add_or_update_user_group">,
  ): Promise<ActionResponse<"permissions.add_or_update_user_group">> {
    return this.core.call("permissions.add_or_update_user_group", body);
  }
  async delete(groups: string[]): Promise<number> {
    return (await this.core.call("permissions.delete_user_groups", { groups })).deleted;
  }
  /** Every group, or the ones with these ids. */
  async list(groups?: string[]): Promise<Group[]> {
    return (await this.core.call("permissions.get_user_groups", groups ? { groups } : {})).groups;
  }
  /**
   * The group with this id, or undefined. Decided by listing every group: what ClearML answers
   * for an unknown id in `groups` is not published.
   */
  async get(id: string): Promise<Group | undefined> {
    return (await this.list()).find((g) => g.id === id);
  }
  /**
   * The group with this name whatever its case, or undefined (there is no lookup by name). Group
   * names are unique regardless of the case of their ASCII letters, as the reference gateway's
   * store compares them (SQLite's NOCASE): `ML-Team` finds `ml-team`.
   */
  async findByName(name: string): Promise<Group | undefined> {
    const wanted = foldCase(name);
    return (await this.list()).find((g) => foldCase(g.name) === wanted);
  }
}

/** Access rules (`permissions.*access_rule*`): who may use which entities. */
export class AccessRulesApi {
  constructor(private readonly core: Core) {}

  /** Creates the rule, or updates it when `id` names one. */
  async save(body: ActionRequest<"permissions.add_or_update_access_rule">): Promise<string> {
    return (await this.core.call("permissions.add_or_update_access_rule", body)).id;
  }
  async list(rules?: string[]): Promise<AccessRule[]> {
    return (await this.core.call("permissions.get_access_rules", rules ? { rules } : {})).rules;
  }
  async delete(rules: string[]): Promise<number> {
    return (await this.core.call("permissions.delete_access_rules", { rules })).deleted;
  }
}
