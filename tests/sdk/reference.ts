// ClearML's published API reference, as far as this project uses it: every action ClearML
// documents that the SDK's contract marks documented, by the page that documents it. Written by
// hand from the public pages (not derived from sdk/contract.ts), so an action marked documented
// in the contract by mistake has nothing to match here. Enterprise pages document the App
// Gateway, users, permissions, tasks and workers; the open-source pages (same server) document
// queues, events and projects, and the agent side of tasks (started, ping, dequeue, ...).
const ENTERPRISE = "https://clear.ml/docs/latest/docs/references/enterprise";
const OPEN_SOURCE = "https://clear.ml/docs/latest/docs/references/api";

export const REFERENCE_PAGES: Readonly<Record<string, readonly string[]>> = {
  [`${ENTERPRISE}/auth/`]: [
    "auth.login",
    "auth.create_credentials",
    "auth.revoke_credentials",
    "auth.create_service_user",
  ],
  [`${ENTERPRISE}/users/`]: ["users.get_all", "users.get_current_user", "users.delete"],
  [`${ENTERPRISE}/permissions/`]: [
    "permissions.add_or_update_user_group",
    "permissions.get_user_groups",
    "permissions.delete_user_groups",
    "permissions.add_or_update_access_rule",
    "permissions.get_access_rules",
    "permissions.delete_access_rules",
  ],
  [`${ENTERPRISE}/routers/`]: [
    "routers.add_or_update_route",
    "routers.check_route_name",
    "routers.set_route_enabled",
    "routers.delete_routes",
    "routers.get_routes",
    "routers.get_task_routers",
    "routers.task_router_report",
    "routers.unregister",
  ],
  [`${ENTERPRISE}/workers/`]: [
    "workers.register",
    "workers.status_report",
    "workers.unregister",
    "workers.get_all",
  ],
  [`${ENTERPRISE}/tasks/`]: [
    "tasks.create",
    "tasks.get_by_id",
    "tasks.get_all",
    "tasks.edit",
    "tasks.edit_runtime",
    "tasks.enqueue",
    "tasks.stop",
    "tasks.started",
    "tasks.stopped",
    "tasks.completed",
    "tasks.failed",
    "tasks.ping",
    "tasks.dequeue",
    "tasks.set_requirements",
  ],
  [`${ENTERPRISE}/server/`]: ["server.info"],
  [`${OPEN_SOURCE}/queues/`]: [
    "queues.create",
    "queues.get_all",
    "queues.get_by_id",
    "queues.delete",
    "queues.get_next_task",
  ],
  [`${OPEN_SOURCE}/events/`]: ["events.add", "events.add_batch", "events.get_task_log"],
  [`${OPEN_SOURCE}/projects/`]: ["projects.create", "projects.get_all", "projects.get_by_id"],
};
