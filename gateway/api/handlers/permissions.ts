import type { Handlers } from "./types";

export const permissions: Handlers<"permissions"> = {
  "permissions.add_or_update_user_group": (body, { store }) => {
    const g = store.groups.upsert(body);
    return { id: g.id, name: g.name, system: g.system, assignable: g.assignable };
  },
  "permissions.get_user_groups": (body, { store }) => ({
    groups: store.groups
      .list({ id: body.groups })
      .map((g) =>
        body.include_permissions ? { ...g, permissions: store.rules.ofGroup(g.id) } : g,
      ),
  }),
  "permissions.delete_user_groups": (body, { store }) => ({
    deleted: store.groups.delete(body.groups),
  }),
  "permissions.add_or_update_access_rule": (body, { store }) => store.rules.upsert(body),
  "permissions.get_access_rules": (body, { store }) => ({
    rules: store.rules.list({ rules: body.rules }),
  }),
  "permissions.delete_access_rules": (body, { store }) => ({
    deleted: store.rules.delete(body.rules),
  }),
};
