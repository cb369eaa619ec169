import type { Handlers } from "./types";

export const permissions: Handlers<"permissions"> = {
  "permissions.create_group": (body, { store }) => ({
    id: store.createGroup({
      name: body.name,
      description: body.description ?? "",
      users: body.users ?? [],
    }),
  }),
  "permissions.update_group": (body, { store }) => {
    store.updateGroup(body.group, {
      name: body.name,
      description: body.description,
      users: body.users,
    });
    return { updated: 1 };
  },
  "permissions.delete_group": (body, { store }) => {
    store.deleteGroup(body.group);
    return { deleted: 1 };
  },
  "permissions.get_user_groups": (body, { store }) => ({ groups: store.listGroups(body) }),
  "permissions.add_or_update_access_rule": (body, { store }) =>
    store.upsertRule(body.route, body.group),
  "permissions.get_access_rules": (body, { store }) => ({ rules: store.listRules(body) }),
  "permissions.delete_access_rules": (body, { store }) => ({ deleted: store.deleteRules(body) }),
};
