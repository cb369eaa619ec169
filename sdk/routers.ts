import type { ActionRequest, Router } from "./contract";
import type { Core } from "./core";

/** Registered routers (`routers.get_task_routers`, `task_router_report`, `unregister`). */
export class RoutersApi {
  constructor(private readonly core: Core) {}

  async list(body: ActionRequest<"routers.get_task_routers"> = {}): Promise<Router[]> {
    return (await this.core.call("routers.get_task_routers", body)).routers;
  }
  /** The router registered under this id (its `ROUTER_NAME`), or undefined. */
  async find(router: string): Promise<Router | undefined> {
    return (await this.list()).find((r) => r.router === router);
  }
  /** Registration and heartbeat, sent by a router. */
  async report(body: ActionRequest<"routers.task_router_report">): Promise<void> {
    await this.core.call("routers.task_router_report", body);
  }
  async unregister(router: string): Promise<void> {
    await this.core.call("routers.unregister", { router });
  }
}
