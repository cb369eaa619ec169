// The router's configuration, read from the env contract of ClearML's router so one deployment
// recipe can run either. Every problem is collected and reported in one error.
import { isIP } from "node:net";
import { appgwError } from "@appgw/sdk/errors";
import { AFFINITY_COOKIE_PREFIX } from "./affinity";

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
}

interface Issue {
  field: string;
  reason: string;
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** RFC 6265 cookie-name: an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

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
  };
}
