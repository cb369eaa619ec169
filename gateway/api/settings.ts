// The control API's settings: what each one bounds, its default and its `APPGW_*` variable
// (read by `apiSettingsFromEnv` for `npm start`; the embedded gateway and tests pass them as
// options). Every problem is reported at once, naming the variable or the option.
import { isIP } from "node:net";
import { appgwError } from "@appgw/sdk/errors";
import type { ConsoleOptions } from "../console";
import type { LoginLimits } from "../login-guard";

export interface ApiSettings {
  /**
   * `APPGW_TOKEN_TTL_SEC`: lifetime of tokens from `auth.login`, and the most `expiration_sec`
   * may ask for. Default 24 h; never above MAX_TOKEN_TTL_SEC.
   */
  tokenTtlSec?: number;
  /** Failed logins allowed (gateway/login-guard.ts); each unset one keeps its default. */
  loginLimits?: Partial<LoginLimits>;
  /**
   * `APPGW_TRUSTED_PROXIES`: peers whose `X-Forwarded-*` headers the API believes (fastify's
   * `trustProxy`: addresses, CIDR ranges, `loopback`...): `X-Forwarded-For` names the client for
   * the login limits, `X-Forwarded-Proto`/`-Host` the settings page's origin. Default none: from
   * any other peer they are a client's word, and on loopback every local process (the tasks an
   * agent runs there too) is a client. The embedded router's login page needs no trust: it calls
   * in-process, as the browser (gateway/inject-transport.ts).
   */
  trustedProxies?: string[];
  /** `APPGW_FILTER_BUDGET_MS`: what one query may spend matching name patterns (the Store's). */
  filterBudgetMs?: number;
  /** How long a client may take to send its request, or stay silent. */
  timeouts?: Partial<ApiTimeouts>;
  /**
   * The settings page at /ui (gateway/console): `APPGW_CONSOLE=off` turns it off;
   * `APPGW_CONSOLE_INSECURE_TESTS=true` lets it test routers over plain HTTP.
   */
  console?: ConsoleOptions | false;
}

/**
 * What a slow client may hold the API for: every one is cut within 60 s, while the long polls
 * (`appgw.watch`, `appgw.get_router_config`, up to LONG_POLL_MAX_SEC of silence) go on.
 */
export interface ApiTimeouts {
  /** `APPGW_API_HEADERS_TIMEOUT`: the request line and headers must arrive within this. */
  headersSec: number;
  /** `APPGW_API_REQUEST_TIMEOUT`: the whole request, body included, must arrive within this. */
  requestSec: number;
  /**
   * `APPGW_API_IDLE_TIMEOUT`: a connection with no byte either way is closed after this, between
   * requests too; above LONG_POLL_MAX_SEC.
   */
  idleSec: number;
}

const DEFAULT_TIMEOUTS: ApiTimeouts = {
  // mod_reqtimeout's `header=20`, as the router: a real client sends its headers at once.
  headersSec: 20,
  // A body is at most 1 MiB: 30 s is 35 KB/s, far below any network an API client uses.
  requestSec: 30,
  // A long poll answers within 30 s; the margin covers the answer's own time.
  idleSec: 45,
};

/** The longest a long poll waits before answering (`wait_sec`, sdk/contract.ts). */
const LONG_POLL_MAX_SEC = 30;
/** The cap on `APPGW_TOKEN_TTL_SEC`: a stolen token is not good for longer, whatever the setting. */
export const MAX_TOKEN_TTL_SEC = 7 * 86_400;
// ClearML's agent renews a token with less than 12 h left (api.auth.token_expiration_threshold_sec
// 43200): with 12 h tokens it logged in again before every call, once a second.
const DEFAULT_TOKEN_TTL_SEC = 24 * 3600;
/** ClearML's least `expiration_sec`. */
const MIN_TOKEN_TTL_SEC = 60;
/** Durations are at most a day (Node's timers stop at 24.8 days), as the router's. */
const MAX_SECONDS = 86_400;

type Issue = [field: string, reason: string];

function invalid(what: string, issues: Issue[]) {
  const [field, reason] = issues[0]!;
  return appgwError(
    "APPGW_INVALID_REQUEST",
    `${what}: ${issues.map(([f, r]) => `${f} ${r}`).join("; ")}`,
    { field, reason },
  );
}

const idleProblem = (sec: number): string | undefined =>
  sec > LONG_POLL_MAX_SEC
    ? undefined
    : `must be above ${LONG_POLL_MAX_SEC} s (long polls are silent that long), got ${sec}`;

/** The settings buildApp runs with: defaults filled in, the bounds checked. */
export function resolveApiSettings(s: ApiSettings): {
  tokenTtlSec: number;
  timeouts: ApiTimeouts;
  trustedProxies: string[];
} {
  const tokenTtlSec = s.tokenTtlSec ?? DEFAULT_TOKEN_TTL_SEC;
  const timeouts: ApiTimeouts = {
    headersSec: s.timeouts?.headersSec ?? DEFAULT_TIMEOUTS.headersSec,
    requestSec: s.timeouts?.requestSec ?? DEFAULT_TIMEOUTS.requestSec,
    idleSec: s.timeouts?.idleSec ?? DEFAULT_TIMEOUTS.idleSec,
  };
  const issues: Issue[] = [];
  if (!(
    Number.isInteger(tokenTtlSec) &&
    tokenTtlSec >= MIN_TOKEN_TTL_SEC &&
    tokenTtlSec <= MAX_TOKEN_TTL_SEC
  )) {
    issues.push([
      "tokenTtlSec",
      `must be a whole number of seconds from ${MIN_TOKEN_TTL_SEC} to ${MAX_TOKEN_TTL_SEC} (7 days), got ${tokenTtlSec}`,
    ]);
  }
  const idle = idleProblem(timeouts.idleSec);
  if (idle) issues.push(["timeouts.idleSec", idle]);
  // Node refuses a headers timeout longer than the request's, with a message naming neither.
  if (timeouts.headersSec > timeouts.requestSec) {
    issues.push([
      "timeouts.headersSec",
      `must not exceed the request timeout (${timeouts.requestSec} s; APPGW_API_HEADERS_TIMEOUT <= APPGW_API_REQUEST_TIMEOUT), got ${timeouts.headersSec}`,
    ]);
  }
  if (issues.length > 0) throw invalid("invalid API options", issues);
  return { tokenTtlSec, timeouts, trustedProxies: s.trustedProxies ?? [] };
}

/** The settings given by `APPGW_*` variables; unset ones keep their defaults. */
export function apiSettingsFromEnv(env: NodeJS.ProcessEnv): ApiSettings {
  const issues: Issue[] = [];
  const get = (key: string): string | undefined => env[key]?.trim() || undefined;
  const whole = (key: string, min: number, max: number): number | undefined => {
    const raw = get(key);
    if (raw === undefined) return undefined;
    const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) {
      issues.push([key, `must be a whole number from ${min} to ${max}, got '${raw}'`]);
    }
    return n;
  };
  const seconds = (key: string): number | undefined => {
    const raw = get(key);
    if (raw === undefined) return undefined;
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(n > 0 && n <= MAX_SECONDS)) {
      issues.push([key, `must be a number of seconds above 0 to ${MAX_SECONDS}, got '${raw}'`]);
    }
    return n;
  };

  const rawProxies = get("APPGW_TRUSTED_PROXIES");
  const trustedProxies =
    rawProxies === undefined
      ? undefined
      : rawProxies === "none"
        ? []
        : rawProxies.split(",").map((p) => p.trim());
  for (const proxy of trustedProxies ?? []) {
    if (!isProxyAddress(proxy)) {
      issues.push([
        "APPGW_TRUSTED_PROXIES",
        `must be 'none' or a comma-separated list of addresses, CIDR ranges (10.0.0.0/8) or loopback, linklocal, uniquelocal; got '${proxy}'`,
      ]);
    }
  }
  const timeouts = {
    headersSec: seconds("APPGW_API_HEADERS_TIMEOUT"),
    requestSec: seconds("APPGW_API_REQUEST_TIMEOUT"),
    idleSec: seconds("APPGW_API_IDLE_TIMEOUT"),
  };
  const idle = timeouts.idleSec === undefined ? undefined : idleProblem(timeouts.idleSec);
  if (idle) issues.push(["APPGW_API_IDLE_TIMEOUT", idle]);
  const flag = (key: string, values: [on: string, off: string]): boolean | undefined => {
    const raw = get(key)?.toLowerCase();
    if (raw === undefined) return undefined;
    if (raw !== values[0] && raw !== values[1]) {
      issues.push([key, `must be '${values[0]}' or '${values[1]}', got '${raw}'`]);
    }
    return raw === values[0];
  };
  const consoleOn = flag("APPGW_CONSOLE", ["on", "off"]);
  const insecureTests = flag("APPGW_CONSOLE_INSECURE_TESTS", ["true", "false"]);
  const settings: ApiSettings = {
    tokenTtlSec: whole("APPGW_TOKEN_TTL_SEC", MIN_TOKEN_TTL_SEC, MAX_TOKEN_TTL_SEC),
    loginLimits: {
      perKey: whole("APPGW_LOGIN_FAILURES_PER_KEY", 1, 1_000_000),
      perAddress: whole("APPGW_LOGIN_FAILURES_PER_ADDRESS", 1, 1_000_000),
      windowSec: whole("APPGW_LOGIN_WINDOW_SEC", 1, MAX_SECONDS),
    },
    trustedProxies,
    filterBudgetMs: whole("APPGW_FILTER_BUDGET_MS", 1, 60_000),
    timeouts,
    console: consoleOn === false ? false : { insecureTests },
  };
  if (issues.length > 0) throw invalid("invalid API settings", issues);
  return settings;
}

/** An address, a CIDR range or one of proxy-addr's names, as fastify's `trustProxy` takes. */
function isProxyAddress(value: string): boolean {
  if (["loopback", "linklocal", "uniquelocal"].includes(value)) return true;
  const [address, bits, ...rest] = value.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  return (
    bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
  );
}
