// The router's own pages under `/_appgw/`: login (a form that trades access and secret keys for
// a token through the control API and stores it in the auth cookie), logout and health. They are
// served on every host, so a browser on a subdomain route logs in on that host and gets a
// host-only cookie there.
//
// Signing in and out changes the browser's session, so both are POSTs that must come from the
// page's own origin: another site must not log a victim out (an `<img src>` would, on a GET),
// nor into the attacker's account (login CSRF). Failed sign-ins are limited per access key and
// browser address, and per address (gateway/login-guard.ts), here where the browser's address is
// known; the control API counts the browser too (`loginTransport`).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AxiosInstance } from "axios";
import type { Logger } from "pino";
import { AppGatewayClient, tokenExpiry } from "@appgw/sdk";
import { LoginGuard, type LoginLimits } from "../login-guard";
import { serializeCookie } from "../cookies";
import { escapeHtml } from "../html";
import { requestSite, safeNext } from "../same-origin";
import { errorFields, sendError } from "./errors";
import { INTERNAL_PREFIX, LOGIN_PATH } from "./resolve";

const LOGOUT_PATH = `${INTERNAL_PREFIX}/logout`;
const HEALTH_PATH = `${INTERNAL_PREFIX}/health`;
const MAX_FORM_BYTES = 16 * 1024;

const ALLOWED_METHODS = new Map<string, readonly string[]>([
  [HEALTH_PATH, ["GET", "HEAD"]],
  [LOGIN_PATH, ["GET", "HEAD", "POST"]],
  // GET shows a page whose button POSTs.
  [LOGOUT_PATH, ["GET", "HEAD", "POST"]],
]);
/** Answers of `auth.login` that mean the keys are wrong, not that the API is down. */
const REFUSED = new Set([
  "APPGW_INVALID_CREDENTIALS",
  "APPGW_BAD_CREDENTIALS",
  "APPGW_UNAUTHORIZED",
  "APPGW_INVALID_REQUEST",
]);

export interface InternalPagesOptions {
  apiHost: string;
  cookieName: string;
  secureCookies: boolean;
  /** The scheme browsers reach the router by (of its external URL): part of its origin. */
  proto: string;
  /** Failed sign-ins allowed per browser address; each unset one keeps its default. */
  loginLimits?: Partial<LoginLimits>;
  /**
   * How `auth.login` reaches the control API for the browser at `address`, so that the API's
   * limits count that browser and not the router. Default: over HTTP to `apiHost`, naming the
   * browser in `X-Forwarded-For`, which the API believes only from the peers listed in its
   * APPGW_TRUSTED_PROXIES. The embedded gateway calls its API in-process, as the browser.
   */
  loginTransport?: (address: string) => AxiosInstance;
  /** The body of `/_appgw/health` besides `status`. */
  health(): Record<string, unknown>;
  logger: Logger;
}

/** The router's pages share one frame: only the title, the form and its style differ. */
function page(title: string, style: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} - App Gateway</title>
<style>
body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
button{margin-top:1rem;padding:.5rem 1rem}${style}
</style>
</head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>
`;
}

function loginPage(next: string, message: string | null): string {
  const notice = message === null ? "" : `<p class="error" role="alert">${escapeHtml(message)}</p>`;
  return page(
    "Sign in",
    "\nlabel{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}\n.error{color:#b00020}",
    `${notice}
<form method="post" action="${LOGIN_PATH}">
<label for="access_key">Access key</label>
<input id="access_key" name="access_key" autocomplete="username" required autofocus>
<label for="secret_key">Secret key</label>
<input id="secret_key" name="secret_key" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Sign in</button>
</form>`,
  );
}

function logoutPage(): string {
  return page(
    "Sign out",
    "",
    `<form method="post" action="${LOGOUT_PATH}">
<button type="submit">Sign out</button>
</form>`,
  );
}

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

function sendPage(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...PAGE_HEADERS, ...headers, "content-length": Buffer.byteLength(html) });
  res.end(html);
}

function redirect(res: ServerResponse, location: string, cookie?: string): void {
  const headers: Record<string, string> = { location, "cache-control": "no-store" };
  if (cookie !== undefined) headers["set-cookie"] = cookie;
  res.writeHead(303, headers);
  res.end();
}

function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Too large: answer now (with `Connection: close`) and let the rest of the body drain.
      if (size > MAX_FORM_BYTES) resolve(null);
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

/** 429 with the form again: a person reads the message, a client the `Retry-After`. */
function tooManyAttempts(res: ServerResponse, next: string, retryAfterSec?: number): void {
  const minutes = retryAfterSec === undefined ? undefined : Math.ceil(retryAfterSec / 60);
  const when = minutes === undefined ? "later" : `in ${minutes} minute${minutes === 1 ? "" : "s"}`;
  sendPage(
    res,
    429,
    loginPage(next, `Too many failed sign-ins. Try again ${when}.`),
    retryAfterSec === undefined ? {} : { "retry-after": String(retryAfterSec) },
  );
}

export class InternalPages {
  private readonly logins: LoginGuard;

  constructor(private readonly opts: InternalPagesOptions) {
    this.logins = new LoginGuard(opts.loginLimits);
  }

  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: string,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const allowed = ALLOWED_METHODS.get(path);
    if (allowed === undefined) {
      sendError(res, "APPGW_NO_ROUTE");
    } else if (!allowed.includes(method)) {
      sendError(res, "APPGW_METHOD_NOT_ALLOWED", `${method} is not allowed on ${path}`, {
        allow: allowed.join(", "),
      });
    } else if (path === HEALTH_PATH) {
      const body = JSON.stringify({ status: "ok", ...this.opts.health() });
      res.writeHead(200, {
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(body);
    } else if (method === "POST" && requestSite(req.headers, this.opts.proto) === "cross-origin") {
      sendError(res, "APPGW_FORBIDDEN", `cross-origin ${method} of ${path} refused`);
    } else if (path === LOGOUT_PATH) {
      if (method === "POST") redirect(res, LOGIN_PATH, this.cookie("", 0));
      else sendPage(res, 200, logoutPage());
    } else if (method === "POST") {
      await this.login(req, res);
    } else {
      const next = safeNext(new URLSearchParams(query.slice(1)).get("next"));
      sendPage(res, 200, loginPage(next, null));
    }
  }

  /** `maxAge` undefined: a session cookie. */
  private cookie(value: string, maxAge: number | undefined): string {
    return serializeCookie(this.opts.cookieName, value, {
      path: "/",
      secure: this.opts.secureCookies,
      maxAge,
    });
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    if (form === null) {
      sendPage(res, 413, loginPage("/", "The form is too large."), { connection: "close" });
      return;
    }
    const next = safeNext(form.get("next"));
    const accessKey = form.get("access_key")?.trim() ?? "";
    const secretKey = form.get("secret_key") ?? "";
    if (!accessKey || !secretKey) {
      sendPage(res, 401, loginPage(next, "Enter your access key and secret key."));
      return;
    }
    const address = req.socket.remoteAddress ?? "";
    const retryAfter = await this.logins.attempt(accessKey, address);
    if (retryAfter > 0) {
      tooManyAttempts(res, next, retryAfter);
      return;
    }
    const client = new AppGatewayClient({
      apiHost: this.opts.apiHost,
      accessKey,
      secretKey,
      maxRetries: 0,
      ...(this.opts.loginTransport
        ? { transport: this.opts.loginTransport(address) }
        : { headers: { "x-forwarded-for": address } }),
    });
    try {
      // `auth.login` answers only `{token}` (ClearML's contract): the cookie lives as long as
      // the token's `exp` says, or for the browser session when the token carries none. The
      // control API's own cookie would land here, not in the browser: ask for none.
      const { token } = await client.call("auth.login", { set_cookie: false });
      await this.logins.succeeded(accessKey, address);
      const exp = tokenExpiry(token);
      redirect(
        res,
        next,
        this.cookie(token, exp === undefined ? undefined : (exp - Date.now()) / 1000),
      );
    } catch (err) {
      const { code, statusCode, details } = err as {
        code?: unknown;
        statusCode?: unknown;
        details?: { retry_after?: unknown };
      };
      if (statusCode === 429) {
        const wait = details?.retry_after;
        tooManyAttempts(res, next, typeof wait === "number" ? wait : undefined);
        return;
      }
      if (typeof code === "string" && REFUSED.has(code)) {
        sendPage(res, 401, loginPage(next, "Wrong access key or secret key."));
        return;
      }
      this.opts.logger.warn({ error: errorFields(err) }, "login: the control API did not answer");
      sendPage(
        res,
        502,
        loginPage(next, "The gateway cannot reach its control API. Try again shortly."),
      );
    }
  }
}
