// The router's link to the control plane: registration, heartbeats, the configuration long poll
// and reports. Routers keep no state of their own, so a router that was deleted (or whose
// control plane lost it) registers again and rebuilds everything from a full configuration.
import type { Logger } from "pino";
import type { AppGatewayClient } from "../../sdk";
import type { ActionRequest, ActionResponse } from "../../sdk/contract";
import { hasCode } from "../../sdk/errors";
import { errorFields } from "./errors";
import type { RouterReport } from "./report";

export type RouterConfigAnswer = ActionResponse<"routers.get_config">;

export interface WatcherOptions {
  client: AppGatewayClient;
  logger: Logger;
  /** Applies a configuration and returns the report describing the result. */
  apply(config: RouterConfigAnswer): Promise<RouterReport>;
}

const HEARTBEAT_MS = 10_000;
/** Below the SDK's 30 s call timeout plus this wait, and below common proxy idle timeouts. */
const WAIT_SEC = 25;
const MAX_BACKOFF_MS = 2_000;
/** A control plane that answers long polls at once must not make the router spin. */
const MIN_POLL_MS = 1_000;

/** Failures worth waiting out; anything else (bad credentials, invalid body) is fatal. */
function isTransient(err: unknown): boolean {
  return (
    hasCode(err, "APPGW_CONNECTION") ||
    hasCode(err, "APPGW_BAD_RESPONSE") ||
    hasCode(err, "APPGW_INTERNAL")
  );
}

export class ConfigWatcher {
  private routerId = "";
  /** The revision applied; null asks the next poll for the full configuration at once. */
  private revision: number | null = null;
  private readonly stopping = new AbortController();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;
  private registration: ActionRequest<"routers.register"> | undefined;
  private registering: Promise<void> | null = null;
  /** The last report the control plane accepted, serialised. */
  private lastReport: string | null = null;
  private pendingReport: RouterReport | null = null;
  private reporting = false;
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

  get id(): string {
    return this.routerId;
  }

  /** Registers (waiting out an unreachable control plane), then heartbeats and follows the config. */
  async start(registration: ActionRequest<"routers.register">): Promise<void> {
    this.registration = registration;
    await this.register();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
    this.following = this.follow();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.heartbeatTimer);
    this.failReady(new Error("the router stopped before its first configuration"));
    await this.following;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private register(): Promise<void> {
    this.registering ??= this.registerUntilDone().finally(() => (this.registering = null));
    return this.registering;
  }

  private async registerUntilDone(): Promise<void> {
    for (let delay = 100; ; delay = Math.min(delay * 2, MAX_BACKOFF_MS)) {
      try {
        const { id } = await this.opts.client.routers.register(this.registration!);
        this.routerId = id;
        // A new registration starts from nothing on the control plane's side.
        this.revision = null;
        this.lastReport = null;
        this.opts.logger.info({ id }, "router registered");
        return;
      } catch (err) {
        if (this.stopped || !isTransient(err)) throw err;
        this.opts.logger.warn({ error: errorFields(err) }, "registration failed; retrying");
        await this.pause(delay);
      }
    }
  }

  /** After a failed call: registers again if the control plane forgot this router, else logs. */
  private async recover(err: unknown, what: string): Promise<void> {
    if (hasCode(err, "APPGW_ROUTER_NOT_FOUND")) {
      this.opts.logger.warn("the control plane no longer knows this router; registering again");
      await this.register().catch((e: unknown) =>
        this.opts.logger.error({ error: errorFields(e) }, "re-registration failed"),
      );
    } else {
      this.opts.logger.warn({ error: errorFields(err) }, what);
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.opts.client.routers.heartbeat(this.routerId);
    } catch (err) {
      if (this.stopped) return;
      await this.recover(err, "heartbeat failed");
    }
    void this.flushReport(); // retries a report that failed
  }

  private async follow(): Promise<void> {
    let backoff = 0;
    while (!this.stopped) {
      const started = Date.now();
      try {
        const since = this.revision;
        const body =
          since === null
            ? { router: this.routerId, wait_sec: 0 }
            : { router: this.routerId, since, wait_sec: WAIT_SEC };
        const config = await this.opts.client.routers.getConfig(body, {
          signal: this.stopping.signal,
        });
        backoff = 0;
        if (config.revision !== since) {
          const report = await this.opts.apply(config);
          this.revision = config.revision;
          this.markReady();
          this.pendingReport = report;
          void this.flushReport();
        } else if (Date.now() - started < MIN_POLL_MS) {
          await this.pause(MIN_POLL_MS);
        }
      } catch (err) {
        if (this.stopped) return;
        await this.recover(err, "configuration poll failed");
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 100 : backoff * 2);
        await this.pause(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  }

  /** Sends the latest report unless the control plane already has it; one call at a time. */
  private async flushReport(): Promise<void> {
    if (this.reporting) return;
    this.reporting = true;
    try {
      while (this.pendingReport !== null && !this.stopped) {
        const report = this.pendingReport;
        const key = JSON.stringify(report);
        if (key !== this.lastReport) {
          try {
            await this.opts.client.routers.report({ router: this.routerId, ...report });
            this.lastReport = key;
          } catch (err) {
            this.opts.logger.warn(
              { error: errorFields(err) },
              "report failed; retrying with the next heartbeat",
            );
            return;
          }
        }
        if (this.pendingReport === report) this.pendingReport = null;
      }
    } finally {
      this.reporting = false;
    }
  }

  /** Waits, or returns early when the watcher stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopping.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
