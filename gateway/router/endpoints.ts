// Endpoint write-back: ClearML's router tells a task where it is reachable by writing the runtime
// properties `endpoint` and `browser_endpoint` (suffixed per endpoint name) onto the task, and
// takes them off when it stops routing there. Calls are made only for what changed, one at a
// time; a failed write is retried by the next flush (every heartbeat).
import type { Logger } from "pino";
import type { AppGatewayClient } from "@appgw/sdk";
import { hasCode } from "@appgw/sdk/errors";
import { errorFields } from "./errors";
import { isEndpointKey } from "./report";

/** By task id, the endpoint properties and their values. */
export type EndpointProps = Record<string, Record<string, string>>;

export class EndpointWriter {
  private desired: EndpointProps = {};
  /**
   * What each task carries from this router, as far as it knows. Only its own writes (and what a
   * task carried when first seen) count: comparing with every fresh read instead would make two
   * routers serving one task overwrite each other forever.
   */
  private readonly written = new Map<string, Map<string, string>>();
  private flushing: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly client: { tasks: Pick<AppGatewayClient["tasks"], "editRuntime"> },
    private readonly logger: Logger,
  ) {}

  /**
   * The endpoint properties a task carries now, read with the configuration: a task this router
   * has not written yet (first seen, or seen again after a restart) is written only if they
   * differ, and stale endpoint keys of a task it serves are removed.
   */
  seen(task: string, runtime: Readonly<Record<string, unknown>>): void {
    if (this.written.has(task)) return;
    const props = new Map<string, string>();
    for (const [key, value] of Object.entries(runtime)) {
      if (isEndpointKey(key) && typeof value === "string") props.set(key, value);
    }
    if (props.size > 0) this.written.set(task, props);
  }

  /** What the tasks should carry from now on; tasks left out should carry nothing of ours. */
  set(desired: EndpointProps): void {
    this.desired = desired;
  }

  /** Writes what differs; resolves when the tasks match `desired` or a write failed. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.again = false;
          await this.writeAll();
        } while (this.again);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    const tasks = new Set([...Object.keys(this.desired), ...this.written.keys()]);
    for (const task of tasks) {
      const want = this.desired[task] ?? {};
      const have = this.written.get(task) ?? new Map<string, string>();
      const add = Object.fromEntries(Object.entries(want).filter(([k, v]) => have.get(k) !== v));
      const remove = [...have.keys()].filter((k) => !(k in want));
      if (Object.keys(add).length === 0 && remove.length === 0) continue;
      try {
        // `force`: the task is running (or already ended), never in `created`.
        await this.client.tasks.editRuntime(task, add, remove, true);
      } catch (err) {
        if (!hasCode(err, "APPGW_TASK_NOT_FOUND")) {
          this.logger.warn(
            { error: errorFields(err), task },
            "endpoint write-back failed; retrying with the next heartbeat",
          );
          continue;
        }
        // The task is gone, and with it anything to write or remove.
      }
      if (Object.keys(want).length > 0) this.written.set(task, new Map(Object.entries(want)));
      else this.written.delete(task);
    }
  }
}
