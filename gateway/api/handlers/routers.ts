import { listing } from "../../store";
import type { Handlers } from "./types";

export const routers: Handlers<"routers"> = {
  "routers.add_or_update_route": (body, { user, store }) => ({
    id: store.routes.upsert(body, user.id),
  }),
  "routers.check_route_name": (body, { store }) => store.routes.checkName(body.field, body.value),
  "routers.set_route_enabled": (body, { user, store }) => {
    store.routes.setEnabled(body.id, body.enabled, body.force ?? false, user.id);
    return {};
  },
  "routers.delete_routes": (body, { store }) => ({
    deleted: store.routes.delete(body.ids ?? [], body.force ?? false),
  }),
  "routers.get_routes": (body, { store }) => ({ routes: listing(store.routes.list(body), body) }),

  "routers.task_router_report": (body, { store }) => {
    store.routers.report(body);
    return {};
  },
  "routers.get_task_routers": (body, { store }) => ({
    routers: store.routers.list().map((r) => ({
      ...r,
      tasks: listing(r.tasks ?? [], {
        only_fields: body.task_only_fields,
        order_by: body.task_order_by,
      }),
    })),
  }),
  "routers.unregister": (body, { store }) => {
    store.routers.unregister(body.router);
    return {};
  },
};
