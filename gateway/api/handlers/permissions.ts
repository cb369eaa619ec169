import type { Handlers } from "./types";

export const permissions: Handlers<"permissions"> = {
  "permissions.create_group": (body, { store }) => ({
    id: store.groups.create({
      name: body.name,
      description: body.description ?? "",
      users: body.users ?? [],
    }),
  }),
  "permissions.update_group": (body, { store }) => {
    store.groups.update(body.group, {
      name: body.name,
      description: body.description,
      users: body.users,
    });
    return { updated: 1 };
  },
  "permissions.delete_group": (body, { store }) => {
    store.groups.delete(body.group);
    return { deleted: 1 };
  },
  "permissions.get_user_groups": (body, { store }) => ({ groups: store.groups.list(body) }),
  "permissions.add_or_update_access_rule": (body, { store }) =>
    store.routes.upsertRule(body.route, body.group),
  "permissions.get_access_rules": (body, { store }) => ({ rules: store.routes.listRules(body) }),
  "permissions.delete_access_rules": (body, { store }) => ({
    deleted: store.routes.deleteRules(body),
  }),
};
