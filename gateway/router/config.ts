// The router's configuration, read from the env contract of ClearML's router so one deployment
// recipe can run either. Every problem is collected and reported in one error.
import { isIP } from "node:net";
import { routeName } from "@appgw/sdk/contract";
import { appgwError } from "@appgw/sdk/errors";
import { DEFAULT_LOGIN_LIMITS, type LoginLimits } from "../login-guard";
import { AFFINITY_COOKIE_PREFIX } from "./affinity";
import { parseSize, type RouterLimits } from "./limits";

export interface TcpConfig {
  /** Address advertised in `tcp://<address>:<port>` endpoints (`TCP_ROUTER_ADDRESS`). */
  address: string;
  /** Inclusive port range handed out to TCP services (`TCP_PORT_START`..`TCP_PORT_END`). */
  portStart: number;
  portEnd: number;
}

export interface RouterConfig {
  /** `ROUTER_NAME`: unique per tenant. */
  name: string;
  /**
   * `ROUTER_URL`: the external URL, without a trailing slash. Undefined means
   * `http://localhost:<actual listen port>`, which is what port 0 in tests needs.
   */
  url?: string;
  /** `ROUTER__WEBSERVER__SERVER_PORT`; 0 picks a free port. */
  port: number;
  /** `ROUTER_HOST`: the listen address. */
  host: string;
  /** `ROUTER_DOMAIN`: parent domain of subdomain routes (`llm.<domain>`), lower case. */
  domain: string;
  /** `CLEARML_API_HOST`, without a trailing slash. */
  apiHost: string;
  accessKey: string;
  secretKey: string;
  /** `AUTH_COOKIE_NAME`: the cookie holding the user's token. */
  cookieName: string;
  /** `AUTH_SECURE_ENABLED`: `Secure` flag on the cookies the router sets. */
  secureCookies: boolean;
  /** `LISTEN_QUEUE_NAME`: queues whose tasks this router serves; empty serves every queue. */
  queues: string[];
  /** Raw TCP forwarding; null when `TCP_PORT_START`/`TCP_PORT_END` are not set. */
  tcp: TcpConfig | null;
  /** What a client may cost the router (the `APPGW_*` settings of limits.ts). */
  limits: RouterLimits;
  /** Failed sign-ins allowed on the login page (`APPGW_LOGIN_*`, as the API's). */
  loginLimits: LoginLimits;
  /**
   * `APPGW_TARGET_FAIL_TIMEOUT`: how long a target that could not be connected to is
   * skipped by load balancing before it is probed again.
   */
  targetFailTimeoutMs: number;
}

interface Issue {
  field: string;
  reason: string;
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** RFC 6265 cookie-name: an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Durations are at most a day (Node's timers stop at 24.8 days). */
const MAX_SECONDS = 86_400;
const SIZE_FORMAT = "a size such as 512k, 10m or 1g (bytes, or k/m/g/t for KiB/MiB/GiB/TiB)";

export function routerConfigFromEnv(env: NodeJS.ProcessEnv): RouterConfig {
  const issues: Issue[] = [];
  const get = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value ? value : undefined;
  };
  const port = (key: string, fallback: number | undefined): number | undefined => {
    const raw = get(key);
    if (raw === undefined) return fallback;
    const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= 0 && n <= 65535)) {
      issues.push({ field: key, reason: `must be a port number 0-65535, got '${raw}'` });
      return fallback;
    }
    return n;
  };
  const url = (key: string, isRequired: boolean): string | undefined => {
    const raw = get(key);
    if (raw === undefined) {
      if (isRequired) issues.push({ field: key, reason: "is required" });
      return undefined;
    }
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      // reported below
    }
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      issues.push({ field: key, reason: `must be an http(s) URL, got '${raw}'` });
      return undefined;
    }
    if (parsed.search || parsed.hash) {
      issues.push({ field: key, reason: "must not have a query or fragment" });
    }
    return raw.replace(/\/+$/, "");
  };
  const required = (key: string): string => {
    const value = get(key);
    if (value === undefined) issues.push({ field: key, reason: "is required" });
    return value ?? "";
  };
  /** Seconds (fractions allowed) as milliseconds; `zeroDisables`: 0 is allowed. */
  const seconds = (key: string, fallback: number, zeroDisables: boolean): number => {
    const raw = get(key);
    if (raw === undefined) return fallback * 1000;
    const ms = /^\d+(\.\d+)?$/.test(raw) ? Math.round(Number(raw) * 1000) : NaN;
    if (!(ms >= (zeroDisables ? 0 : 1) && ms <= MAX_SECONDS * 1000)) {
      issues.push({
        field: key,
        reason: `must be a number of seconds ${zeroDisables ? "from 0 (off)" : "above 0"} to ${MAX_SECONDS}, got '${raw}'`,
      });
      return fallback * 1000;
    }
    return ms;
  };
  const size = (key: string, fallback: string): number => {
    const raw = get(key) ?? fallback;
    const bytes = parseSize(raw);
    if (bytes === null) issues.push({ field: key, reason: `must be ${SIZE_FORMAT}, got '${raw}'` });
    return bytes ?? parseSize(fallback)!;
  };
  const count = (key: string, fallback: number): number => {
    const raw = get(key);
    if (raw === undefined) return fallback;
    const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(n)) {
      issues.push({ field: key, reason: `must be a whole number, 0 for no limit, got '${raw}'` });
      return fallback;
    }
    return n;
  };
  const routeSizes = (key: string): Map<string, number> => {
    const sizes = new Map<string, number>();
    for (const entry of (get(key) ?? "").split(",")) {
      if (entry.trim() === "") continue;
      const eq = entry.indexOf("=");
      const name = entry.slice(0, eq).trim();
      const bytes = eq === -1 ? null : parseSize(entry.slice(eq + 1));
      if (!routeName.safeParse(name).success || bytes === null) {
        issues.push({
          field: key,
          reason: `must be a comma-separated list of <route name>=<size> (such as 'llm=10g,upload=50g'), each size ${SIZE_FORMAT}; got '${entry.trim()}'`,
        });
      } else if (sizes.has(name)) {
        issues.push({ field: key, reason: `names route '${name}' twice` });
      } else {
        sizes.set(name, bytes);
      }
    }
    return sizes;
  };

  const listenPort = port("ROUTER__WEBSERVER__SERVER_PORT", 8080) ?? 8080;
  const routerUrl =
    url("ROUTER_URL", false) ?? (listenPort === 0 ? undefined : `http://localhost:${listenPort}`);
  const apiHost = url("CLEARML_API_HOST", true);
  const accessKey = required("CLEARML_API_ACCESS_KEY");
  const secretKey = required("CLEARML_API_SECRET_KEY");

  const name = get("ROUTER_NAME") ?? "router-1";
  if (name.length > 128) {
    issues.push({ field: "ROUTER_NAME", reason: "must be at most 128 characters" });
  }

  const domain = (get("ROUTER_DOMAIN") ?? "localhost").toLowerCase().replace(/\.$/, "");
  if (!DNS_NAME.test(domain)) {
    issues.push({ field: "ROUTER_DOMAIN", reason: `must be a DNS name, got '${domain}'` });
  }

  const cookieName = get("AUTH_COOKIE_NAME") ?? "appgw_token";
  if (!COOKIE_NAME.test(cookieName) || cookieName.startsWith(AFFINITY_COOKIE_PREFIX)) {
    issues.push({
      field: "AUTH_COOKIE_NAME",
      reason: `must be a cookie name (letters, digits, '_', '-', ...) not starting with '${AFFINITY_COOKIE_PREFIX}', got '${cookieName}'`,
    });
  }

  const secureRaw = (get("AUTH_SECURE_ENABLED") ?? "false").toLowerCase();
  if (secureRaw !== "true" && secureRaw !== "false") {
    issues.push({
      field: "AUTH_SECURE_ENABLED",
      reason: `must be 'true' or 'false', got '${secureRaw}'`,
    });
  }

  const queues = (get("LISTEN_QUEUE_NAME") ?? "").split(/\s+/).filter(Boolean);

  const tcpStart = port("TCP_PORT_START", undefined);
  const tcpEnd = port("TCP_PORT_END", undefined);
  let tcp: TcpConfig | null = null;
  if ((tcpStart === undefined) !== (tcpEnd === undefined)) {
    issues.push({
      field: tcpStart === undefined ? "TCP_PORT_START" : "TCP_PORT_END",
      reason: "TCP_PORT_START and TCP_PORT_END must be set together",
    });
  } else if (tcpStart !== undefined && tcpEnd !== undefined) {
    if (tcpStart === 0 || tcpStart > tcpEnd) {
      issues.push({
        field: "TCP_PORT_START",
        reason: "must be 1-65535 and not above TCP_PORT_END",
      });
    }
    const address =
      get("TCP_ROUTER_ADDRESS") ?? (routerUrl ? new URL(routerUrl).hostname : "localhost");
    if (
      /[\s/@]/.test(address) ||
      (address.includes(":") && isIP(address.replace(/^\[|\]$/g, "")) !== 6)
    ) {
      issues.push({
        field: "TCP_ROUTER_ADDRESS",
        reason: `must be a host name or IP, got '${address}'`,
      });
    }
    tcp = { address, portStart: tcpStart, portEnd: tcpEnd };
  }

  // Defaults, and why:
  const limits: RouterLimits = {
    // Models and data sets go through apps as uploads: 1 GiB bounds what an unexpected body can
    // cost an app while most uploads fit; routes that take more get an override.
    maxBodySize: size("APPGW_MAX_BODY_SIZE", "1g"),
    routeMaxBodySize: routeSizes("APPGW_ROUTE_MAX_BODY_SIZE"),
    // mod_reqtimeout's `header=20`: a real client sends its headers in well under a second.
    headersTimeoutMs: seconds("APPGW_HEADERS_TIMEOUT", 20, false),
    // mod_reqtimeout's `body=20,MinRate=500`: 1 byte every 5 s is cut after 20 s, while any
    // upload faster than 500 bytes/s (4 kbit/s) goes through, however large.
    bodyTimeoutMs: seconds("APPGW_BODY_TIMEOUT", 20, true),
    bodyMinRate: size("APPGW_BODY_MIN_RATE", "500"),
    // Half the 60 s within which a stalled client must be cut, so timer slack never matters;
    // waiting on the app (a model thinking, a silent stream) is not idleness of the client.
    idleTimeoutMs: seconds("APPGW_IDLE_TIMEOUT", 30, true),
    // Longer than the 60 s idle timeout of common load balancers in front of the router, so
    // they close first and never send a request on a connection the router is closing.
    keepAliveTimeoutMs: seconds("APPGW_KEEPALIVE_TIMEOUT", 65, false),
    // A bound on what one process holds: each connection may hold a second one upstream, so
    // 20 000 file descriptors and their buffers. Raise it together with the file limit.
    maxConnections: count("APPGW_MAX_CONNECTIONS", 10_000),
    // Far more than a browser (6 per host) or an API client's pool needs; the router bench's
    // largest run (1000 connections) fits. Behind a proxy or NAT, raise it or set 0.
    maxConnectionsPerAddress: count("APPGW_MAX_CONNECTIONS_PER_ADDRESS", 1024),
  };
  if (limits.bodyMinRate === 0) {
    issues.push({
      field: "APPGW_BODY_MIN_RATE",
      reason: "must be above 0 (set APPGW_BODY_TIMEOUT=0 to turn the body rate rule off)",
    });
  }
  // nginx's `fail_timeout` default: long enough not to retry a dead target on every request.
  const targetFailTimeoutMs = seconds("APPGW_TARGET_FAIL_TIMEOUT", 10, false);
  // The login page counts failed sign-ins per browser address with the API's settings.
  // The same bounds as the API's (api/settings.ts): a window past a day would overflow timers.
  const positive = (key: string, fallback: number, max: number): number => {
    const n = count(key, fallback);
    if (n === 0 || n > max) issues.push({ field: key, reason: `must be from 1 to ${max}` });
    return n;
  };
  const loginLimits: LoginLimits = {
    perKey: positive("APPGW_LOGIN_FAILURES_PER_KEY", DEFAULT_LOGIN_LIMITS.perKey, 1_000_000),
    perAddress: positive(
      "APPGW_LOGIN_FAILURES_PER_ADDRESS",
      DEFAULT_LOGIN_LIMITS.perAddress,
      1_000_000,
    ),
    windowSec: positive("APPGW_LOGIN_WINDOW_SEC", DEFAULT_LOGIN_LIMITS.windowSec, 86_400),
  };

  if (issues.length > 0) {
    throw appgwError(
      "APPGW_INVALID_REQUEST",
      `invalid router configuration: ${issues.map((i) => `${i.field} ${i.reason}`).join("; ")}`,
      { field: issues[0]!.field, reason: issues[0]!.reason, issues },
    );
  }

  return {
    name,
    url: routerUrl,
    port: listenPort,
    host: get("ROUTER_HOST") ?? "127.0.0.1",
    domain,
    apiHost: apiHost ?? "",
    accessKey,
    secretKey,
    cookieName,
    secureCookies: secureRaw === "true",
    queues,
    tcp,
    limits,
    loginLimits,
    targetFailTimeoutMs,
  };
}
