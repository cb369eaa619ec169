// Which of the configuration's services this router serves. A task pinned to a router by its
// `_ROUTER` runtime property is served by that router only, whatever its queue; any other task
// by the routers listening to its queue (`LISTEN_QUEUE_NAME`; none listed: every queue). The
// control plane already leaves out tasks pinned to other routers, but its configuration does not
// say which tasks are pinned to this one, so the router reads the tasks' runtime properties,
// which the endpoint write-back needs anyway. It reads each task once, when the task
// first appears: a route change then costs no extra call.
import type { AppGatewayClient } from "@appgw/sdk";
import { RUNTIME, type ServiceConfig } from "@appgw/sdk/contract";

/** Ids per `tasks.get_all`: the contract takes at most 1000. */
const TASK_BATCH = 500;

export interface Selection {
  services: ServiceConfig[];
  /** The runtime properties of every task served, by task id. */
  runtimes: Map<string, Readonly<Record<string, unknown>>>;
}

export class ServiceSelector {
  private readonly queues: ReadonlySet<string>;
  /** The runtime properties of the tasks of the last configuration, read when each appeared. */
  private readonly known = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(
    private readonly client: { tasks: Pick<AppGatewayClient["tasks"], "list"> },
    /** `ROUTER_NAME`, as `_ROUTER` names it. */
    private readonly router: string,
    /** `LISTEN_QUEUE_NAME`. */
    queueNames: readonly string[],
  ) {
    this.queues = new Set(queueNames);
  }

  async select(services: readonly ServiceConfig[]): Promise<Selection> {
    const ids = new Set(services.map((s) => s.task));
    for (const id of this.known.keys()) if (!ids.has(id)) this.known.delete(id);
    const unread = [...ids].filter((id) => !this.known.has(id));
    if (unread.length) for (const [id, rt] of await this.runtimes(unread)) this.known.set(id, rt);
    const runtimes = new Map(this.known);
    const serves = (s: ServiceConfig): boolean => {
      const runtime = runtimes.get(s.task);
      // A task that vanished between the configuration and this read serves nothing.
      if (runtime === undefined) return false;
      const pinned = runtime[RUNTIME.router];
      if (typeof pinned === "string" && pinned !== "") return pinned === this.router;
      return this.queues.size === 0 || this.queues.has(s.queue ?? "");
    };
    const served = services.filter(serves);
    const servedIds = new Set(served.map((s) => s.task));
    for (const id of runtimes.keys()) if (!servedIds.has(id)) runtimes.delete(id);
    return { services: served, runtimes };
  }

  private async runtimes(ids: string[]): Promise<Map<string, Readonly<Record<string, unknown>>>> {
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += TASK_BATCH) batches.push(ids.slice(i, i + TASK_BATCH));
    const lists = await Promise.all(
      batches.map((batch) =>
        this.client.tasks.list({
          id: batch,
          only_fields: ["id", "runtime"],
          // One page holds the whole batch: the server's default page may be smaller.
          page: 0,
          page_size: batch.length,
        }),
      ),
    );
    return new Map(lists.flat().map((t) => [t.id, t.runtime ?? {}]));
  }
}
