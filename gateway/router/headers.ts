// Header hygiene between clients and targets. Order matters (Traefik CVE-2024-45410): hop-by-hop
// headers and every header the client names in `Connection` go first, then every inbound
// forwarding or identity header, in any spelling an app's server could read as the router's, and
// only then are fresh ones set, so a client cannot use `Connection: X-Forwarded-For` to delete
// what the proxy adds, nor forge an identity.
import type { IncomingHttpHeaders } from "node:http";
import { AFFINITY_COOKIE_PREFIX } from "./affinity";
import { removeCookies, setCookieName } from "../cookies";
import { TOKENS } from "../token-format";

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

/**
 * A lower-case header name as the most lenient server keys it: without anything but letters and
 * digits. CGI and WSGI servers fold '-' and '_' into one (`X_Appgw_User` and `X-Appgw-User` are
 * both `HTTP_X_APPGW_USER`), others fold or ignore other punctuation; equal folded names are
 * the same header to some app.
 */
function foldName(lower: string): string {
  return lower.replace(/[^a-z0-9]/g, "");
}

/** Folded names of the inbound headers only the router may set, and of the `x-forwarded-*` family. */
const ROUTER_OWNED = new Set(
  ["forwarded", "x-real-ip", "x-appgw-user", "x-appgw-user-id"].map(foldName),
);
const ROUTER_OWNED_PREFIX = foldName("x-forwarded-");

/** True for a client header some server would read as one the router sets. */
function isRouterOwned(lower: string): boolean {
  // Every owned name folds to one starting with 'x' or 'f': most headers start with another
  // letter or digit and are decided here without folding (this runs for every header).
  const c = lower.charCodeAt(0);
  const alphanumeric = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
  if (alphanumeric && c !== 0x78 /* x */ && c !== 0x66 /* f */) return false;
  const folded = foldName(lower);
  return ROUTER_OWNED.has(folded) || folded.startsWith(ROUTER_OWNED_PREFIX);
}

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

/** The prefixes browsers give meaning to (RFC 6265bis section 4.1.3), in any case. */
const COOKIE_NAME_PREFIX = /^__(?:host-http|host|secure|http)-/i;

/**
 * A cookie name without its `__Host-`/`__Secure-` prefix: the prefix only makes the browser
 * enforce attributes, so `__Host-appgw_token` is the gateway's cookie as much as `appgw_token`,
 * whichever of the two `AUTH_COOKIE_NAME` is.
 */
function unprefixed(name: string): string {
  return name.charCodeAt(0) === 0x5f /* _ */ ? name.replace(COOKIE_NAME_PREFIX, "") : name;
}

/** The gateway's cookies: the router's token and affinity cookies, the settings page's session. */
function isGatewayCookie(name: string, authCookie: string): boolean {
  const base = unprefixed(name);
  return (
    base === unprefixed(authCookie) ||
    base === TOKENS.consoleCookie ||
    base.startsWith(AFFINITY_COOKIE_PREFIX)
  );
}

/**
 * True for a `Set-Cookie` an app may not send: one for a cookie the router owns, or a nameless
 * one, which browsers store and send back as its bare value (`=appgw_token=x` comes back as
 * `Cookie: appgw_token=x`), so that it can stand for a cookie of any name.
 */
export function isForbiddenSetCookie(value: string, authCookie: string): boolean {
  const name = setCookieName(value);
  return name === "" || isGatewayCookie(name, authCookie);
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
    if (isRouterOwned(lower)) continue;
    // undici refuses `expect`; Node's server has already answered `100-continue`.
    if (lower === "expect") continue;
    let value = raw[i + 1]!;
    if (lower === "host") {
      if (host !== undefined) continue; // Node routes on the first Host; forward only that one
      host = value;
    } else if (lower === "authorization") {
      if (ctx.dropAuthorization) continue;
    } else if (lower === "cookie") {
      if (
        value.includes(unprefixed(ctx.authCookie)) ||
        value.includes(TOKENS.consoleCookie) ||
        value.includes(AFFINITY_COOKIE_PREFIX)
      ) {
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
 * and so does any `Set-Cookie` an app may not send (a target must not overwrite or plant the
 * user's gateway token).
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
    const kept = cookies.filter((c) => !isForbiddenSetCookie(c, authCookie));
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
