import { listing } from "../../store";
import { MANAGED_BY_HEADER, MANAGED_BY_MAX_LENGTH } from "@appgw/sdk/contract";
import type { RouteManager } from "../../store/routes";
import type { Handlers } from "./types";

/** The most characters of `stack` and `resource`, decoded. */
const MAX_FIELD_LENGTH = 256;
/** Control and format characters (line breaks, bidi overrides): a page would show them. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;

/**
 * The manager the header names, or undefined when there is none or it is malformed. A label for
 * people is no reason to refuse a route write, so a malformed one is ignored rather than failing
 * the call. Each field is bounded and printable: pages show it.
 */
function parseManagedBy(header: string | string[] | undefined): RouteManager | undefined {
  // Node joins a repeated header with ", ": its keys then repeat, and it is refused below.
  if (typeof header !== "string" || header.length > MANAGED_BY_MAX_LENGTH) return undefined;
  const params = new URLSearchParams(header);
  const one = (key: string): string | undefined => {
    const values = params.getAll(key);
    const value = values.length === 1 ? values[0] : undefined;
    return value && value.length <= MAX_FIELD_LENGTH && !INVISIBLE.test(value) ? value : undefined;
  };
  const [tool, stack, resource] = [one("tool"), one("stack"), one("resource")];
  // Other tools may come; until one is known its marker is not taken.
  if (tool !== "pulumi" || stack === undefined || resource === undefined) return undefined;
  return { tool, stack, resource };
}

export const routers: Handlers<"routers"> = {
  "routers.add_or_update_route": (body, { user, store, headers }) => ({
    id: store.routes.upsert(body, user.id, parseManagedBy(headers[MANAGED_BY_HEADER])),
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
