// The typed client of the gateway's control API.
import { Core, type CallOptions, type ClientOptions } from "./core";
import type { ActionName, ActionRequest, ActionResponse } from "./contract";
import { appgwError } from "./errors";
import { GroupsApi } from "./groups";
import { RoutersApi } from "./routers";
import { RoutesApi } from "./routes";
import { QueuesApi, TasksApi } from "./tasks";
import { UsersApi } from "./users";

export * from "./errors";
export * from "./contract";
export type { ClientOptions, CallOptions } from "./core";

export class AppGatewayClient {
  readonly routes: RoutesApi;
  readonly groups: GroupsApi;
  readonly routers: RoutersApi;
  readonly tasks: TasksApi;
  readonly queues: QueuesApi;
  readonly users: UsersApi;
  private readonly core: Core;

  constructor(opts: ClientOptions) {
    this.core = new Core(opts);
    this.routes = new RoutesApi(this.core);
    this.groups = new GroupsApi(this.core);
    this.routers = new RoutersApi(this.core);
    this.tasks = new TasksApi(this.core);
    this.queues = new QueuesApi(this.core);
    this.users = new UsersApi(this.core);
  }

  /**
   * A client configured from `CLEARML_API_HOST`, `CLEARML_API_ACCESS_KEY` and
   * `CLEARML_API_SECRET_KEY`; explicit options win.
   */
  static fromEnv(overrides: Partial<ClientOptions> = {}, env = process.env): AppGatewayClient {
    const apiHost = overrides.apiHost ?? env.CLEARML_API_HOST;
    if (!apiHost) {
      throw appgwError("APPGW_INVALID_REQUEST", "CLEARML_API_HOST is not set", {
        field: "apiHost",
      });
    }
    return new AppGatewayClient({
      accessKey: env.CLEARML_API_ACCESS_KEY,
      secretKey: env.CLEARML_API_SECRET_KEY,
      ...overrides,
      apiHost,
    });
  }

  get apiHost(): string {
    return this.core.apiHost;
  }

  /** Any action of the contract, typed. */
  call<A extends ActionName>(
    action: A,
    body: ActionRequest<A>,
    opts?: CallOptions,
  ): Promise<ActionResponse<A>> {
    return this.core.call(action, body, opts);
  }

  /** The current token, logging in first if needed. */
  token(): Promise<string> {
    return this.core.currentToken();
  }
}
