// The control API contract: for every `service.action`, the zod schema of its request body and
// of its `data`. The gateway validates requests with these schemas and the SDK parses responses
// with them, so the two cannot drift apart. Field names are snake_case as in ClearML's API.
import { z } from "zod";

// ---------------------------------------------------------------------------------------------
// Shared pieces

const id = z.string().min(1).max(64);
const timestamp = z.string();
/** `get_*` calls filter by a regular expression on `name`, as ClearML does. */
const nameFilter = z
  .string()
  .max(256)
  .refine(isValidRegex, { message: "is not a valid regular expression" });
const ref = z.object({ id: z.string(), name: z.string() });
const idList = z.array(id).max(1000);

function isValidRegex(value: string): boolean {
  try {
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}

/** A route label: tasks attach to static routes by this name. */
export const routeName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9_])?$/, {
    message:
      "must start and end with a letter or digit and contain only letters, digits, space, '.', '_' or '-'",
  });

/** Paths under these prefixes belong to the router itself. */
export const RESERVED_PREFIXES = ["/service", "/_appgw"] as const;

export const routePath = z
  .string()
  .max(256)
  .refine((p) => p.startsWith("/"), { message: "must begin with '/'" })
  .refine((p) => /^(\/[A-Za-z0-9._~-]+)+$/.test(p), {
    message:
      "must be '/' followed by segments of letters, digits, '.', '_', '~' or '-', without a trailing '/'",
  })
  .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), {
    message: "must not contain '.' or '..' segments",
  })
  .refine((p) => !RESERVED_PREFIXES.some((r) => p === r || p.startsWith(`${r}/`)), {
    message: `must not start with a reserved prefix (${RESERVED_PREFIXES.join(", ")})`,
  });

export const subdomain = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
  message: "must be a DNS label: lower-case letters, digits and '-', 1 to 63 characters",
});

const groupName = z.string().min(1).max(128);
const userName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, {
    message: "must be letters, digits, '.', '_', '@' or '-'",
  });
const queueName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: "must be letters, digits, '.', '_' or '-'" });

// ---------------------------------------------------------------------------------------------
// Entities as the API returns them

export const routeStatus = z.enum(["not_in_use", "pending", "active"]);
export type RouteStatus = z.infer<typeof routeStatus>;

export const route = z.object({
  id: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  /** `active` is shown as Routing. */
  status: routeStatus,
  type: z.enum(["url", "subdomain"]),
  path: z.string().nullable(),
  subdomain: z.string().nullable(),
  load_balancer: z.object({ enabled: z.boolean() }),
  authenticated: z.boolean(),
  access_groups: z.array(ref),
  /** `ip:port` of every internal endpoint a router sends this route's traffic to. */
  targets: z.array(z.string()),
  tasks: z.array(ref),
  /** The URL while routing; the template (`<router url>/llm`, `llm.<router domain>`) otherwise. */
  route_url: z.string(),
  created: timestamp,
  last_update: timestamp,
  updated_by: ref,
});
export type Route = z.infer<typeof route>;

export const group = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  /** Built-in groups (Users, Admins, Queue admins) cannot be changed or deleted. */
  system: z.boolean(),
  users: z.array(ref),
});
export type Group = z.infer<typeof group>;

export const accessRule = z.object({
  id: z.string(),
  route: ref,
  group: ref,
  created: timestamp,
});
export type AccessRule = z.infer<typeof accessRule>;

export const user = z.object({
  id: z.string(),
  name: z.string(),
  admin: z.boolean(),
  created: timestamp,
});
export type User = z.infer<typeof user>;

export const taskStatus = z.enum([
  "created",
  "queued",
  "in_progress",
  "stopped",
  "completed",
  "failed",
]);
export type TaskStatus = z.infer<typeof taskStatus>;

export const task = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  status: taskStatus,
  status_reason: z.string(),
  status_message: z.string(),
  queue: ref.nullable(),
  worker: z.string().nullable(),
  user: ref,
  system_tags: z.array(z.string()),
  /** Runtime properties: how a task asks for an endpoint, and where routers write it back. */
  runtime: z.record(z.string(), z.string()),
  entry_point: z.string(),
  params: z.record(z.string(), z.string()),
  created: timestamp,
  started: timestamp.nullable(),
  completed: timestamp.nullable(),
  last_update: timestamp,
});
export type Task = z.infer<typeof task>;

export const queue = z.object({
  id: z.string(),
  name: z.string(),
  entries: z.array(z.object({ task: z.string(), added: timestamp })),
  workers: z.array(z.string()),
  created: timestamp,
});
export type Queue = z.infer<typeof queue>;

export const worker = z.object({
  id: z.string(),
  queues: z.array(ref),
  task: z.string().nullable(),
  registered: timestamp,
  last_activity: timestamp,
});
export type Worker = z.infer<typeof worker>;

export const testStatus = z.enum(["running", "passed", "failed"]);
/** Why a test ended as it did: stable values a program can act on. */
export const testReason = z.enum([
  "running",
  "passed",
  "no_agent",
  "not_started",
  "task_failed",
  "router_offline",
  "not_routed",
  "unreachable",
  "wrong_response",
  /** The gateway stopped, or the runner hit an unexpected error. */
  "aborted",
]);
export type TestReason = z.infer<typeof testReason>;

export const routerTest = z.object({
  router: ref,
  status: testStatus,
  status_message: z.string(),
  status_reason: testReason,
  started: timestamp,
  completed: timestamp.nullable(),
  run_time_sec: z.number().nullable(),
  queue: ref,
  worker: z.string().nullable(),
  task: ref,
  browser_endpoint: z.string().nullable(),
  endpoint: z.string().nullable(),
  timeout_sec: z.number(),
  /** The test log: the runner's steps and the test task's console output, in order. */
  log: z.array(z.string()),
});
export type RouterTest = z.infer<typeof routerTest>;

export const router = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  domain: z.string(),
  version: z.string(),
  queues: z.array(z.string()),
  /** A heartbeat arrived within the last 30 seconds. */
  online: z.boolean(),
  started: timestamp,
  uptime_sec: z.number(),
  last_update: timestamp,
  last_tested: timestamp.nullable(),
  test_status: testStatus.nullable(),
  routed_tasks: z.array(z.object({ task: ref, endpoint: z.string(), owner: ref })),
});
export type Router = z.infer<typeof router>;

/** What a router needs to build its table: enabled routes and the tasks it serves. */
export const routeConfig = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string().nullable(),
  subdomain: z.string().nullable(),
  load_balanced: z.boolean(),
  authenticated: z.boolean(),
  /** Group ids allowed; empty means every authenticated user. */
  groups: z.array(z.string()),
});
export type RouteConfig = z.infer<typeof routeConfig>;

export const serviceConfig = z.object({
  task: z.string(),
  task_name: z.string(),
  owner: ref,
  /** null for the default endpoint, else the `__<name>` suffix of its runtime keys. */
  endpoint_name: z.string().nullable(),
  protocol: z.enum(["http", "tcp"]),
  address: z.string(),
  port: z.number().int(),
  /** The static route the task attaches to, by name; null for an ephemeral `/service/` route. */
  static_route: z.string().nullable(),
  created: timestamp,
});
export type ServiceConfig = z.infer<typeof serviceConfig>;

// ---------------------------------------------------------------------------------------------
// Actions

const empty = z.object({});
const routeFields = {
  name: routeName,
  path: routePath.nullable().optional(),
  subdomain: subdomain.nullable().optional(),
  load_balancer: z.strictObject({ enabled: z.boolean() }).optional(),
  authenticated: z.boolean().optional(),
  /** Group ids. Replaces the route's access rules. */
  access_groups: idList.optional(),
};

function exactlyOneTarget(
  v: { path?: string | null; subdomain?: string | null },
  ctx: z.RefinementCtx,
): void {
  const has = (x: unknown) => x !== undefined && x !== null;
  if (has(v.path) === has(v.subdomain)) {
    ctx.addIssue({
      code: "custom",
      path: [has(v.path) ? "subdomain" : "path"],
      message: "exactly one of path or subdomain must be set",
    });
  }
}

export const actions = {
  "auth.login": {
    request: z.strictObject({ expiration_sec: z.number().int().min(60).max(2592000).optional() }),
    response: z.object({ token: z.string(), expires_in: z.number() }),
  },

  "users.create": {
    request: z.strictObject({
      name: userName,
      admin: z.boolean().optional(),
      access_key: z.string().min(8).max(128).optional(),
      secret_key: z.string().min(16).max(256).optional(),
    }),
    response: z.object({
      id: z.string(),
      credentials: z.object({ access_key: z.string(), secret_key: z.string() }),
    }),
  },
  "users.get_all": {
    request: z.strictObject({ id: idList.optional(), name: nameFilter.optional() }),
    response: z.object({ users: z.array(user) }),
  },
  "users.get_current_user": {
    request: empty.strict(),
    response: z.object({ user: user.extend({ groups: z.array(ref) }) }),
  },
  "users.delete": {
    request: z.strictObject({ user: id }),
    response: z.object({ deleted: z.number() }),
  },

  "permissions.create_group": {
    request: z.strictObject({
      name: groupName,
      description: z.string().max(1024).optional(),
      users: idList.optional(),
    }),
    response: z.object({ id: z.string() }),
  },
  "permissions.update_group": {
    request: z.strictObject({
      group: id,
      name: groupName.optional(),
      description: z.string().max(1024).optional(),
      /** Replaces the members. */
      users: idList.optional(),
    }),
    response: z.object({ updated: z.number() }),
  },
  "permissions.delete_group": {
    request: z.strictObject({ group: id }),
    response: z.object({ deleted: z.number() }),
  },
  "permissions.get_user_groups": {
    request: z.strictObject({ id: idList.optional(), name: nameFilter.optional() }),
    response: z.object({ groups: z.array(group) }),
  },
  "permissions.add_or_update_access_rule": {
    request: z.strictObject({ route: id, group: id }),
    response: z.object({ id: z.string(), created: z.boolean() }),
  },
  "permissions.get_access_rules": {
    request: z.strictObject({ route: id.optional(), group: id.optional() }),
    response: z.object({ rules: z.array(accessRule) }),
  },
  "permissions.delete_access_rules": {
    request: z
      .strictObject({ ids: idList.optional(), route: id.optional(), group: id.optional() })
      .refine((v) => v.ids !== undefined || v.route !== undefined || v.group !== undefined, {
        message: "give ids, route or group",
        path: ["ids"],
      }),
    response: z.object({ deleted: z.number() }),
  },

  "queues.create": {
    request: z.strictObject({ name: queueName }),
    response: z.object({ id: z.string() }),
  },
  "queues.get_all": {
    request: z.strictObject({ id: idList.optional(), name: nameFilter.optional() }),
    response: z.object({ queues: z.array(queue) }),
  },
  "queues.delete": {
    request: z.strictObject({ queue: id }),
    response: z.object({ deleted: z.number() }),
  },
  "queues.get_next_task": {
    request: z.strictObject({
      queue: id,
      worker: z.string().min(1).max(128),
      /** Long poll: wait up to this long for a task. */
      wait_sec: z.number().min(0).max(30).optional(),
    }),
    response: z.object({ entry: z.object({ task: z.string(), added: timestamp }).nullable() }),
  },

  "workers.register": {
    request: z.strictObject({ worker: z.string().min(1).max(128), queues: idList }),
    response: empty,
  },
  "workers.heartbeat": {
    request: z.strictObject({ worker: z.string().min(1).max(128), task: id.nullable().optional() }),
    /** Tasks of this worker that were stopped and must be ended. */
    response: z.object({ stop: z.array(z.string()) }),
  },
  "workers.unregister": {
    request: z.strictObject({ worker: z.string().min(1).max(128) }),
    response: empty,
  },
  "workers.get_all": {
    request: z.strictObject({ queue: id.optional() }),
    response: z.object({ workers: z.array(worker) }),
  },

  "tasks.create": {
    request: z.strictObject({
      name: z.string().min(1).max(256),
      type: z.string().min(1).max(64).optional(),
      entry_point: z.string().max(256).optional(),
      params: z.record(z.string(), z.string()).optional(),
      system_tags: z.array(z.string().max(128)).max(64).optional(),
    }),
    response: z.object({ id: z.string() }),
  },
  "tasks.enqueue": {
    request: z.strictObject({ task: id, queue: id }),
    response: z.object({ queued: z.number() }),
  },
  "tasks.get_by_id": {
    request: z.strictObject({ task: id }),
    response: z.object({ task }),
  },
  "tasks.get_all": {
    request: z.strictObject({
      id: idList.optional(),
      name: nameFilter.optional(),
      status: z.array(taskStatus).optional(),
      system_tags: z.array(z.string()).optional(),
    }),
    response: z.object({ tasks: z.array(task) }),
  },
  "tasks.edit": {
    request: z.strictObject({
      task: id,
      name: z.string().min(1).max(256).optional(),
      system_tags: z.array(z.string().max(128)).max(64).optional(),
    }),
    response: z.object({ updated: z.number() }),
  },
  "tasks.edit_runtime_properties": {
    request: z.strictObject({
      task: id,
      /** Merged into the task's runtime properties; null removes a key. */
      runtime: z.record(z.string().min(1).max(128), z.string().max(4096).nullable()),
    }),
    response: z.object({ updated: z.number() }),
  },
  "tasks.started": {
    request: z.strictObject({ task: id, worker: z.string().min(1).max(128) }),
    response: z.object({ updated: z.number() }),
  },
  "tasks.completed": {
    request: z.strictObject({ task: id, status_message: z.string().max(1024).optional() }),
    response: z.object({ updated: z.number() }),
  },
  "tasks.failed": {
    request: z.strictObject({ task: id, status_reason: z.string().max(1024).optional() }),
    response: z.object({ updated: z.number() }),
  },
  "tasks.stop": {
    request: z.strictObject({ task: id, status_reason: z.string().max(1024).optional() }),
    response: z.object({ updated: z.number() }),
  },

  "events.add_log": {
    request: z.strictObject({ task: id, lines: z.array(z.string().max(8192)).min(1).max(1000) }),
    response: z.object({ added: z.number() }),
  },
  "events.get_task_log": {
    request: z.strictObject({ task: id }),
    response: z.object({ events: z.array(z.object({ timestamp, msg: z.string() })) }),
  },

  "routers.register": {
    request: z.strictObject({
      name: z.string().min(1).max(128),
      url: z.url(),
      version: z.string().max(64),
      /** Queue names whose tasks this router serves; empty serves every queue. */
      queues: z.array(z.string().max(128)).max(64),
      /** Parent domain of subdomain routes (`llm.<domain>`). */
      domain: z.string().min(1).max(253),
    }),
    response: z.object({ id: z.string() }),
  },
  "routers.heartbeat": {
    request: z.strictObject({ router: id }),
    response: empty,
  },
  "routers.get_all": {
    request: z.strictObject({ id: idList.optional(), name: nameFilter.optional() }),
    response: z.object({ routers: z.array(router) }),
  },
  "routers.delete": {
    request: z.strictObject({ router: id }),
    response: z.object({ deleted: z.number() }),
  },
  "routers.get_config": {
    request: z.strictObject({
      router: id,
      /** The revision the router already has; the call waits until a newer one exists. */
      since: z.number().int().min(0).optional(),
      wait_sec: z.number().min(0).max(30).optional(),
    }),
    response: z.object({
      revision: z.number(),
      routes: z.array(routeConfig),
      services: z.array(serviceConfig),
      /**
       * Every user's current groups (user id -> group ids, built-in ones included). Routers check
       * route access against this rather than the token's claims, so removing a member or a
       * user takes effect at once instead of at the token's expiry. Optional: without it a
       * router falls back to the claims.
       */
      members: z.record(z.string(), z.array(z.string())).optional(),
    }),
  },
  "routers.report": {
    request: z.strictObject({
      router: id,
      routes: z
        .array(z.strictObject({ route: id, targets: z.array(z.string()), tasks: idList }))
        .max(10000),
      endpoints: z
        .array(
          z.strictObject({
            task: id,
            endpoint_name: z.string().nullable(),
            endpoint: z.string(),
            browser_endpoint: z.string(),
          }),
        )
        .max(10000),
    }),
    response: empty,
  },
  "routers.create_route": {
    request: z
      .strictObject({ ...routeFields, enabled: z.boolean().optional() })
      .superRefine(exactlyOneTarget),
    response: z.object({ id: z.string() }),
  },
  "routers.update_route": {
    request: z.strictObject({ route: id, ...routeFields, name: routeName.optional() }),
    response: z.object({ updated: z.number() }),
  },
  "routers.enable_route": {
    request: z.strictObject({ route: id }),
    response: z.object({ updated: z.number() }),
  },
  "routers.disable_route": {
    request: z.strictObject({ route: id }),
    response: z.object({ updated: z.number() }),
  },
  "routers.delete_route": {
    request: z.strictObject({ route: id }),
    response: z.object({ deleted: z.number() }),
  },
  "routers.get_routes": {
    request: z.strictObject({
      id: idList.optional(),
      name: nameFilter.optional(),
      enabled: z.boolean().optional(),
    }),
    response: z.object({ routes: z.array(route) }),
  },
  "routers.start_test": {
    request: z.strictObject({
      router: id,
      queue: id,
      timeout_sec: z.number().int().min(5).max(3600).optional(),
    }),
    response: z.object({ task: z.string() }),
  },
  "routers.get_test": {
    request: z.strictObject({ router: id }),
    response: z.object({ test: routerTest }),
  },
} as const;

export type ActionName = keyof typeof actions;
export type ActionRequest<A extends ActionName> = z.input<(typeof actions)[A]["request"]>;
export type ParsedRequest<A extends ActionName> = z.output<(typeof actions)[A]["request"]>;
export type ActionResponse<A extends ActionName> = z.output<(typeof actions)[A]["response"]>;

/** Actions any authenticated user may call; every other action needs an admin. */
export const USER_ACTIONS: ReadonlySet<ActionName> = new Set<ActionName>([
  "auth.login",
  "users.get_current_user",
  "permissions.get_user_groups",
  "routers.get_routes",
  "routers.get_all",
  "tasks.create",
  "tasks.enqueue",
  "tasks.get_by_id",
  "tasks.get_all",
  "tasks.edit",
  "tasks.edit_runtime_properties",
  "tasks.stop",
  "queues.get_all",
  "events.get_task_log",
]);

/** The ClearML response envelope. */
export const envelope = z.object({
  meta: z.object({
    id: z.string(),
    trx: z.string(),
    endpoint: z.object({
      name: z.string(),
      requested_version: z.string(),
      actual_version: z.string(),
    }),
    result_code: z.number(),
    result_subcode: z.number(),
    result_msg: z.string(),
    error_data: z.record(z.string(), z.unknown()),
  }),
  data: z.unknown(),
});
export type Envelope = z.infer<typeof envelope>;

/** The built-in groups: fixed ids, membership derived from the users table. */
export const SYSTEM_GROUPS = {
  users: { id: "users", name: "Users", description: "Every user" },
  admins: { id: "admins", name: "Admins", description: "Gateway administrators" },
  queue_admins: { id: "queue-admins", name: "Queue admins", description: "Queue administrators" },
} as const;

/** Runtime property keys of ClearML's endpoint contract. */
export const RUNTIME = {
  service: "_SERVICE",
  address: "_ADDRESS",
  port: "_PORT",
  mode: "_ROUTER_ENDPOINT_MODE",
  modeParam: "_ROUTER_ENDPOINT_MODE_PARAM",
  /** Our addition: pins a task to one router (the router test uses it). */
  router: "_ROUTER",
  endpoint: "endpoint",
  browserEndpoint: "browser_endpoint",
} as const;
export const EXTERNAL_SERVICE_TAG = "external_service";

/**
 * The reference agent's built-in app (`entry_point`): an HTTP, SSE and WebSocket echo that
 * reports the task's `nonce` param, used by router tests and demos. Param `static_route`
 * attaches it to a static route by name.
 */
export const ECHO_ENTRY_POINT = "appgw:echo";

/** Tokens: ES256 JWTs from `auth.login`, verified by routers against the published key set. */
export const TOKENS = {
  issuer: "appgw",
  audience: "appgw",
  algorithm: "ES256",
  /** GET, unauthenticated, on the control API. */
  jwksPath: "/.well-known/jwks.json",
} as const;
