// The typed client of ClearML's API, as the App Gateway uses it. Every method calls a documented
// endpoint (sdk/contract.ts names the reference page of each); the reference gateway's own
// `appgw` service is reached through ReferenceGatewayClient (sdk/reference.ts), never from here.
import { Core, type CallOptions, type ClientOptions } from "./core";
import type { ActionName, ActionRequest, ActionResponse } from "./contract";
import { appgwError } from "./errors";
import { AccessRulesApi, GroupsApi } from "./groups";
import { RoutersApi } from "./routers";
import { RoutesApi } from "./routes";
import { QueuesApi, TasksApi, WorkersApi } from "./tasks";
import { AuthApi, UsersApi } from "./users";

export * from "./errors";
export * from "./contract";
export { escapeRegex, routeAccess, type RouteAccess } from "./routes";
export {
  routeStatusLabel,
  TEST_REASONS,
  type RouteStatusFields,
  type RouteStatusLabel,
  type RouterTestResult,
} from "./vocabulary";
export { tokenExpiry } from "./core";
export { isSecureUrl, runRouterTest, type RouterTestOptions } from "./routerTest";
export type { ClientOptions, CallOptions } from "./core";

/** Actions ClearML documents: everything but the reference gateway's `appgw` service. */
export type DocumentedAction = Exclude<ActionName, `appgw.${string}`>;

export class AppGatewayClient {
  readonly routes: RoutesApi;
  readonly groups: GroupsApi;
  readonly accessRules: AccessRulesApi;
  readonly routers: RoutersApi;
  readonly tasks: TasksApi;
  readonly queues: QueuesApi;
  readonly workers: WorkersApi;
  readonly users: UsersApi;
  readonly auth: AuthApi;
  protected readonly core: Core;

  constructor(opts: ClientOptions) {
    this.core = new Core(opts);
    this.routes = new RoutesApi(this.core);
    this.groups = new GroupsApi(this.core);
    this.accessRules = new AccessRulesApi(this.core);
    this.routers = new RoutersApi(this.core);
    this.tasks = new TasksApi(this.core);
    this.queues = new QueuesApi(this.core);
    this.workers = new WorkersApi(this.core);
    this.users = new UsersApi(this.core);
    this.auth = new AuthApi(this.core);
  }

  /**
   * A client configured from `CLEARML_API_HOST`, `CLEARML_API_ACCESS_KEY` and
   * `CLEARML_API_SECRET_KEY`; explicit options win.
   */
  static fromEnv<T extends AppGatewayClient>(
    this: new (opts: ClientOptions) => T,
    overrides: Partial<ClientOptions> = {},
    env = process.env,
  ): T {
    const apiHost = overrides.apiHost ?? env.CLEARML_API_HOST;
    if (!apiHost) {
      throw appgwError("APPGW_INVALID_REQUEST", "CLEARML_API_HOST is not set", {
        field: "apiHost",
      });
    }
    return new this({
      accessKey: env.CLEARML_API_ACCESS_KEY,
      secretKey: env.CLEARML_API_SECRET_KEY,
      ...overrides,
      apiHost,
    });
  }

  get apiHost(): string {
    return this.core.apiHost;
  }

  /** Any documented action, typed. */
  call<A extends DocumentedAction>(
    action: A,
    body: ActionRequest<A>,
    opts?: CallOptions,
  ): Promise<ActionResponse<A>> {
    return this.core.call(action, body, opts);
  }

  /** `server.info`: the server's version, for capability checks. */
  serverInfo(): Promise<ActionResponse<"server.info">> {
    return this.core.call("server.info", {});
  }

  /** The current token, logging in first if needed. */
  token(): Promise<string> {
    return this.core.currentToken();
  }

  /**
   * A new token that expires within `seconds` (at least ClearML's 60; the server may shorten
   * it), leaving the client's own token alone: what to hand to a party that needs one briefly.
   */
  async shortLivedToken(seconds: number): Promise<string> {
    const expiration_sec = Math.max(60, Math.ceil(seconds));
    return (await this.core.call("auth.login", { expiration_sec })).token;
  }
}
