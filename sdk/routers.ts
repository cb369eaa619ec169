import type { ActionRequest, ActionResponse, Router, RouterTest } from "./contract";
import type { CallOptions, Core } from "./core";
import { appgwError } from "./errors";
import { escapeRegex } from "./routes";

/** Routers: registration and the watch they follow (`routers.*`), and router tests. */
export class RoutersApi {
  constructor(private readonly core: Core) {}

  async list(filter: ActionRequest<"routers.get_all"> = {}): Promise<Router[]> {
    return (await this.core.call("routers.get_all", filter)).routers;
  }
  async findByName(name: string): Promise<Router | undefined> {
    return (await this.list({ name: `^${escapeRegex(name)}$` }))[0];
  }
  async getByName(name: string): Promise<Router> {
    const found = await this.findByName(name);
    if (!found) {
      throw appgwError("APPGW_ROUTER_NOT_FOUND", `no router named '${name}' has registered`, {
        field: "router",
      });
    }
    return found;
  }
  async delete(router: string): Promise<void> {
    await this.core.call("routers.delete", { router });
  }

  register(body: ActionRequest<"routers.register">): Promise<{ id: string }> {
    return this.core.call("routers.register", body);
  }
  async heartbeat(router: string): Promise<void> {
    await this.core.call("routers.heartbeat", { router });
  }
  /** Long poll: returns once the configuration is newer than `since`, or after `wait_sec`. */
  getConfig(
    body: ActionRequest<"routers.get_config">,
    opts?: CallOptions,
  ): Promise<ActionResponse<"routers.get_config">> {
    return this.core.call("routers.get_config", body, opts);
  }
  async report(body: ActionRequest<"routers.report">): Promise<void> {
    await this.core.call("routers.report", body);
  }

  /** Starts a router test; returns the test task's id. */
  async startTest(body: ActionRequest<"routers.start_test">): Promise<string> {
    return (await this.core.call("routers.start_test", body)).task;
  }
  async getTest(router: string): Promise<RouterTest> {
    return (await this.core.call("routers.get_test", { router })).test;
  }
  /** Polls the latest test of `router` until it is no longer running. */
  async waitForTest(
    router: string,
    opts: { pollMs?: number; onProgress?: (t: RouterTest) => void } = {},
  ): Promise<RouterTest> {
    for (;;) {
      const test = await this.getTest(router);
      opts.onProgress?.(test);
      if (test.status !== "running") return test;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
  }
}
