// What to do with a request: shared by plain requests and WebSocket upgrades, so both get the
// same path checks, route resolution, authentication and target choice.
import type { IncomingMessage } from "node:http";
import { pickTarget } from "./affinity";
import { authorize, type TokenVerifier } from "./auth";
import { getCookie } from "../cookies";
import { requestSite } from "../same-origin";
import type { DataPlaneCode, HeaderList } from "./errors";
import { upstreamRequestHeaders } from "./headers";
import { normalizeRequestTarget } from "./path";
import { lookupRoute, type RouteEntry, type RouteTable, type Target } from "./table";

export const INTERNAL_PREFIX = "/_appgw";
export const LOGIN_PATH = `${INTERNAL_PREFIX}/login`;

export interface ResolveDeps {
  /** The current table, read once per attempt. */
  table(): RouteTable;
  verifier: TokenVerifier;
  affinityKey: Buffer;
  cookieName: string;
  secureCookies: boolean;
  /** The scheme clients use to reach the router (`X-Forwarded-Proto`). */
  proto: string;
  /** The next round-robin number of a route. */
  nextTurn(route: RouteEntry): number;
  /** Whether a target takes connections: load balancing skips those that do not. */
  targetUp(target: Target): boolean;
}

export type Resolution =
  | { kind: "error"; code: DataPlaneCode; message?: string; headers?: HeaderList }
  | { kind: "login"; location: string }
  | { kind: "internal"; path: string; query: string }
  | {
      kind: "proxy";
      route: RouteEntry;
      target: Target;
      /** Normalised path without the route prefix, plus the query. */
      upstreamPath: string;
      /** The request headers to send upstream, cleaned (see headers.ts). */
      upstreamHeaders: string[];
      /** An affinity cookie to set on the response. */
      setCookie: string | null;
      /** The authenticated user (null on public routes): the tracker rechecks their access. */
      userId: string | null;
    };

const WWW_AUTHENTICATE = { "www-authenticate": 'Bearer realm="appgw"' };

/**
 * A browser navigating (not a script): it gets the login page instead of a 401. Requests with an
 * Authorization header are API clients even when they accept HTML.
 */
export function isBrowserNavigation(req: IncomingMessage): boolean {
  return (
    (req.method === "GET" || req.method === "HEAD") &&
    req.headers.authorization === undefined &&
    (req.headers.accept ?? "").includes("text/html")
  );
}

/** Methods that change nothing (RFC 9110 section 9.2.1); SameSite governs which carry the cookie. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function countHeader(rawHeaders: string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) n++;
  }
  return n;
}

/**
 * Decides what to do with a request. `loginRedirect`: a client that needs a token is sent to the
 * login page rather than answered 401 (browser navigations; never WebSocket handshakes).
 */
export async function resolveRequest(
  deps: ResolveDeps,
  req: IncomingMessage,
  loginRedirect: boolean,
): Promise<Resolution> {
  const target = normalizeRequestTarget(req.url ?? "");
  if (!target.ok) {
    return { kind: "error", code: "APPGW_BAD_PATH", message: `bad request path: ${target.reason}` };
  }
  // Authorization is single-valued (RFC 9110). With two, Node exposes only the first to the
  // auth check while both would be forwarded: a gateway token could ride along in the second.
  if (countHeader(req.rawHeaders, "authorization") > 1) {
    return {
      kind: "error",
      code: "APPGW_BAD_HEADER",
      message: "more than one Authorization header",
    };
  }
  const { path, query } = target;
  if (path === INTERNAL_PREFIX || path.startsWith(`${INTERNAL_PREFIX}/`)) {
    return { kind: "internal", path, query };
  }

  // A request that straddles a table swap is resolved again on the new table, so every exchange
  // the tracker sees belongs to the current table (and auth decisions match current groups).
  for (;;) {
    const table = deps.table();
    const match = lookupRoute(table, req.headers.host, path);
    if (match === null) return { kind: "error", code: "APPGW_NO_ROUTE" };
    const { route } = match;

    const auth = await authorize(route, req.headers, deps.verifier, deps.cookieName, table.members);
    if (deps.table() !== table) continue;
    if (!auth.ok) {
      if (auth.code === "APPGW_FORBIDDEN" || auth.code === "APPGW_AUTH_UNAVAILABLE") {
        return { kind: "error", code: auth.code };
      }
      if (loginRedirect) {
        return {
          kind: "login",
          location: `${LOGIN_PATH}?next=${encodeURIComponent(path + query)}`,
        };
      }
      return { kind: "error", code: auth.code, headers: WWW_AUTHENTICATE };
    }
    // Browsers attach the cookie to requests from any page of the same site: SameSite=Lax does
    // not stop a sibling subdomain, which another user's app may serve, nor WebSocket handshakes.
    // So whatever can change state (unsafe methods, and handshakes, which open a two-way channel;
    // a browser sends `Upgrade` on nothing else) must come from the route's own origin when the
    // cookie is what authenticates it.
    if (
      auth.viaCookie &&
      (req.headers.upgrade !== undefined || !SAFE_METHODS.has(req.method ?? "GET")) &&
      requestSite(req.headers, deps.proto) === "cross-origin"
    ) {
      return {
        kind: "error",
        code: "APPGW_FORBIDDEN",
        message: "cross-origin request with the gateway cookie refused",
      };
    }

    if (route.targets.length === 0) {
      return {
        kind: "error",
        code: "APPGW_NO_TARGET",
        message: `route '${route.name}' has no target yet`,
      };
    }
    const pick = pickTarget(
      route,
      route.loadBalanced ? getCookie(req.headers.cookie, route.affinityCookie) : undefined,
      deps.affinityKey,
      () => deps.nextTurn(route),
      deps.secureCookies,
      deps.targetUp,
    );
    return {
      kind: "proxy",
      route,
      target: pick.target,
      upstreamPath: match.forwardPath + query,
      upstreamHeaders: upstreamRequestHeaders(req.rawHeaders, {
        clientIp: req.socket.remoteAddress ?? "",
        proto: deps.proto,
        prefix: route.prefix,
        user: auth.identity,
        dropAuthorization: auth.dropAuthorization,
        authCookie: deps.cookieName,
      }),
      setCookie: pick.setCookie,
      userId: auth.identity?.id ?? null,
    };
  }
}
