// The router's link to the control plane: registration and heartbeats (`routers.
// task_router_report`, which are one and the same call), the configuration long poll
// (`appgw.get_router_config`), the write-back of endpoints onto tasks, and `routers.unregister`
// on a clean stop. Routers keep no state of their own: every heartbeat carries the whole status,
// so a control plane that lost the router (restarted, or timed it out) has it back within one.
import { setTimeout as wait } from "node:timers/promises";
import type { Logger } from "pino";
import type { ActionResponse } from "@appgw/sdk/contract";
import { hasCode } from "@appgw/sdk/errors";
import type { ReferenceGatewayClient } from "@appgw/sdk/reference";
import type { EndpointWriter } from "./endpoints";
import { errorFields } from "./errors";
import type { TableReport } from "./report";

export type RouterConfigAnswer = ActionResponse<"appgw.get_router_config">;

export interface Registration {
  /** `ROUTER_NAME`: the router's id on the control plane. */
  router: string;
  /** `ROUTER_URL`. */
  url: string;
  version: string;
}

export interface WatcherOptions {
  client: Pick<ReferenceGatewayClient, "call" | "routerConfig">;
  logger: Logger;
  registration: Registration;
  /** Applies a configuration and returns what the resulting table routes. */
  apply(config: RouterConfigAnswer): Promise<TableReport>;
  endpoints: EndpointWriter;
  /** Default HEARTBEAT_MS. */
  heartbeatMs?: number;
}

export const HEARTBEAT_MS = 5_000;
/** The control plane drops a router silent this long: several missed heartbeats. */
export const TIMEOUT_SEC = 30;
/** Below the SDK's 30 s call timeout plus this wait, and below common proxy idle timeouts. */
const WAIT_SEC = 25;
const MAX_BACKOFF_MS = 2_000;
/** A control plane that answers long polls at once must not make the router spin. */
const MIN_POLL_MS = 1_000;
/** A stopping router does not wait longer than this for the control plane to hear it leave. */
const UNREGISTER_TIMEOUT_MS = 2_000;

/** Failures worth waiting out; anything else (bad credentials, invalid body) is fatal. */
function isTransient(err: unknown): boolean {
  return (
    hasCode(err, "APPGW_CONNECTION") ||
    hasCode(err, "APPGW_BAD_RESPONSE") ||
    hasCode(err, "APPGW_INTERNAL")
  );
}

export class ConfigWatcher {
  /** The revision applied; null asks the next poll for the full configuration at once. */
  private revision: number | null = null;
  private readonly stopping = new AbortController();
  private readonly startedAt = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;
  /** What the table routes: the `routes` and `tasks` of the status report. */
  private routed: Pick<TableReport, "routes" | "tasks"> = { routes: [], tasks: [] };
  /** `routed` as last accepted by the control plane, serialised. */
  private lastReported: string | null = null;
  private reporting: Promise<void> | null = null;
  private reportAgain = false;
  private markReady!: () => void;
  private failReady!: (err: Error) => void;
  /** Settles when the first configuration is applied (or the watcher stops before that). */
  readonly ready: Promise<void>;

  constructor(private readonly opts: WatcherOptions) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => {}); // a caller that never awaits `ready` must not see an unhandled rejection
  }

  /** Registers (waiting out an unreachable control plane), then heartbeats and follows the config. */
  async start(): Promise<void> {
    await this.registerUntilDone();
    this.heartbeatTimer = setInterval(
      () => this.heartbeat(),
      this.opts.heartbeatMs ?? HEARTBEAT_MS,
    );
    this.heartbeatTimer.unref();
    this.following = this.follow();
  }

  /**
   * Stops following and reporting. `unregister`: a clean shutdown, the control plane forgets the
   * router at once instead of at its timeout. The endpoints written stay on the tasks: replicas
   * of this router (same name, same URL) may go on serving them.
   */
  async stop(unregister: boolean): Promise<void> {
    this.stopping.abort();
    clearInterval(this.heartbeatTimer);
    this.failReady(new Error("the router stopped before its first configuration"));
    await this.following;
    await this.reporting;
    if (!unregister) return;
    await this.opts.client
      .call(
        "routers.unregister",
        { router: this.opts.registration.router },
        { timeoutMs: UNREGISTER_TIMEOUT_MS },
      )
      .catch((err: unknown) =>
        this.opts.logger.warn({ error: errorFields(err) }, "could not unregister"),
      );
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async registerUntilDone(): Promise<void> {
    for (let delay = 100; ; delay = Math.min(delay * 2, MAX_BACKOFF_MS)) {
      try {
        await this.sendReport();
        this.opts.logger.info({ router: this.opts.registration.router }, "router registered");
        return;
      } catch (err) {
        if (this.stopped || !isTransient(err)) throw err;
        this.opts.logger.warn({ error: errorFields(err) }, "registration failed; retrying");
        await this.pause(delay);
      }
    }
  }

  /** One `routers.task_router_report` with the current status: registration and heartbeat. */
  private async sendReport(): Promise<void> {
    const routed = this.routed;
    const now = Date.now();
    await this.opts.client.call(
      "routers.task_router_report",
      {
        ...this.opts.registration,
        timeout: TIMEOUT_SEC,
        status: {
          uptime: Math.floor((now - this.startedAt) / 1000),
          last_update_timestamp: Math.floor(now / 1000),
          tasks: routed.tasks,
          routes: routed.routes,
        },
      },
      { signal: this.stopping.signal },
    );
    this.lastReported = JSON.stringify(routed);
  }

  /** Reports the current status, one call at a time; a failure waits for the next heartbeat. */
  private report(): void {
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = (async () => {
      try {
        do {
          this.reportAgain = false;
          await this.sendReport();
        } while (this.reportAgain && !this.stopped);
      } catch (err) {
        if (!this.stopped) {
          this.opts.logger.warn(
            { error: errorFields(err) },
            "router report failed; retrying with the next heartbeat",
          );
        }
      } finally {
        this.reporting = null;
      }
    })();
  }

  private heartbeat(): void {
    if (this.stopped) return;
    this.report();
    void this.opts.endpoints.flush(); // retries a write-back that failed
  }

  private async follow(): Promise<void> {
    const { client, registration } = this.opts;
    let backoff = 0;
    while (!this.stopped) {
      const started = Date.now();
      try {
        const since = this.revision;
        const body =
          since === null
            ? { router: registration.router, wait_sec: 0 }
            : { router: registration.router, since, wait_sec: WAIT_SEC };
        const config = await client.routerConfig(body, { signal: this.stopping.signal });
        backoff = 0;
        if (config.revision !== since) {
          const report = await this.opts.apply(config);
          this.revision = config.revision;
          this.markReady();
          this.routed = { routes: report.routes, tasks: report.tasks };
          // Sent at once when it changed (it sets the routes' status, URLs and targets); the
          // heartbeat sends it anyway.
          if (JSON.stringify(this.routed) !== this.lastReported) this.report();
          this.opts.endpoints.set(report.endpoints);
          void this.opts.endpoints.flush();
        } else if (Date.now() - started < MIN_POLL_MS) {
          await this.pause(MIN_POLL_MS);
        }
      } catch (err) {
        if (this.stopped) return;
        this.opts.logger.warn({ error: errorFields(err) }, "configuration poll failed");
        // The control plane may have forgotten the router (restarted, or timed it out): a
        // report registers it again.
        if (!isTransient(err)) this.report();
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 100 : backoff * 2);
        await this.pause(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  }

  /** Waits, or returns early when the watcher stops. */
  private pause(ms: number): Promise<void> {
    return wait(ms, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }
}
