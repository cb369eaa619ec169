// A tiny stand-in for a ClearML API server, independent of our gateway: it records every request
// and answers with canned bodies shaped exactly as ClearML's reference documents them (the full
// `meta` envelope included). Every documented action has a default answer (EXAMPLES); a test
// overrides the ones it is about with `on` (every later call) or `once` (the next call).
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { AppGatewayClient, type ClientOptions, type DocumentedAction } from "@appgw/sdk";

export interface Recorded {
  method: string;
  /** The request path as sent, e.g. `/routers.get_routes`. */
  path: string;
  /** `service.action`, without the path's `/` or a version prefix. */
  action: string;
  headers: http.IncomingHttpHeaders;
  /** The JSON body, parsed; undefined when there was none. */
  body: any;
}

export interface EnvelopeAnswer {
  code: number;
  subcode: number;
  msg: string;
  data?: unknown;
  errorData?: Record<string, unknown>;
  errorStack?: string | null;
}

export type Answer =
  | { envelope: EnvelopeAnswer }
  /** Close the connection once the request has arrived: the answer is lost. */
  | { drop: true }
  /** Never answer. */
  | { hang: true }
  /** Answer `answer` after `ms` milliseconds. */
  | { after: number; answer: Answer }
  /** A body that is not an envelope (a proxy's error page, say). */
  | { raw: string; status: number; contentType?: string };

export type Handler = (req: Recorded) => Answer;

/** `200/0 OK` with `data`. */
export const ok = (data: unknown = {}): Answer => ({
  envelope: { code: 200, subcode: 0, msg: "OK", data },
});

/** An error envelope: `result_code`/`result_subcode`/`result_msg`, `error_data`. */
export const fail = (
  code: number,
  subcode: number,
  msg: string,
  errorData: Record<string, unknown> = {},
): Answer => ({
  envelope: {
    code,
    subcode,
    msg,
    data: {},
    errorData,
    errorStack: code >= 500 ? "Traceback (most recent call last): ..." : null,
  },
});

export const API_VERSION = "2.31";

/** A 32-hex id, as ClearML makes them (a uuid4 without dashes). */
export const hexId = (): string => randomBytes(16).toString("hex");

/** An unsigned JWT whose payload carries `exp` (epoch seconds): only the SDK reads it. */
export function jwt(expSec: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT" })}.${part({ exp: expSec, identity: {} })}.c2ln`;
}

export const ROUTE_ID = "7d4a0d6b0c1e4f2a9b3c5d6e7f8a9b0c";
export const TASK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
export const QUEUE_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
export const USER_ID = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
export const GROUP_ID = "c0ffee00c0ffee00c0ffee00c0ffee00";
export const RULE_ID = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";
export const COMPANY = "d1bd92a3b039400cbafc60a7a5b1e52b";

/** A route as `routers.get_routes` documents it, every field set, plus one unknown field. */
export const ROUTE = {
  id: ROUTE_ID,
  name: "llm-api",
  type: "path",
  path: "/llm",
  enabled: true,
  auth_enabled: true,
  load_balancer: { enabled: false },
  user_groups: [GROUP_ID],
  status: "active",
  urls: ["https://router-1.example.com/llm"],
  tasks: [
    {
      id: TASK_ID,
      name: "vllm serve",
      project: "0a0b0c0d0e0f10111213141516171819",
      app_id: "vllm",
      target: "10.0.0.7:8000",
    },
  ],
  created: "2025-05-01T10:00:00.000+00:00",
  last_update: "2025-05-02T11:30:00.000+00:00",
  updated_by: USER_ID,
  company: COMPANY,
};

const CREDENTIALS = {
  access_key: "GK4Q1UJ3T9WXAZB7",
  secret_key: "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
  expire: "2026-05-01T10:00:00.000+00:00",
  label: "ci",
};

const USER = {
  id: USER_ID,
  name: "alice",
  given_name: "Alice",
  family_name: "Liddell",
  company: COMPANY,
  created: "2025-01-01T00:00:00.000+00:00",
  email: "alice@example.com",
  role: "admin",
  sec_groups: [GROUP_ID],
  read_only: false,
};

/** A project as `projects.get_all` documents it. */
const PROJECT = {
  id: "0a0b0c0d0e0f10111213141516171819",
  name: "serving",
  basename: "serving",
  description: "",
  user: USER_ID,
  company: COMPANY,
  created: "2025-05-01T09:00:00.000+00:00",
  last_update: "2025-05-01T09:00:00.000+00:00",
  tags: [],
  system_tags: [],
  default_output_destination: null,
};

const TASK = {
  id: TASK_ID,
  name: "vllm serve",
  type: "application",
  status: "in_progress",
  status_reason: "",
  status_message: "",
  status_changed: "2025-05-02T11:00:00.000+00:00",
  project: "0a0b0c0d0e0f10111213141516171819",
  user: USER_ID,
  company: COMPANY,
  created: "2025-05-02T10:00:00.000+00:00",
  started: "2025-05-02T10:05:00.000+00:00",
  last_update: "2025-05-02T11:00:00.000+00:00",
  last_worker: "gpu-01:0",
  last_iteration: 0,
  execution: { queue: QUEUE_ID, parameters: {}, docker_cmd: null },
  script: { entry_point: "serve.py", binary: "python3", working_dir: ".", repository: "" },
  hyperparams: { General: { port: { section: "General", name: "port", value: "8000" } } },
  runtime: { _SERVICE: "EXTERNAL", _ADDRESS: "10.0.0.7", _PORT: "8000" },
  tags: [],
  system_tags: ["external_service"],
  parent: null,
};

const QUEUE = {
  id: QUEUE_ID,
  name: "default",
  display_name: "Default",
  company: COMPANY,
  user: USER_ID,
  created: "2025-01-01T00:00:00.000+00:00",
  last_update: "2025-05-02T10:00:00.000+00:00",
  tags: [],
  system_tags: ["default"],
  entries: [{ task: TASK_ID, added: "2025-05-02T10:01:00.000+00:00" }],
  metadata: {},
};

const WORKER_QUEUE = {
  id: QUEUE_ID,
  name: "default",
  display_name: "Default",
  next_task: null,
  num_tasks: 0,
};

/** A documented answer for every action ClearML documents (auth.login is handled apart). */
export const EXAMPLES = {
  "auth.login": { token: "unused" },
  "auth.create_credentials": { credentials: CREDENTIALS },
  "auth.revoke_credentials": { revoked: 1 },
  "auth.create_service_user": { id: "6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d", credentials: CREDENTIALS },
  "users.get_all": { users: [USER] },
  "users.get_vaults": { vaults: [], total: 0 },
  "users.get_current_user": {
    user: { ...USER, company: { id: COMPANY, name: "ACME", tier: "enterprise" } },
    sec_groups: [{ id: GROUP_ID, name: "ml-team" }],
    getting_started: {},
  },
  "users.delete": { deleted: true },
  "permissions.add_or_update_user_group": {
    id: GROUP_ID,
    name: "ml-team",
    system: false,
    assignable: true,
  },
  "permissions.get_user_groups": {
    groups: [
      {
        id: GROUP_ID,
        name: "ml-team",
        description: "ML engineers",
        system: false,
        assignable: true,
        users: [{ id: USER_ID, name: "alice", email: "alice@example.com" }],
        permissions: [],
      },
      {
        id: "0123456789abcdef0123456789abcdef",
        name: "Users",
        description: "All users",
        system: true,
        assignable: false,
        users: [],
        permissions: [],
      },
    ],
  },
  "permissions.delete_user_groups": { deleted: 1 },
  "permissions.add_or_update_access_rule": { id: RULE_ID, name: "llm-api access" },
  "permissions.get_access_rules": {
    rules: [
      {
        id: RULE_ID,
        name: "llm-api access",
        description: "ml-team may call llm-api",
        access_permission: "read_write",
        entity_type: "route",
        entity_id: ROUTE_ID,
        entity_name: "llm-api",
        entity_display_name: "llm-api",
        autocreated: false,
        metadata: {},
        groups: [{ id: GROUP_ID, name: "ml-team" }],
        users: [{ id: USER_ID, name: "alice", email: "alice@example.com" }],
      },
    ],
  },
  "permissions.delete_access_rules": { deleted: 1 },
  "routers.add_or_update_route": { id: ROUTE_ID },
  "routers.check_route_name": { available: true },
  "routers.set_route_enabled": {},
  "routers.delete_routes": { deleted: 1 },
  "routers.get_routes": { routes: [ROUTE] },
  "routers.get_task_routers": {
    routers: [
      {
        router: "router-1",
        url: "https://router-1.example.com",
        version: "1.4.0",
        uptime: 3600,
        last_update_timestamp: 1746180000,
        routes: [{ name: "llm-api", tasks: [TASK_ID] }],
        tasks: [{ id: TASK_ID, name: "vllm serve" }],
      },
    ],
  },
  "routers.task_router_report": {},
  "routers.unregister": {},
  "queues.create": { id: QUEUE_ID },
  "queues.get_all": { queues: [QUEUE], scroll_id: "scroll-1" },
  "queues.get_by_id": { queue: QUEUE },
  "queues.delete": { deleted: 1 },
  "queues.get_next_task": { entry: { task: TASK_ID, added: "2025-05-02T10:01:00.000+00:00" } },
  "workers.register": {},
  "workers.status_report": {},
  "workers.unregister": {},
  "workers.get_runtime_properties": { runtime_properties: [] },
  "workers.cluster_report": {},
  "workers.cluster_unregister": {},
  "workers.get_all": {
    workers: [
      {
        id: "gpu-01:0",
        key: "worker_d1bd92a3b039400cbafc60a7a5b1e52b___gpu-01:0",
        ip: "10.0.0.7",
        company: { id: COMPANY, name: "ACME" },
        user: { id: USER_ID, name: "alice" },
        register_time: "2025-05-02T09:00:00.000+00:00",
        last_activity_time: "2025-05-02T11:00:00.000+00:00",
        last_report_time: "2025-05-02T11:00:00.000+00:00",
        task: { id: TASK_ID, name: "vllm serve", running_time: 3300, last_iteration: 0 },
        project: { id: "0a0b0c0d0e0f10111213141516171819", name: "serving" },
        queue: WORKER_QUEUE,
        queues: [WORKER_QUEUE],
        tags: [],
        system_tags: [],
      },
    ],
  },
  "tasks.create": { id: TASK_ID },
  "tasks.get_by_id": { task: TASK },
  "tasks.get_all": { tasks: [TASK], scroll_id: "scroll-2" },
  "tasks.edit": { updated: 1, fields: { runtime: TASK.runtime } },
  "tasks.edit_runtime": { updated: 1 },
  "tasks.enqueue": {
    queued: 1,
    updated: 1,
    fields: { status: "queued", "execution.queue": QUEUE_ID },
    queue_watched: true,
  },
  "tasks.stop": { updated: 1, fields: { status: "stopped" } },
  "tasks.started": { updated: 1, fields: { status: "in_progress" }, started: 1 },
  "tasks.stopped": { updated: 1, fields: { status: "stopped" } },
  "tasks.completed": { updated: 1, fields: { status: "completed" } },
  "tasks.failed": { updated: 1, fields: { status: "failed" } },
  "tasks.ping": {},
  "tasks.dequeue": { dequeued: 1, updated: 1, fields: { status: "created" } },
  "tasks.set_requirements": {
    updated: 1,
    fields: { "script.requirements": { pip: "clearml==2.1.12" } },
  },
  "events.add": {},
  "events.add_batch": { added: 2, errors: 0, errors_info: null },
  "events.get_task_log": {
    events: [
      {
        timestamp: 1746180000000,
        type: "log",
        task: TASK_ID,
        iter: 0,
        level: "info",
        worker: "gpu-01:0",
        msg: "serving on :8000",
      },
      {
        timestamp: 1746180001000,
        type: "log",
        task: TASK_ID,
        iter: 0,
        level: "info",
        worker: "gpu-01:0",
        msg: "ready",
      },
    ],
    returned: 2,
    total: 2,
    scroll_id: "scroll-3",
  },
  "projects.create": { id: PROJECT.id },
  "projects.get_all": { projects: [PROJECT] },
  "projects.get_by_id": { project: PROJECT },
  "server.info": {
    version: "3.26.0",
    build: "512",
    commit: "8f3e1a2",
    api_version: API_VERSION,
    uid: "ce4e1a2b",
  },
} satisfies Record<DocumentedAction, unknown>;

/** Access keys the fake server accepts on `auth.login`. */
export const KEYS = { accessKey: "GK4Q1UJ3T9WXAZB7", secretKey: "the-secret-key-of-the-tests" };

export class FakeClearML {
  readonly requests: Recorded[] = [];
  url = "";
  /** Logins answered by the default `auth.login`; it hands out `token-1`, `token-2`... */
  logins = 0;
  /**
   * Bearer tokens the server accepts: the ones its `auth.login` handed out, and any a test adds.
   * A call with another token answers 401/30, as ClearML does for an expired token.
   */
  readonly tokens = new Set<string>();
  private readonly persistent = new Map<string, Handler>();
  private readonly queued = new Map<string, Handler[]>();
  private server: http.Server | undefined;

  static async start(): Promise<FakeClearML> {
    const fake = new FakeClearML();
    const server = http.createServer((req, res) => fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake.server = server;
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Forgets requests and overrides; every action answers its example again. */
  reset(): void {
    this.requests.length = 0;
    this.persistent.clear();
    this.queued.clear();
    this.tokens.clear();
    this.logins = 0;
  }

  /** Answers every later call of `action` this way. */
  on(action: string, answer: Answer | Handler): this {
    this.persistent.set(action, typeof answer === "function" ? answer : () => answer);
    return this;
  }

  /** Answers the next call of `action` this way (queued after earlier `once`s). */
  once(action: string, answer: Answer | Handler): this {
    const list = this.queued.get(action) ?? [];
    list.push(typeof answer === "function" ? answer : () => answer);
    this.queued.set(action, list);
    return this;
  }

  /** An `auth.login` answer handing out `token`, which the server then accepts. */
  grant(token: string): Answer {
    this.tokens.add(token);
    return ok({ token });
  }

  /** The recorded requests of `action`, in order. */
  calls(action: string): Recorded[] {
    return this.requests.filter((r) => r.action === action);
  }

  /** The only request of `action`; fails when there was none or more than one. */
  only(action: string): Recorded {
    const calls = this.calls(action);
    if (calls.length !== 1) {
      throw new Error(`expected one ${action} request, got ${calls.length}: ${this.actions()}`);
    }
    return calls[0]!;
  }

  /** The actions received, in order. */
  actions(): string[] {
    return this.requests.map((r) => r.action);
  }

  /** A client of this server, logging in with KEYS, retrying fast. */
  client(opts: Partial<ClientOptions> = {}): AppGatewayClient {
    return new AppGatewayClient({ apiHost: this.url, ...KEYS, retryDelayMs: 1, ...opts });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      const path = req.url ?? "/";
      const action = path.replace(/\?.*$/, "").replace(/^\/(v\d+\.\d+\/)?/, "");
      const recorded: Recorded = {
        method: req.method ?? "",
        path,
        action,
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      this.requests.push(recorded);
      this.send(req, res, action, this.answerFor(recorded));
    });
  }

  private send(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    action: string,
    answer: Answer,
  ): void {
    if ("after" in answer) {
      setTimeout(() => this.send(req, res, action, answer.answer), answer.after);
    } else if ("drop" in answer) {
      req.socket.destroy();
    } else if ("hang" in answer) {
      // Never answered; stop() closes the connection.
    } else if ("raw" in answer) {
      res.writeHead(answer.status, { "content-type": answer.contentType ?? "text/html" });
      res.end(answer.raw);
    } else {
      const e = answer.envelope;
      const body = {
        meta: {
          id: hexId(),
          trx: String(req.headers["x-clearml-trx"] ?? hexId()),
          endpoint: {
            name: action,
            requested_version: API_VERSION,
            actual_version: API_VERSION,
          },
          result_code: e.code,
          result_subcode: e.subcode,
          result_msg: e.msg,
          error_stack: e.errorStack ?? null,
          error_data: e.errorData ?? {},
        },
        data: e.data ?? {},
      };
      res.writeHead(e.code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    }
  }

  private answerFor(req: Recorded): Answer {
    if (req.action !== "auth.login") {
      const bearer = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ""))?.[1];
      if (!bearer) return fail(401, 20, "Missing authentication header");
      if (!this.tokens.has(bearer)) return fail(401, 30, "Invalid token");
    }
    const next = this.queued.get(req.action)?.shift();
    if (next) return next(req);
    const handler = this.persistent.get(req.action);
    if (handler) return handler(req);
    if (req.action === "auth.login") {
      const expected = `Basic ${Buffer.from(`${KEYS.accessKey}:${KEYS.secretKey}`).toString("base64")}`;
      if (req.headers.authorization !== expected) {
        return fail(401, 22, "Invalid credentials (unknown access key or wrong secret)");
      }
      const token = `token-${++this.logins}`;
      this.tokens.add(token);
      return ok({ token });
    }
    if (Object.prototype.hasOwnProperty.call(EXAMPLES, req.action)) {
      return ok(EXAMPLES[req.action as DocumentedAction]);
    }
    return fail(
      404,
      0,
      `Unable to find endpoint for name ${req.action} and version ${API_VERSION}`,
    );
  }
}

export { rejection } from "../helpers/async";
