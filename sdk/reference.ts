// The reference gateway's own service (`appgw.*`): what ClearML does not publish and our
// gateway offers beside ClearML's API. Used by the reference router and agent, the demo and
// the tests; the provider and the public client (sdk/index.ts) never need it.
import type { ActionRequest, ActionResponse, RouterTestRecord } from "./contract";
import { ECHO_ENTRY_POINT, ROUTER_TEST } from "./contract";
import type { CallOptions } from "./core";
import { AppGatewayClient } from "./index";

export class ReferenceGatewayClient extends AppGatewayClient {
  /** A user with a key pair (ClearML's users come from its identity provider). */
  addUser(body: ActionRequest<"appgw.add_user">): Promise<ActionResponse<"appgw.add_user">> {
    return this.core.call("appgw.add_user", body);
  }
  /** Long poll: returns once the gateway's revision differs from `since`, or after `waitSec`. */
  async watch(since: number | undefined, waitSec: number, opts?: CallOptions): Promise<number> {
    return (await this.core.call("appgw.watch", { since, wait_sec: waitSec }, opts)).revision;
  }
  /** Long poll for a router's configuration, newer than `since`. */
  routerConfig(
    body: ActionRequest<"appgw.get_router_config">,
    opts?: CallOptions,
  ): Promise<ActionResponse<"appgw.get_router_config">> {
    return this.core.call("appgw.get_router_config", body, opts);
  }
  /**
   * Launches the reference agent's echo app on `queue` (created if missing), attached to the
   * static route `staticRoute` when given; returns the task id.
   */
  async startEcho(opts: { queue: string; name: string; staticRoute?: string; nonce?: string }) {
    const section = ROUTER_TEST.hyperparamSection;
    const param = (name: string, value: string) => ({ section, name, value });
    const queue = await this.queues.ensure(opts.queue);
    const task = await this.tasks.create({
      name: opts.name,
      type: "application",
      script: { entry_point: ECHO_ENTRY_POINT },
      hyperparams: {
        [section]: {
          ...(opts.nonce
            ? { [ROUTER_TEST.nonceParam]: param(ROUTER_TEST.nonceParam, opts.nonce) }
            : {}),
          ...(opts.staticRoute
            ? {
                [ROUTER_TEST.staticRouteParam]: param(
                  ROUTER_TEST.staticRouteParam,
                  opts.staticRoute,
                ),
              }
            : {}),
        },
      },
    });
    await this.tasks.enqueue(task, queue);
    return task;
  }

  /**
   * A token of the caller's that expires within `seconds` (and never after the caller's own): what
   * a client holding only a token hands to a party that needs one briefly.
   */
  async shortToken(seconds: number): Promise<string> {
    const expiration_sec = Math.max(1, Math.ceil(seconds));
    return (await this.core.call("appgw.short_token", { expiration_sec })).token;
  }

  /**
   * The latest test of each router (or of these), derived from the router-test tasks; with
   * `withLog: false`, without their logs.
   */
  async routerTests(
    routers?: string[],
    opts: { withLog?: boolean } = {},
  ): Promise<RouterTestRecord[]> {
    const body = {
      ...(routers ? { routers } : {}),
      ...(opts.withLog === false ? { with_log: false } : {}),
    };
    return (await this.core.call("appgw.get_router_tests", body)).tests;
  }
}
