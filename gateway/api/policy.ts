// Which actions only an admin (or, for a few, a service account) may call. This is the reference gateway's policy, not part of the
// client: the SDK's contract says what an action takes and returns, the server decides who may
// call it. It follows the Security column of ClearML's API reference
// (https://clear.ml/docs/latest/docs/references/enterprise/, each endpoint's "Security"):
// `system,root,admin` means admin only, `all` means
// any signed-in user. Where the gateway is stricter than the reference, the entry says why.
import type { ActionName } from "@appgw/sdk/contract";

/** Actions refused (APPGW_FORBIDDEN) to a caller whose role is not `admin`. */
export const ADMIN_ONLY: ReadonlySet<ActionName> = new Set<ActionName>([
  // auth: service accounts are created by admins.
  "auth.create_service_user",
  // users: `system,root` in the reference (internal).
  "users.delete",
  // permissions: groups and access rules.
  "permissions.add_or_update_user_group",
  "permissions.get_user_groups",
  "permissions.delete_user_groups",
  "permissions.add_or_update_access_rule",
  "permissions.get_access_rules",
  "permissions.delete_access_rules",
  // routers: route writes and router listing.
  "routers.add_or_update_route",
  "routers.check_route_name",
  "routers.set_route_enabled",
  "routers.delete_routes",
  "routers.get_task_routers",
  // `all` in the reference, "for admins or service accounts": the reference gateway requires
  // one of those, so a user cannot register a router of their own.
  "routers.task_router_report",
  // `all` in the reference; stricter here, like registering.
  "routers.unregister",
  // queues: `all` in the reference, where Enterprise's `Queue admins` group grants create and
  // delete; the reference gateway has no such group, so only admins.
  "queues.create",
  "queues.delete",
  // appgw: the reference gateway's own service (user bootstrap, router configuration and tests).
  "appgw.add_user",
  "appgw.get_router_config",
  "appgw.get_router_tests",
]);

/**
 * Admin-only actions a service account may call too: what a router needs (register and
 * heartbeat, leave, read its configuration). ClearML documents service accounts as members of
 * `Users`, and the report as "for admins or service accounts"; a router's keys give no more.
 * Service accounts may also change any task (tasks.ts `writable`): a router writes endpoints
 * back onto other users' tasks, and an agent reports the tasks it runs.
 */
export const SERVICE_ACTIONS: ReadonlySet<ActionName> = new Set<ActionName>([
  "routers.task_router_report",
  "routers.unregister",
  "appgw.get_router_config",
]);

/** Whether `name` may be called by `caller`. */
export function mayCall(name: ActionName, caller: { role: string; service: boolean }): boolean {
  return (
    caller.role === "admin" ||
    !ADMIN_ONLY.has(name) ||
    (caller.service && SERVICE_ACTIONS.has(name))
  );
}
