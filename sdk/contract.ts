// The control API contract: for every `service.action`, the zod schema of its request body and
// of its `data`, and the page of ClearML's published reference that documents it. The reference
// gateway validates requests with these schemas and the SDK parses responses with them. Who may
// call an action is the server's policy, not the client's (gateway/api/policy.ts). Shapes follow
// ClearML's Enterprise API reference exactly (each action names its page);
// docs/clearml-compatibility.md says what is inferred.
//
// Requests are parsed as ClearML's server parses them: fields a schema does not know are dropped
// at any depth (its clients add their own), every field an action uses is checked.
//
// Two rules keep the SDK working against a real ClearML server:
// - responses are parsed loosely: unknown fields pass through (a newer server adds fields), and
//   a field is required only when the SDK needs it and the reference documents it;
// - actions of the `appgw` service are the reference gateway's own (router watch, test records,
//   user bootstrap). ClearML publishes no such calls; the SDK's public client and the provider
//   never need them (tests/sdk/contract.test.ts and tests/e2e/endpoints.test.ts hold us to it).
import { z } from "zod";
import { TEST_REASONS, type TestReason } from "./vocabulary";

// ---------------------------------------------------------------------------------------------
// Where each documented action is described

const REF = "https://clear.ml/docs/latest/docs/references";
export const DOCS = {
  routers: `${REF}/enterprise/routers/`,
  permissions: `${REF}/enterprise/permissions/`,
  auth: `${REF}/enterprise/auth/`,
  users: `${REF}/enterprise/users/`,
  tasks: `${REF}/enterprise/tasks/`,
  workers: `${REF}/enterprise/workers/`,
  server: `${REF}/enterprise/server/`,
  queues: `${REF}/api/queues/`,
  events: `${REF}/api/events/`,
  projects: `${REF}/api/projects/`,
} as const;

// ---------------------------------------------------------------------------------------------
// Shared pieces

const id = z.string().min(1).max(64);
/** ClearML sends ISO 8601 date-times. */
const timestamp = z.string();
const idList = z.array(id).max(1000);
/**
 * `name`, `path` and `subdomain` filters are regular expressions in the server's syntax; the
 * server checks them with the engine it matches with (the reference gateway: RE2). JS RegExp is
 * not that syntax: it takes backreferences RE2 refuses and refuses RE2's `(?i)` and `\A`.
 */
const regexFilter = z.string().max(256);
const onlyFields = z.array(z.string().max(128)).max(64);
const paging = {
  only_fields: onlyFields.optional(),
  order_by: z.array(z.string().max(128)).max(16).optional(),
  page: z.number().int().min(0).optional(),
  page_size: z.number().int().min(1).max(10_000).optional(),
};

/**
 * Filters ClearML documents that the reference gateway does not implement. Unknown request
 * fields are dropped, as ClearML's server drops them; these are refused instead (400 naming the
 * field), since an answer that ignored them would list what the caller filtered out.
 */
function unimplemented<K extends string>(...names: K[]): Record<K, z.ZodOptional<z.ZodUndefined>> {
  const refuse = z.undefined({ error: "is not implemented by the reference gateway" }).optional();
  return Object.fromEntries(names.map((n) => [n, refuse])) as Record<K, typeof refuse>;
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
// Entities as the API returns them: loose objects (unknown fields pass), documented defaults.

export const routeType = z.enum(["path", "subdomain"]);
export type RouteType = z.infer<typeof routeType>;
/** `active`: at least one router routes the route to a target. */
export const routeStatus = z.enum(["available", "active"]);
export type RouteStatus = z.infer<typeof routeStatus>;

export const routeTask = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  project: z.string().nullish(),
  /** Set only for application tasks. */
  app_id: z.string().nullish(),
  /** The upstream (`ip:port`) the router sends this task's share of the traffic to. */
  target: z.string().nullish(),
});

/**
 * An enum in an answer: its known values, or any other string. A newer server may add values,
 * and one unfamiliar entry must not make a whole listing unreadable.
 */
const openEnum = <E extends z.ZodEnum>(known: E) => z.union([known, z.string()]);

export const route = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: openEnum(routeType),
  path: z.string().nullish(),
  subdomain: z.string().nullish(),
  enabled: z.boolean().default(true),
  auth_enabled: z.boolean().default(true),
  load_balancer: z.looseObject({ enabled: z.boolean().default(true) }).nullish(),
  /** Ids of the groups whose members may use the route. */
  user_groups: z.array(z.string()).nullish(),
  status: openEnum(routeStatus).nullish(),
  /** The URLs the routers serving the route report. */
  urls: z.array(z.string()).nullish(),
  tasks: z.array(routeTask).nullish(),
  created: timestamp.nullish(),
  last_update: timestamp.nullish(),
  /** A user id. */
  updated_by: z.string().nullish(),
  /**
   * The reference gateway's own addition, which ClearML does not return: the tool that manages
   * the route (`tool: "pulumi"`, `stack`: `<project>/<stack>`, `resource`: the resource's name),
   * as the `X-Appgw-Managed-By` header of its last `routers.add_or_update_route` said; null when
   * none did. See docs/clearml-compatibility.md, "Routes managed by Pulumi".
   */
  managed_by: z
    .looseObject({ tool: openEnum(z.enum(["pulumi"])), stack: z.string(), resource: z.string() })
    .nullish(),
});
export type Route = z.infer<typeof route>;

export { formatManagedBy, MANAGED_BY_HEADER, MANAGED_BY_MAX_LENGTH } from "./vocabulary";

export const groupMember = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  email: z.string().nullish(),
});

export const group = z.looseObject({
  id: z.string(),
  name: z.string(),
  description: z.string().nullish(),
  /** Built-in groups (Users, Admins, Queue admins) cannot be changed or deleted. */
  system: z.boolean().default(false),
  assignable: z.boolean().default(true),
  users: z.array(groupMember).nullish(),
  permissions: z.array(z.unknown()).nullish(),
});
export type Group = z.infer<typeof group>;

export const accessPermission = z.enum(["read", "read_write"]);
export const entityType = z.enum([
  "task",
  "model",
  "project",
  "queue",
  "dataset",
  "dataview",
  "route",
  "app",
  "app_category",
]);

export const accessRule = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  description: z.string().nullish(),
  access_permission: openEnum(accessPermission).nullish(),
  entity_type: openEnum(entityType),
  /** An entity id, or `*` for every entity of the type. */
  entity_id: z.string().nullish(),
  entity_name: z.string().nullish(),
  autocreated: z.boolean().nullish(),
  groups: z.array(z.looseObject({ id: z.string(), name: z.string().nullish() })).nullish(),
  users: z.array(groupMember).nullish(),
});
export type AccessRule = z.infer<typeof accessRule>;

export const userRole = z.enum(["admin", "superuser", "user", "annotator", "consumer"]);

export const user = z.looseObject({
  id: z.string(),
  name: z.string(),
  role: z.string().nullish(),
  created: timestamp.nullish(),
  email: z.string().nullish(),
  /** Ids of the user's groups. */
  sec_groups: z.array(z.string()).nullish(),
});
export type User = z.infer<typeof user>;

export const credentials = z.looseObject({
  access_key: z.string(),
  secret_key: z.string(),
  expire: z.string().nullish(),
  label: z.string().nullish(),
});
export type Credentials = z.infer<typeof credentials>;

export const taskStatus = z.enum([
  "created",
  "queued",
  "in_progress",
  "stopped",
  "published",
  "publishing",
  "closed",
  "failed",
  "completed",
  "unknown",
]);
export type TaskStatus = z.infer<typeof taskStatus>;

/** One hyperparameter, as `hyperparams.<section>.<name>`. */
const paramItem = z.looseObject({
  section: z.string().nullish(),
  name: z.string().nullish(),
  value: z.string().nullish(),
});

/**
 * A task. Every field but `id` may be missing: `only_fields` trims the answer, and ClearML
 * leaves out fields that were never set.
 */
export const task = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  type: z.string().nullish(),
  status: z.string().nullish(),
  status_reason: z.string().nullish(),
  status_message: z.string().nullish(),
  status_changed: timestamp.nullish(),
  project: z.string().nullish(),
  /** The owner's user id. */
  user: z.string().nullish(),
  created: timestamp.nullish(),
  started: timestamp.nullish(),
  completed: timestamp.nullish(),
  last_update: timestamp.nullish(),
  last_worker: z.string().nullish(),
  execution: z.looseObject({ queue: z.string().nullish() }).nullish(),
  script: z
    .looseObject({
      entry_point: z.string().nullish(),
      binary: z.string().nullish(),
      diff: z.string().nullish(),
      working_dir: z.string().nullish(),
    })
    .nullish(),
  hyperparams: z.record(z.string(), z.record(z.string(), paramItem)).nullish(),
  /** Runtime properties: how a task asks for an endpoint, and where routers write it back. */
  runtime: z.record(z.string(), z.unknown()).nullish(),
  tags: z.array(z.string()).nullish(),
  system_tags: z.array(z.string()).nullish(),
});
export type Task = z.infer<typeof task>;

/** A project: tasks are filed under one (`Task.init(project_name=...)` creates it). */
export const project = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  basename: z.string().nullish(),
  description: z.string().nullish(),
  user: z.string().nullish(),
  created: timestamp.nullish(),
  last_update: timestamp.nullish(),
  tags: z.array(z.string()).nullish(),
  system_tags: z.array(z.string()).nullish(),
  default_output_destination: z.string().nullish(),
});
export type Project = z.infer<typeof project>;

export const queueEntry = z.looseObject({ task: z.string(), added: timestamp.nullish() });

export const queue = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  display_name: z.string().nullish(),
  created: timestamp.nullish(),
  tags: z.array(z.string()).nullish(),
  system_tags: z.array(z.string()).nullish(),
  entries: z.array(queueEntry).nullish(),
});
export type Queue = z.infer<typeof queue>;

const workerQueue = z.looseObject({ id: z.string(), name: z.string().nullish() });

export const worker = z.looseObject({
  id: z.string(),
  register_time: timestamp.nullish(),
  last_activity_time: timestamp.nullish(),
  last_report_time: timestamp.nullish(),
  task: z.looseObject({ id: z.string(), name: z.string().nullish() }).nullish(),
  queue: workerQueue.nullish(),
  queues: z.array(workerQueue).nullish(),
});
export type Worker = z.infer<typeof worker>;

/** A registered router, as `routers.get_task_routers` lists it. Its id is its `ROUTER_NAME`. */
export const router = z.looseObject({
  router: z.string(),
  url: z.string(),
  version: z.string().nullish(),
  /** Seconds. */
  uptime: z.number().nullish(),
  /** Epoch seconds of the last report. */
  last_update_timestamp: z.number().nullish(),
  routes: z
    .array(z.looseObject({ name: z.string(), tasks: z.array(z.string()).nullish() }))
    .nullish(),
  tasks: z.array(z.record(z.string(), z.unknown())).nullish(),
});
export type Router = z.infer<typeof router>;

export const logEvent = z.looseObject({
  timestamp: z.union([z.number(), z.string()]).nullish(),
  msg: z.string().nullish(),
  level: z.string().nullish(),
  worker: z.string().nullish(),
});

// ---------------------------------------------------------------------------------------------
// The reference gateway's own records (service `appgw`)

/** Why a router test ended as it did: stable values a program can act on. */
export const testReason = z.enum(TEST_REASONS);
export type { TestReason };

/**
 * The Test Details of the product page. The reference gateway derives one record per router
 * from the latest router-test task (see ROUTER_TEST); ClearML publishes no such call.
 */
export const routerTestRecord = z.object({
  router: z.string().min(1).max(128),
  status: z.enum(["running", "passed", "failed"]),
  status_message: z.string().max(4096),
  status_reason: testReason,
  started: timestamp,
  completed: timestamp.nullable(),
  run_time_sec: z.number().nullable(),
  queue: z.string().max(128),
  worker: z.string().max(128).nullable(),
  task_name: z.string().max(256),
  task_id: z.string().max(64),
  browser_endpoint: z.string().max(2048).nullable(),
  endpoint: z.string().max(2048).nullable(),
  /** The test log: the runner's steps and the test task's console output, in order. */
  log: z.array(z.string().max(8192)).max(2000),
});
export type RouterTestRecord = z.infer<typeof routerTestRecord>;

/** What a router needs to build its table: enabled routes and the tasks it serves. */
export const routeConfig = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string().nullable(),
  subdomain: z.string().nullable(),
  load_balancer: z.object({ enabled: z.boolean() }),
  auth_enabled: z.boolean(),
  /**
   * Only `groups` and `users` may use the route, even when both are empty: it has user_groups or
   * access rules. False: every signed-in user may (an authenticated route with neither).
   */
  restricted: z.boolean().default(false),
  /** Group ids allowed: the route's `user_groups` plus the groups of its access rules. */
  groups: z.array(z.string()),
  /** User ids its access rules allow directly. */
  users: z.array(z.string()),
});
export type RouteConfig = z.infer<typeof routeConfig>;

const ref = z.object({ id: z.string(), name: z.string() });

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
  /** The name of the queue the task ran from: a router with LISTEN_QUEUE_NAME serves only those. */
  queue: z.string().nullish(),
  created: timestamp,
});
export type ServiceConfig = z.infer<typeof serviceConfig>;

// ---------------------------------------------------------------------------------------------
// Actions

const empty = z.object({});
const looseEmpty = z.looseObject({});

interface ActionSpec {
  request: z.ZodType;
  response: z.ZodType;
  /**
   * The reference page documenting the action; null for the gateway's own `appgw` service and
   * for the calls only observed from ClearML's clients (`observed`).
   */
  docs: string | null;
  /** Which ClearML client sends this undocumented call: the reference gateway answers it. */
  observed?: string;
}

const spec = <Req extends z.ZodType, Res extends z.ZodType>(
  docs: string | null,
  request: Req,
  response: Res,
) => ({ docs, request, response }) satisfies ActionSpec;

/** The ClearML clients whose calls the reference gateway answers beyond the reference pages. */
export const CLEARML_CLIENTS = {
  sdk: "clearml 2.1.12 (PyPI)",
  agent: "clearml-agent 3.0.3 (PyPI)",
} as const;

/** A call no reference page documents that a ClearML client sends (read from its source). */
const observed = <Req extends z.ZodType, Res extends z.ZodType>(
  client: string,
  request: Req,
  response: Res,
) => ({ docs: null, observed: client, request, response }) satisfies ActionSpec;

/**
 * A create names the whole route: `name`, `type`, and the type's field (`path` or `subdomain`)
 * without the other. An update names only what it changes and keeps the rest, so whether it
 * makes a whole route depends on the stored one: the server checks the route it makes.
 */
const routeWrite = z.object({
  /** Update the route with this id; create one when absent. */
  id: id.optional(),
  name: routeName.optional(),
  type: routeType.optional(),
  path: routePath.optional(),
  subdomain: subdomain.optional(),
  enabled: z.boolean().optional(),
  auth_enabled: z.boolean().optional(),
  /** `enabled` defaults to true. */
  load_balancer: z.object({ enabled: z.boolean().optional() }).optional(),
  user_groups: idList.optional(),
});

/**
 * A task status change: the caller's request, or the running agent's report. `force` allows a
 * change from any status, as ClearML's agent sends it (`tasks.started {force: true}`).
 */
const statusChange = z.object({
  task: id,
  force: z.boolean().optional(),
  status_reason: z.string().max(1024).optional(),
  status_message: z.string().max(1024).optional(),
});
const updated = z.looseObject({ updated: z.number() });

/** A runtime property's value: ClearML's clients write JSON scalars (`_PORT` is a number). */
const runtimeValue = z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]);
const runtimeMap = z.record(z.string().min(1).max(128), runtimeValue);

/** Free-form parts of a task the gateway keeps as they come (configuration, models, ...). */
const jsonObject = z.record(z.string(), z.unknown());
const tagList = z.array(z.string().max(128)).max(64);

/** A hyperparameter as `tasks.create` and `tasks.edit` take it. */
const paramWrite = z.object({
  section: z.string().max(128).nullish(),
  name: z.string().max(128).nullish(),
  value: z.string().max(65_536).nullish(),
  type: z.string().max(64).nullish(),
  description: z.string().max(1024).nullish(),
});

/**
 * The fields of a task `tasks.create` sets and `tasks.edit` changes, as ClearML documents them.
 * The gateway reads `script.entry_point`/`diff`, `hyperparams` and `project`; the rest is kept
 * and returned as sent, so ClearML's SDK and agent find what they wrote.
 */
const taskWrite = {
  project: id.nullish(),
  comment: z.string().max(65_536).nullish(),
  tags: tagList.nullish(),
  system_tags: tagList.nullish(),
  parent: id.nullish(),
  output_dest: z.string().max(2048).nullish(),
  container: z.record(z.string(), z.string().max(65_536).nullable()).nullish(),
  configuration: jsonObject.nullish(),
  models: jsonObject.nullish(),
  input: jsonObject.nullish(),
  output: jsonObject.nullish(),
  script: z
    .object({
      repository: z.string().max(2048).nullish(),
      branch: z.string().max(256).nullish(),
      tag: z.string().max(256).nullish(),
      version_num: z.string().max(256).nullish(),
      entry_point: z.string().max(256).nullish(),
      working_dir: z.string().max(1024).nullish(),
      binary: z.string().max(64).nullish(),
      requirements: jsonObject.nullish(),
      diff: z.string().max(524_288).nullish(),
    })
    .nullish(),
  execution: z
    .object({
      queue: id.nullish(),
      parameters: jsonObject.nullish(),
      docker_cmd: z.string().max(65_536).nullish(),
      framework: z.string().max(256).nullish(),
      artifacts: z.array(jsonObject).max(1000).nullish(),
      model_desc: jsonObject.nullish(),
    })
    .nullish(),
  hyperparams: z.record(z.string().max(128), z.record(z.string().max(256), paramWrite)).nullish(),
};

/** One event of `events.add_batch`: the gateway keeps `log` events, the console. */
const eventWrite = z.object({
  type: z.string().min(1).max(64),
  task: id,
  msg: z.string().max(65_536).nullish(),
  level: z.string().max(16).nullish(),
  timestamp: z.number().nullish(),
  worker: z.string().max(256).nullish(),
});

export const actions = {
  // --- auth ---
  "auth.login": spec(
    DOCS.auth,
    z.object({
      expiration_sec: z.number().int().min(60).optional(),
      set_cookie: z.boolean().optional(),
    }),
    z.looseObject({ token: z.string() }),
  ),
  "auth.create_credentials": spec(
    DOCS.auth,
    z.object({
      expiration_sec: z.number().int().min(60).optional(),
      label: z.string().max(256).optional(),
    }),
    z.looseObject({ credentials }),
  ),
  "auth.revoke_credentials": spec(
    DOCS.auth,
    z.object({ access_key: z.string().min(1).max(128).optional() }),
    z.looseObject({ revoked: z.number() }),
  ),
  "auth.create_service_user": spec(
    DOCS.auth,
    z.object({
      name: userName,
      allow_running_as_owner: z.boolean().optional(),
      credentials_expiration_sec: z.number().int().min(60).optional(),
    }),
    z.looseObject({ id: z.string(), credentials }),
  ),

  // --- users ---
  "users.get_all": spec(
    DOCS.users,
    z.object({
      id: idList.optional(),
      name: regexFilter.optional(),
      include_auth: z.boolean().optional(),
      include_providers_info: z.boolean().optional(),
      ...paging,
    }),
    z.looseObject({ users: z.array(user) }),
  ),
  "users.get_current_user": spec(
    DOCS.users,
    empty,
    z.looseObject({
      user: user,
      sec_groups: z.array(z.looseObject({ id: z.string(), name: z.string().nullish() })).nullish(),
    }),
  ),
  /**
   * Configuration vaults ClearML's SDK merges into its settings at start. The reference gateway
   * keeps none: the answer is always empty.
   */
  "users.get_vaults": observed(
    CLEARML_CLIENTS.sdk,
    z.object({
      enabled: z.boolean().optional(),
      types: z.array(z.string().max(64)).max(16).optional(),
    }),
    z.looseObject({ vaults: z.array(z.unknown()) }),
  ),
  "users.delete": spec(
    DOCS.users,
    z.object({ user: id }),
    z.looseObject({ deleted: z.union([z.number(), z.boolean()]).nullish() }),
  ),

  // --- permissions ---
  "permissions.add_or_update_user_group": spec(
    DOCS.permissions,
    z.object({
      id: id.optional(),
      name: z.string().min(1).max(128).optional(),
      description: z.string().max(1024).optional(),
      /** Member user ids: the whole list. */
      users: idList.optional(),
    }),
    z.looseObject({
      id: z.string(),
      name: z.string().nullish(),
      system: z.boolean().nullish(),
      assignable: z.boolean().nullish(),
    }),
  ),
  "permissions.get_user_groups": spec(
    DOCS.permissions,
    z.object({ groups: idList.optional(), include_permissions: z.boolean().optional() }),
    z.looseObject({ groups: z.array(group) }),
  ),
  "permissions.delete_user_groups": spec(
    DOCS.permissions,
    z.object({ groups: idList.min(1) }),
    z.looseObject({ deleted: z.number() }),
  ),
  "permissions.add_or_update_access_rule": spec(
    DOCS.permissions,
    z.object({
      id: id.optional(),
      name: z.string().min(1).max(256),
      description: z.string().max(1024),
      access_permission: accessPermission,
      entity_type: entityType,
      entity_id: z.string().min(1).max(64).optional(),
      users: idList,
      groups: idList,
    }),
    z.looseObject({ id: z.string(), name: z.string().nullish() }),
  ),
  "permissions.get_access_rules": spec(
    DOCS.permissions,
    z.object({ rules: idList.optional() }),
    z.looseObject({ rules: z.array(accessRule) }),
  ),
  "permissions.delete_access_rules": spec(
    DOCS.permissions,
    z.object({ rules: idList.min(1) }),
    z.looseObject({ deleted: z.number() }),
  ),

  // --- routers ---
  "routers.add_or_update_route": spec(DOCS.routers, routeWrite, z.looseObject({ id: z.string() })),
  "routers.check_route_name": spec(
    DOCS.routers,
    z.object({
      field: z.enum(["name", "path", "subdomain"]),
      value: z.string().min(1).max(256),
    }),
    // Documented only as "object": the reference gateway answers `{available, route?}`.
    looseEmpty,
  ),
  "routers.set_route_enabled": spec(
    DOCS.routers,
    z.object({ id, enabled: z.boolean(), force: z.boolean().optional() }),
    looseEmpty,
  ),
  "routers.delete_routes": spec(
    DOCS.routers,
    z.object({ ids: idList.optional(), force: z.boolean().optional() }),
    z.looseObject({ deleted: z.number() }),
  ),
  "routers.get_routes": spec(
    DOCS.routers,
    z.object({
      id: idList.optional(),
      name: regexFilter.optional(),
      path: regexFilter.optional(),
      subdomain: regexFilter.optional(),
      enabled: z.boolean().optional(),
      auth_enabled: z.boolean().optional(),
      type: z.array(routeType).optional(),
      ...paging,
      ...unimplemented("user", "last_update", "search_text"),
    }),
    z.looseObject({ routes: z.array(route) }),
  ),
  "routers.get_task_routers": spec(
    DOCS.routers,
    z.object({
      task_only_fields: onlyFields.optional(),
      task_order_by: z.array(z.string().max(128)).max(16).optional(),
    }),
    z.looseObject({ routers: z.array(router) }),
  ),
  "routers.task_router_report": spec(
    DOCS.routers,
    z.object({
      router: z.string().min(1).max(128),
      url: z.url(),
      version: z.string().max(64).optional(),
      /** The router is dropped if it does not report again within this many seconds. */
      timeout: z.number().int().min(1).max(3600).optional(),
      status: z
        .object({
          last_update_timestamp: z.number().int().optional(),
          uptime: z.number().int().min(0).optional(),
          tasks: idList.optional(),
          routes: z
            .array(
              z.object({
                name: z.string().max(128),
                url: z.string().max(2048),
                tasks: z.array(z.object({ id, upstream_server: z.string().max(512) })).max(10_000),
              }),
            )
            .max(10_000)
            .optional(),
        })
        .optional(),
    }),
    looseEmpty,
  ),
  "routers.unregister": spec(
    DOCS.routers,
    z.object({ router: z.string().min(1).max(128) }),
    looseEmpty,
  ),

  // --- queues ---
  "queues.create": spec(
    DOCS.queues,
    z.object({
      name: queueName,
      display_name: z.string().max(256).optional(),
      tags: z.array(z.string().max(128)).max(64).optional(),
      system_tags: z.array(z.string().max(128)).max(64).optional(),
    }),
    z.looseObject({ id: z.string() }),
  ),
  "queues.get_all": spec(
    DOCS.queues,
    z.object({
      id: idList.optional(),
      name: regexFilter.optional(),
      ...paging,
      ...unimplemented("tags", "system_tags", "search_text", "scroll_id", "size"),
    }),
    z.looseObject({ queues: z.array(queue) }),
  ),
  "queues.get_by_id": spec(
    DOCS.queues,
    z.object({ queue: id, max_task_entries: z.number().int().min(0).optional() }),
    z.looseObject({ queue }),
  ),
  "queues.delete": spec(
    DOCS.queues,
    z.object({ queue: id, force: z.boolean().optional() }),
    z.looseObject({ deleted: z.number() }),
  ),
  "queues.get_next_task": spec(
    DOCS.queues,
    z.object({ queue: id, get_task_info: z.boolean().optional() }),
    z.looseObject({ entry: queueEntry.nullish() }),
  ),

  // --- workers (the agent side) ---
  "workers.register": spec(
    DOCS.workers,
    z.object({
      worker: z.string().min(1).max(128),
      queues: idList.optional(),
      timeout: z.number().int().min(1).max(3600).optional(),
      tags: z.array(z.string().max(128)).max(64).optional(),
    }),
    looseEmpty,
  ),
  "workers.status_report": spec(
    DOCS.workers,
    z.object({
      worker: z.string().min(1).max(128),
      timestamp: z.number().int(),
      task: id.optional(),
      queue: id.optional(),
      queues: idList.optional(),
    }),
    looseEmpty,
  ),
  "workers.unregister": spec(
    DOCS.workers,
    z.object({ worker: z.string().min(1).max(128) }),
    looseEmpty,
  ),
  /**
   * What ClearML's agent asks with the `advanced` feature set (observed, clearml-agent 3.0.3):
   * a worker's runtime properties (the reference gateway keeps none) and the cluster capacity
   * an autoscaler reads (accepted and not kept: the reference gateway has no autoscaler).
   */
  "workers.get_runtime_properties": observed(
    CLEARML_CLIENTS.agent,
    z.object({ worker: z.string().min(1).max(256) }),
    z.looseObject({ runtime_properties: z.array(z.unknown()) }),
  ),
  "workers.cluster_report": observed(
    CLEARML_CLIENTS.agent,
    z.object({ worker: z.string().max(256).nullish(), key: z.string().max(256).nullish() }),
    looseEmpty,
  ),
  "workers.cluster_unregister": observed(
    CLEARML_CLIENTS.agent,
    z.object({ key: z.string().max(256).nullish() }),
    looseEmpty,
  ),
  "workers.get_all": spec(
    DOCS.workers,
    z.object({ last_seen: z.number().int().min(0).optional() }),
    z.looseObject({ workers: z.array(worker) }),
  ),

  // --- tasks ---
  "tasks.create": spec(
    DOCS.tasks,
    z.object({
      name: z.string().min(1).max(256),
      type: z.string().min(1).max(64),
      ...taskWrite,
    }),
    z.looseObject({ id: z.string() }),
  ),
  "tasks.get_by_id": spec(DOCS.tasks, z.object({ task: id }), z.looseObject({ task })),
  "tasks.get_all": spec(
    DOCS.tasks,
    z.object({
      id: idList.optional(),
      name: regexFilter.optional(),
      status: z.array(taskStatus).optional(),
      system_tags: z.array(z.string().max(128)).max(64).optional(),
      tags: z.array(z.string().max(128)).max(64).optional(),
      project: idList.optional(),
      type: z.array(z.string().max(64)).max(64).optional(),
      user: idList.optional(),
      ...paging,
      ...unimplemented(
        "parent",
        "status_changed",
        "_all_",
        "_any_",
        "search_text",
        "scroll_id",
        "size",
      ),
    }),
    z.looseObject({ tasks: z.array(task) }),
  ),
  "tasks.edit": spec(
    DOCS.tasks,
    z.object({
      task: id,
      force: z.boolean().optional(),
      name: z.string().min(1).max(256).optional(),
      type: z.string().min(1).max(64).optional(),
      ...taskWrite,
      /** The whole runtime map. */
      runtime: runtimeMap.optional(),
    }),
    z.looseObject({ updated: z.number() }),
  ),
  "tasks.edit_runtime": spec(
    DOCS.tasks,
    z.object({
      task: id,
      add_or_update: runtimeMap.optional(),
      remove: z.array(z.string().max(128)).max(1000).optional(),
      force: z.boolean().optional(),
    }),
    z.looseObject({ updated: z.number() }),
  ),
  "tasks.enqueue": spec(
    DOCS.tasks,
    z
      .object({
        task: id,
        queue: id.optional(),
        queue_name: queueName.optional(),
        status_reason: z.string().max(1024).optional(),
        status_message: z.string().max(1024).optional(),
        // Accepted as documented; the reference gateway always records the queue, and its
        // queues are always watched by whoever registered for them.
        update_execution_queue: z.boolean().optional(),
        verify_watched_queue: z.boolean().optional(),
      })
      .refine((v) => v.queue === undefined || v.queue_name === undefined, {
        message: "give queue or queue_name, not both",
        path: ["queue_name"],
      }),
    z.looseObject({ queued: z.number() }),
  ),
  "tasks.stop": spec(DOCS.tasks, statusChange.extend({ force: z.boolean().optional() }), updated),
  // Reported by the agent that runs the task.
  "tasks.started": spec(DOCS.tasks, statusChange, updated),
  "tasks.stopped": spec(DOCS.tasks, statusChange, updated),
  "tasks.completed": spec(
    DOCS.tasks,
    statusChange.extend({ publish: z.boolean().optional() }),
    updated,
  ),
  "tasks.failed": spec(DOCS.tasks, statusChange, updated),
  /** The running agent's keep-alive. */
  "tasks.ping": spec(DOCS.tasks, z.object({ task: id }), looseEmpty),
  /** Takes a queued task out of its queue, back to `created`. */
  "tasks.dequeue": spec(
    DOCS.tasks,
    statusChange.extend({ new_status: taskStatus.optional() }),
    z.looseObject({ dequeued: z.number() }),
  ),
  /** `script.requirements`: what a ClearML agent installs before it runs the task. */
  "tasks.set_requirements": spec(
    DOCS.tasks,
    z.object({ task: id, requirements: jsonObject }),
    updated,
  ),

  // --- events (task console log) ---
  "events.add": spec(
    DOCS.events,
    z.object({
      type: z.literal("log"),
      task: id,
      msg: z.string().max(8192),
      level: z.enum(["debug", "info", "warning", "error", "critical"]).optional(),
      timestamp: z.number().optional(),
      worker: z.string().max(128).optional(),
    }),
    looseEmpty,
  ),
  /** Events as JSON lines (one object a line), as ClearML's clients send them. */
  "events.add_batch": spec(
    DOCS.events,
    z.object({ requests: z.array(eventWrite).max(10_000) }),
    z.looseObject({ added: z.number(), errors: z.number().nullish() }),
  ),
  "events.get_task_log": spec(
    DOCS.events,
    z.object({
      task: id,
      batch_size: z.number().int().min(1).max(10_000).optional(),
      navigate_earlier: z.boolean().optional(),
    }),
    z.looseObject({
      events: z.array(logEvent),
      returned: z.number().nullish(),
      total: z.number().nullish(),
    }),
  ),

  // --- projects ---
  "projects.create": spec(
    DOCS.projects,
    z.object({
      name: z.string().min(1).max(1024),
      description: z.string().max(65_536).nullish(),
      tags: tagList.nullish(),
      system_tags: tagList.nullish(),
      default_output_destination: z.string().max(2048).nullish(),
    }),
    z.looseObject({ id: z.string() }),
  ),
  "projects.get_all": spec(
    DOCS.projects,
    z.object({
      id: idList.optional(),
      name: regexFilter.optional(),
      basename: regexFilter.optional(),
      ...paging,
      ...unimplemented(
        "description",
        "tags",
        "system_tags",
        "search_text",
        "parent",
        "scroll_id",
        "size",
      ),
    }),
    z.looseObject({ projects: z.array(project) }),
  ),
  "projects.get_by_id": spec(DOCS.projects, z.object({ project: id }), z.looseObject({ project })),

  // --- server ---
  "server.info": spec(
    DOCS.server,
    empty,
    z.looseObject({
      version: z.string(),
      build: z.string().nullish(),
      commit: z.string().nullish(),
      api_version: z.string().nullish(),
    }),
  ),

  // --- appgw: the reference gateway's own service; ClearML publishes nothing like it ---
  "appgw.add_user": spec(
    null,
    z.object({
      name: userName,
      role: z.enum(["admin", "user"]).optional(),
      access_key: z.string().min(8).max(128).optional(),
      secret_key: z.string().min(16).max(256).optional(),
    }),
    z.object({ id: z.string(), credentials }),
  ),
  "appgw.watch": spec(
    null,
    z.object({
      /** The revision the caller already has; the call waits until a newer one exists. */
      since: z.number().int().min(0).optional(),
      wait_sec: z.number().min(0).max(30).optional(),
    }),
    z.object({ revision: z.number() }),
  ),
  "appgw.get_router_config": spec(
    null,
    z.object({
      router: z.string().min(1).max(128),
      since: z.number().int().min(0).optional(),
      wait_sec: z.number().min(0).max(30).optional(),
    }),
    z.object({
      revision: z.number(),
      routes: z.array(routeConfig),
      services: z.array(serviceConfig),
      /**
       * Every user's current groups (user id -> group ids, built-in ones included). Routers check
       * route access against this rather than the token's claims, so removing a member or a
       * user takes effect at once instead of at the token's expiry.
       */
      members: z.record(z.string(), z.array(z.string())),
    }),
  ),
  "appgw.short_token": spec(
    null,
    z.object({
      expiration_sec: z
        .number()
        .int()
        .min(1)
        .max(7 * 86_400),
    }),
    z.looseObject({ token: z.string() }),
  ),
  "appgw.get_router_tests": spec(
    null,
    z.object({
      routers: z.array(z.string().max(128)).max(1000).optional(),
      /** Default true; false answers every `log` empty, for a listing. */
      with_log: z.boolean().optional(),
    }),
    z.object({ tests: z.array(routerTestRecord) }),
  ),
} as const;

export type ActionName = keyof typeof actions;
export type ActionRequest<A extends ActionName> = z.input<(typeof actions)[A]["request"]>;
export type ParsedRequest<A extends ActionName> = z.output<(typeof actions)[A]["request"]>;
export type ActionResponse<A extends ActionName> = z.output<(typeof actions)[A]["response"]>;

/** Actions ClearML documents, with the page that documents each. */
export const DOCUMENTED_ACTIONS: ReadonlyMap<ActionName, string> = new Map(
  Object.entries(actions).flatMap(([name, a]) =>
    a.docs ? [[name as ActionName, a.docs] as const] : [],
  ),
);

/** Calls no reference page documents that ClearML's clients send, with the client sending each. */
export const OBSERVED_ACTIONS: ReadonlyMap<ActionName, string> = new Map(
  Object.entries(actions).flatMap(([name, a]) =>
    "observed" in a ? [[name as ActionName, a.observed] as const] : [],
  ),
);

/** The ClearML response envelope. */
export const envelope = z.object({
  meta: z.looseObject({
    id: z.string().nullish(),
    trx: z.string().nullish(),
    endpoint: z
      .looseObject({
        name: z.string().nullish(),
        requested_version: z.string().nullish(),
        actual_version: z.string().nullish(),
      })
      .nullish(),
    result_code: z.number(),
    result_subcode: z.number().nullish(),
    result_msg: z.string().nullish(),
    error_stack: z.string().nullish(),
    error_data: z.record(z.string(), z.unknown()).nullish(),
  }),
  data: z.unknown(),
});
export type Envelope = z.infer<typeof envelope>;

/**
 * The built-in groups. ClearML gives them server-generated ids; the reference gateway uses
 * these fixed ones so programs can name them.
 */
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
  /** TCP endpoints: ClearML's SDK writes the task's address and port under these keys. */
  tcpAddress: "external_address",
  tcpPort: "external_tcp_port",
  tcpUpstreamPort: "upstream_task_port",
  endpoint: "endpoint",
  browserEndpoint: "browser_endpoint",
} as const;
export const EXTERNAL_SERVICE_TAG = "external_service";

/**
 * The router test's task. On a ClearML agent it is a standalone Python script (ClearML keeps a
 * standalone script's text in `script.diff`) that serves the nonce over HTTP and asks for an
 * endpoint with `Task.request_external_endpoint`. The reference agent does not run Python: it
 * recognises this entry point and runs its built-in echo app, which does the same.
 * Hyperparameters `General/nonce` and `General/static_route` drive both.
 */
export const ECHO_ENTRY_POINT = "appgw_echo.py";
/**
 * The echo script's `script.requirements.pip` (a requirements.txt): a ClearML agent runs a task
 * in a fresh environment holding only what the task declares; 2.1.12 is the release tested here.
 */
export const ECHO_REQUIREMENTS = "clearml>=2.1.12";

/**
 * How a router test is written down with documented calls only: its task carries this system
 * tag and `_ROUTER`, and the runner (the provider) writes its verdict into the task's runtime
 * properties and its steps into the task's console log. The reference gateway reads tests back
 * from there (`appgw.get_router_tests`); on ClearML they stay visible on the task.
 */
export const ROUTER_TEST = {
  tag: "appgw_router_test",
  hyperparamSection: "General",
  nonceParam: "nonce",
  staticRouteParam: "static_route",
  runtime: {
    status: "appgw_test_status",
    reason: "appgw_test_reason",
    message: "appgw_test_message",
    started: "appgw_test_started",
    /** When the runner gives up: a test still without a verdict after it has no runner left. */
    deadline: "appgw_test_deadline",
    completed: "appgw_test_completed",
    /** The endpoints the router gave the task: the router removes its own keys once it stops. */
    endpoint: "appgw_test_endpoint",
    browserEndpoint: "appgw_test_browser_endpoint",
  },
} as const;
