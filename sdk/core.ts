// The request core every API area goes through: one `call(service.action, body)` that logs in,
// renews the token, retries only where it is safe, and parses the answer with the contract.
import axios, { AxiosError, type AxiosInstance } from "axios";
import {
  actions,
  envelope,
  type ActionName,
  type ActionRequest,
  type ActionResponse,
} from "./contract";
import { appgwError, AppGatewayError, isErrorCode, type ErrorCode } from "./errors";

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
  /** Retries of safe calls after a failure. Default 3. */
  maxRetries?: number;
  /** First backoff delay, doubled on every retry (with jitter). Default 200 ms. */
  retryDelayMs?: number;
  /** An axios instance to send requests with (tests, proxies, custom agents). */
  transport?: AxiosInstance;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Reads: safe to retry after any failure. Everything else retries only if nothing was sent. */
function isSafeToRetry(action: ActionName): boolean {
  const name = action.split(".")[1] ?? "";
  return name.startsWith("get_") || name === "heartbeat";
}

/** Connection failures that prove the request never reached the server. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Core {
  readonly apiHost: string;
  private readonly http: AxiosInstance;
  private readonly opts: ClientOptions;
  private token: string | undefined;
  private login: Promise<string> | undefined;

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
    const maxRetries = this.opts.maxRetries ?? 3;
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const token = action === "auth.login" ? undefined : await this.currentToken();
        return await this.send(action, body, token, callOpts);
      } catch (err) {
        if (!(err instanceof AppGatewayError)) throw err;
        const expired = err.code === "APPGW_TOKEN_EXPIRED" || err.code === "APPGW_UNAUTHORIZED";
        if (expired && !renewed && this.canLogin() && action !== "auth.login") {
          // Log in again once; a renewal does not count as a retry.
          renewed = true;
          this.token = undefined;
          attempt--;
          continue;
        }
        const retryable =
          err.code === "APPGW_CONNECTION" &&
          (isSafeToRetry(action) || NOT_SENT.has(String(err.details.cause)));
        if (!retryable || attempt >= maxRetries || callOpts.signal?.aborted) throw err;
        const base = (this.opts.retryDelayMs ?? 200) * 2 ** attempt;
        await sleep(base / 2 + Math.random() * base);
      }
    }
  }

  /** Logs in (once at a time) and returns the token. */
  async currentToken(): Promise<string> {
    if (this.token) return this.token;
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
    const headers: Record<string, string> = {};
    if (action === "auth.login") {
      const basic = Buffer.from(`${this.opts.accessKey}:${this.opts.secretKey}`).toString("base64");
      headers.authorization = `Basic ${basic}`;
    } else if (token) {
      headers.authorization = `Bearer ${token}`;
    }
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
    const parsed = envelope.safeParse(res.data);
    if (!parsed.success) {
      const e = appgwError(
        "APPGW_BAD_RESPONSE",
        `${action}: HTTP ${res.status} without a ClearML envelope from ${this.apiHost}`,
      );
      e.endpoint = action;
      throw e;
    }
    const { meta, data } = parsed.data;
    if (meta.result_code !== 200) {
      const code: ErrorCode = isErrorCode(meta.error_data.code)
        ? meta.error_data.code
        : "APPGW_INTERNAL";
      const e = appgwError(code, meta.result_msg, meta.error_data);
      e.requestId = meta.id;
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
      e.requestId = meta.id;
      e.endpoint = action;
      throw e;
    }
    return out.data as ActionResponse<A>;
  }
}
