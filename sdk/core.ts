// The request core every API area goes through: one `call(service.action, body)` that logs in,
// renews the token, retries only where it is safe, and parses the answer with the contract.
import axios, { AxiosError, type AxiosInstance } from "axios";
import { appendFileSync } from "node:fs";
import {
  actions,
  envelope,
  type ActionName,
  type ActionRequest,
  type ActionResponse,
} from "./contract";
import { appgwError, AppGatewayError, classify, isAuthFailure } from "./errors";

export interface ClientOptions {
  /** Base URL of the control API (`CLEARML_API_HOST`). */
  apiHost: string;
  /** Credentials for `auth.login` (`CLEARML_API_ACCESS_KEY` / `CLEARML_API_SECRET_KEY`). */
  accessKey?: string;
  secretKey?: string;
  /** A token to use as is; renewed from the credentials when it expires, if they are given. */
  token?: string;
  /** Per-call timeout; long polls add their wait to it. Default 30 s. */
  timeoutMs?: number;
  /**
   * Retries of safe calls after a failure: a lost connection, or a 429, 502, 503 or 504 answer
   * (a proxy's or a busy server's, whatever its body). Default 3.
   */
  maxRetries?: number;
  /** First backoff delay, doubled on every retry (with jitter). Default 200 ms. */
  retryDelayMs?: number;
  /** An axios instance to send requests with (tests, proxies, custom agents). */
  transport?: AxiosInstance;
  /** Headers sent with every call, such as a proxy's `X-Forwarded-For`. */
  headers?: Record<string, string>;
  /**
   * After the server proved unreachable (retries spent) or refused the credentials, fail every
   * call at once with that same error for this long, instead of each call finding out again.
   * For short-lived clients such as a Pulumi run; default 0 (off).
   */
  failFastMs?: number;
  /**
   * Called once each call that may change the server's state has settled, answered or not (a
   * lost answer may hide a change): for callers that cache reads, such as the Pulumi provider.
   */
  afterWrite?: (action: ActionName, body: unknown, answer?: unknown) => void;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Headers for this call only, over the client's `headers`; never `authorization`, which the
   * core sets. For a marker that concerns one call, such as the provider's `X-Appgw-Managed-By`.
   */
  headers?: Record<string, string>;
}

/** Calls that change nothing on the server (a login only hands out a token). */
const READ_ONLY: ReadonlySet<ActionName> = new Set<ActionName>([
  "auth.login",
  "users.get_all",
  "users.get_current_user",
  "permissions.get_user_groups",
  "permissions.get_access_rules",
  "routers.get_routes",
  "routers.check_route_name",
  "routers.get_task_routers",
  "queues.get_all",
  "queues.get_by_id",
  "workers.get_all",
  "tasks.get_by_id",
  "tasks.get_all",
  "events.get_task_log",
  "server.info",
  "appgw.watch",
  "appgw.get_router_config",
  "appgw.get_router_tests",
  "appgw.short_token",
]);

/**
 * Calls that are safe to retry after any failure: reads and idempotent reports. Listed by name,
 * not guessed from a `get_` prefix: `queues.get_next_task` takes the task it returns off the
 * queue, so a retry after a lost answer would lose that task.
 */
const SAFE_TO_RETRY: ReadonlySet<ActionName> = new Set<ActionName>([
  ...READ_ONLY,
  "routers.task_router_report",
  "workers.status_report",
]);

/**
 * Statuses that say "not now" rather than "no": a proxy whose upstream is down or restarting
 * (502, 503, 504, usually with an HTML or plain-text page of its own, not ClearML's envelope)
 * or a rate limit (429). A safe call is tried again after them, as after a lost connection.
 */
const TRY_AGAIN_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * The longest `Retry-After` the SDK waits before a retry. A server asking for longer (the
 * gateway's login limit asks for up to 15 min) gets the error at once: a caller such as a
 * Pulumi run should not hang that long on one call.
 */
const MAX_RETRY_AFTER_SEC = 30;

/** Renew a token this long before the `exp` it carries, when it carries one. */
const RENEW_BEFORE_MS = 60_000;

/** The `exp` claim of a JWT in ms, or undefined when the token is not a readable JWT. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, "base64url").toString()) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Connection failures that prove the request never reached the server. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * `APPGW_SDK_TRACE=<file>` appends every action called to the file: the end-to-end suite uses
 * it to prove the provider calls only documented endpoints.
 */
const TRACE_FILE = process.env.APPGW_SDK_TRACE;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A `Retry-After` header in seconds: delay-seconds or an HTTP date; undefined when unreadable. */
function retryAfterSec(header: unknown): number | undefined {
  if (typeof header !== "string" || !header.trim()) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds : undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** The error a call ends with when its retries stop: the last answer's, saying why they stopped. */
function retriesEnded(err: AppGatewayError, why: string): AppGatewayError {
  const e = appgwError(err.code, `${err.message} (${why})`, err.details, {
    status: err.statusCode,
    subcode: err.subcode,
  });
  if (err.requestId) e.requestId = err.requestId;
  if (err.endpoint) e.endpoint = err.endpoint;
  return e;
}

export class Core {
  readonly apiHost: string;
  private readonly http: AxiosInstance;
  private readonly opts: ClientOptions;
  private token: string | undefined;
  private login: Promise<string> | undefined;
  /** The failure every call repeats until `failFastMs` has passed (see ClientOptions). */
  private down: { err: AppGatewayError; until: number } | undefined;

  constructor(opts: ClientOptions) {
    if (!opts.apiHost)
      throw appgwError("APPGW_INVALID_REQUEST", "apiHost is required", { field: "apiHost" });
    this.opts = opts;
    this.apiHost = opts.apiHost.replace(/\/+$/, "");
    this.token = opts.token;
    this.http =
      opts.transport ??
      axios.create({
        baseURL: this.apiHost,
        timeout: opts.timeoutMs ?? 30_000,
        // Errors are read from the envelope, whatever the status.
        validateStatus: () => true,
        headers: { "content-type": "application/json" },
      });
  }

  /** Calls `service.action` and returns its parsed `data`. */
  async call<A extends ActionName>(
    action: A,
    body: ActionRequest<A>,
    callOpts: CallOptions = {},
  ): Promise<ActionResponse<A>> {
    if (this.down && Date.now() < this.down.until) throw this.down.err;
    let answer: ActionResponse<A> | undefined;
    try {
      return (answer = await this.attempt(action, body, callOpts));
    } catch (err) {
      // The server is not there (refused, no such host), or refuses who we are: neither
      // changes within a run. A lost answer does not count: the caller recovers from it.
      const fatal =
        err instanceof AppGatewayError &&
        ((err.code === "APPGW_CONNECTION" && NOT_SENT.has(String(err.details.cause))) ||
          (action === "auth.login" && isAuthFailure(err)));
      if (fatal && this.opts.failFastMs) {
        this.down = { err, until: Date.now() + this.opts.failFastMs };
      }
      throw err;
    } finally {
      if (!READ_ONLY.has(action)) this.opts.afterWrite?.(action, body, answer);
    }
  }

  /** One call, with its token renewal and retries. */
  private async attempt<A extends ActionName>(
    action: A,
    body: ActionRequest<A>,
    callOpts: CallOptions,
  ): Promise<ActionResponse<A>> {
    const maxRetries = this.opts.maxRetries ?? 3;
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      let token: string | undefined;
      try {
        token = action === "auth.login" ? undefined : await this.currentToken();
        return await this.send(action, body, token, callOpts);
      } catch (err) {
        if (!(err instanceof AppGatewayError)) throw err;
        // ClearML's token carries no expiry field: any 401 may be an expired token. A 401 of
        // the login itself is not: logging in again would only repeat it.
        if (
          isAuthFailure(err) &&
          !renewed &&
          this.canLogin() &&
          action !== "auth.login" &&
          err.endpoint !== "auth.login"
        ) {
          // Log in again once; a renewal does not count as a retry.
          renewed = true;
          // Concurrent calls may have renewed it already: drop only the token that failed.
          if (this.token === token) this.token = undefined;
          attempt--;
          continue;
        }
        // A write is repeated only when it cannot have arrived: a proxy's 502 or 504 may come
        // after the server carried it out.
        const retryable = SAFE_TO_RETRY.has(action)
          ? err.code === "APPGW_CONNECTION" || TRY_AGAIN_STATUSES.has(err.statusCode)
          : err.code === "APPGW_CONNECTION" && NOT_SENT.has(String(err.details.cause));
        if (!retryable || callOpts.signal?.aborted) throw err;
        if (attempt >= maxRetries) {
          throw attempt ? retriesEnded(err, `gave up after ${attempt + 1} tries`) : err;
        }
        const asked = typeof err.details.retry_after === "number" ? err.details.retry_after : 0;
        if (asked > MAX_RETRY_AFTER_SEC) {
          throw retriesEnded(
            err,
            `the server asked to wait ${asked} s, longer than the ${MAX_RETRY_AFTER_SEC} s the SDK waits`,
          );
        }
        const base = (this.opts.retryDelayMs ?? 200) * 2 ** attempt;
        await sleep(Math.max(base / 2 + Math.random() * base, asked * 1000));
      }
    }
  }

  /** Logs in (once at a time) and returns the token. */
  async currentToken(): Promise<string> {
    if (this.token) {
      const exp = tokenExpiry(this.token);
      const stale = exp !== undefined && exp - Date.now() < RENEW_BEFORE_MS && this.canLogin();
      if (!stale) return this.token;
      this.token = undefined;
    }
    if (!this.canLogin()) {
      throw appgwError(
        "APPGW_UNAUTHORIZED",
        "no token and no credentials: set accessKey and secretKey",
      );
    }
    this.login ??= this.call("auth.login", {})
      .then((data) => (this.token = data.token))
      .finally(() => (this.login = undefined));
    return this.login;
  }

  private canLogin(): boolean {
    return Boolean(this.opts.accessKey && this.opts.secretKey);
  }

  private async send<A extends ActionName>(
    action: A,
    body: ActionRequest<A>,
    token: string | undefined,
    callOpts: CallOptions,
  ): Promise<ActionResponse<A>> {
    const headers: Record<string, string> = { ...this.opts.headers, ...callOpts.headers };
    if (action === "auth.login") {
      const basic = Buffer.from(`${this.opts.accessKey}:${this.opts.secretKey}`).toString("base64");
      headers.authorization = `Basic ${basic}`;
    } else if (token) {
      headers.authorization = `Bearer ${token}`;
    }
    if (TRACE_FILE) appendFileSync(TRACE_FILE, `${action}\n`);
    const waitSec = (body as { wait_sec?: number }).wait_sec ?? 0;
    let res;
    try {
      res = await this.http.post(`/${action}`, body, {
        headers,
        timeout: callOpts.timeoutMs ?? (this.opts.timeoutMs ?? 30_000) + waitSec * 1000,
        signal: callOpts.signal,
      });
    } catch (err) {
      // Keep the cause's code, never the request config: it carries the Authorization header.
      const cause = err instanceof AxiosError ? (err.code ?? err.message) : String(err);
      const e = appgwError(
        "APPGW_CONNECTION",
        `${action}: cannot reach ${this.apiHost} (${cause})`,
        {
          cause,
        },
      );
      e.endpoint = action;
      throw e;
    }
    // How long the server (or a proxy) asks to be left alone, in the error's details as the
    // gateway's own `error_data.retry_after`: the retries honour it, a caller may show it.
    const retryAfter = retryAfterSec(res.headers["retry-after"]);
    const waitFor = retryAfter === undefined ? {} : { retry_after: retryAfter };
    const parsed = envelope.safeParse(res.data);
    if (!parsed.success) {
      const e = appgwError(
        "APPGW_BAD_RESPONSE",
        `${action}: HTTP ${res.status} without a ClearML envelope from ${this.apiHost}`,
        waitFor,
        { status: res.status, subcode: 0 },
      );
      e.endpoint = action;
      throw e;
    }
    const { meta, data } = parsed.data;
    if (meta.result_code !== 200) {
      const subcode = meta.result_subcode ?? 0;
      const message = meta.result_msg || `HTTP ${meta.result_code}/${subcode}`;
      const e = appgwError(
        classify(meta.result_code, subcode),
        `${action}: ${message}`,
        { ...(meta.error_data ?? {}), result_msg: message, ...waitFor },
        { status: meta.result_code, subcode },
      );
      if (meta.id) e.requestId = meta.id;
      e.endpoint = action;
      throw e;
    }
    const out = actions[action].response.safeParse(data);
    if (!out.success) {
      const issue = out.error.issues[0];
      const e = appgwError(
        "APPGW_BAD_RESPONSE",
        `${action}: response field '${issue?.path.join(".")}' ${issue?.message ?? "is invalid"}`,
        { field: issue?.path.join(".") },
      );
      if (meta.id) e.requestId = meta.id;
      e.endpoint = action;
      throw e;
    }
    return out.data as ActionResponse<A>;
  }
}
