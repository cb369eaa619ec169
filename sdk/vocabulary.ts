// What the provider's public types share with the SDK, in plain TypeScript. Everything else of
// the SDK is typed by its zod contract, and a declaration file that imports zod brings zod's own
// into every program that imports @appgw/pulumi: those need `esModuleInterop`, which Pulumi's
// stock tsconfig leaves off, and cost the type check of every `pulumi up`. So nothing here
// imports zod; the contract builds its schemas from these lists.

/** The product's three route states (docs/clearml-compatibility.md says how each is derived). */
export type RouteStatusLabel = "Not In Use" | "Pending" | "Routing";

/** A route as far as its status label needs it. */
export interface RouteStatusFields {
  status?: string | null;
  enabled?: boolean | null;
  tasks?: readonly unknown[] | null;
}

export function routeStatusLabel(route: RouteStatusFields): RouteStatusLabel {
  if (route.status === "active") return "Routing";
  if (route.enabled && (route.tasks ?? []).length > 0) return "Pending";
  return "Not In Use";
}

/** Why a router test ended as it did: stable values a program can act on. */
export const TEST_REASONS = [
  "running",
  "passed",
  "no_agent",
  "not_started",
  "task_failed",
  "router_offline",
  "not_routed",
  "unreachable",
  "wrong_response",
  "insecure",
  /** Interrupted, or the runner hit an unexpected error. */
  "aborted",
] as const;
export type TestReason = (typeof TEST_REASONS)[number];

/** The Test Details of the product page. */
export interface RouterTestResult {
  status: "passed" | "failed";
  statusReason: TestReason;
  statusMessage: string;
  started: string;
  completed: string;
  runTimeSec: number;
  worker: string;
  taskName: string;
  taskId: string;
  browserEndpoint: string;
  endpoint: string;
  /**
   * The test log: the task's console output (the runner's steps and the agent's lines), then the
   * runner's lines that did not reach it, such as a failure to stop the task.
   */
  log: string[];
}

/**
 * The header a tool sends on `routers.add_or_update_route` to say it manages the route:
 * `tool=pulumi&stack=<project>/<stack>&resource=<name>`, form-encoded (URLSearchParams). A header
 * rather than a body field, so the request stays ClearML's (a ClearML server ignores it); the
 * reference gateway returns what it said as the route's `managed_by`.
 */
export const MANAGED_BY_HEADER = "x-appgw-managed-by";

/** The longest `X-Appgw-Managed-By` the reference gateway reads: 256-character fields, encoded. */
export const MANAGED_BY_MAX_LENGTH = 8192;

/** The header's value for a resource of a Pulumi stack (`stack` is `<project>/<stack>`). */
export function formatManagedBy(m: { stack: string; resource: string }): string {
  return new URLSearchParams({ tool: "pulumi", stack: m.stack, resource: m.resource }).toString();
}
