// Header hygiene between clients and targets. Order matters (Traefik CVE-2024-45410): hop-by-hop
// headers and every header the client names in `Connection` go first, then every inbound
// forwarding or identity header, and only then are fresh ones set, so a client cannot use
// `Connection: X-Forwarded-For` to delete what the proxy adds, nor forge an identity.
import type { IncomingHttpHeaders } from "node:http";
import { AFFINITY_COOKIE_PREFIX } from "./affinity";
import { removeCookies, setCookieName } from "./cookies";

/** RFC 9110 hop-by-hop headers plus the non-standard ones proxies still meet. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

/** Inbound headers only the router may set (besides every `x-forwarded-*`). */
const PROXY_OWNED = new Set(["forwarded", "x-real-ip", "x-appgw-user", "x-appgw-user-id"]);

export interface ForwardContext {
  /** The client's address (the TCP peer). */
  clientIp: string;
  /** The scheme clients use to reach the router (from its external URL). */
  proto: string;
  /** The route prefix stripped from the path; "" for subdomain routes. */
  prefix: string;
  /** The authenticated user, announced to the target. */
  user: { id: string; name: string } | null;
  /** The `Authorization` header carried the gateway's own token: never pass it on. */
  dropAuthorization: boolean;
  /** `AUTH_COOKIE_NAME`. */
  authCookie: string;
}

/** True for the cookies the router owns: the token and the affinity cookies. */
export function isGatewayCookie(name: string, authCookie: string): boolean {
  return name === authCookie || name.startsWith(AFFINITY_COOKIE_PREFIX);
}

/** Lower-cased tokens of every `Connection` header in a raw header list. */
function connectionTokens(raw: readonly string[]): Set<string> | null {
  let tokens: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === "connection") {
      for (const t of raw[i + 1]!.split(",")) {
        const token = t.trim().toLowerCase();
        if (token) (tokens ??= new Set()).add(token);
      }
    }
  }
  return tokens;
}

/** Header values must be visible ASCII; a user name outside it is percent-encoded. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/**
 * The headers to send upstream, as a flat `[name, value, ...]` list (undici's raw form), built
 * from the client's `req.rawHeaders`. `Host` is passed through (apps such as Jupyter compare it
 * with `Origin`), and `X-Forwarded-Host` repeats it.
 */
export function upstreamRequestHeaders(raw: readonly string[], ctx: ForwardContext): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (lower.startsWith("x-forwarded-") || PROXY_OWNED.has(lower)) continue;
    // undici refuses `expect`; Node's server has already answered `100-continue`.
    if (lower === "expect") continue;
    let value = raw[i + 1]!;
    if (lower === "host") {
      if (host !== undefined) continue; // Node routes on the first Host; forward only that one
      host = value;
    } else if (lower === "authorization") {
      if (ctx.dropAuthorization) continue;
    } else if (lower === "cookie") {
      if (value.includes(ctx.authCookie) || value.includes(AFFINITY_COOKIE_PREFIX)) {
        const kept = removeCookies(value, (n) => isGatewayCookie(n, ctx.authCookie));
        if (kept === undefined) continue;
        value = kept;
      }
    }
    out.push(name, value);
  }
  out.push("x-forwarded-for", ctx.clientIp, "x-forwarded-proto", ctx.proto);
  if (host !== undefined) out.push("x-forwarded-host", host);
  if (ctx.prefix) out.push("x-forwarded-prefix", ctx.prefix);
  if (ctx.user) {
    out.push("x-appgw-user", headerSafe(ctx.user.name), "x-appgw-user-id", headerSafe(ctx.user.id));
  }
  return out;
}

/**
 * Cleans an upstream response's headers in place: hop-by-hop and `Connection`-named headers go,
 * and so does any `Set-Cookie` for a cookie the router owns (a target must not overwrite or
 * plant the user's gateway token).
 */
export function cleanResponseHeaders(
  headers: IncomingHttpHeaders,
  authCookie: string,
): IncomingHttpHeaders {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const t of String(connection).split(",")) delete headers[t.trim().toLowerCase()];
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  const cookies = setCookies(headers);
  if (cookies.length > 0) {
    const kept = cookies.filter((c) => !isGatewayCookie(setCookieName(c), authCookie));
    if (kept.length === 0) delete headers["set-cookie"];
    else headers["set-cookie"] = kept;
  }
  return headers;
}

/** undici gives a lone `Set-Cookie` as a string, several as an array. */
function setCookies(headers: IncomingHttpHeaders): string[] {
  const value = headers["set-cookie"] as string | string[] | undefined;
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Adds a `Set-Cookie` value to response headers. */
export function appendSetCookie(headers: IncomingHttpHeaders, cookie: string): void {
  headers["set-cookie"] = [...setCookies(headers), cookie];
}
