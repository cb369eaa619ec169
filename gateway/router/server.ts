// The router's HTTP server, built apart from `listen` (as fastify's buildApp/listen split) so
// tests and the embedded gateway can mount it as they like.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { pickTarget } from "./affinity";
import { closesConnection, rawErrorResponse, sendError } from "./errors";
import {
  bodyLimit,
  BodyWatch,
  formatSize,
  hasBody,
  type ConnectionLimiter,
  type RouterLimits,
} from "./limits";
import type { InternalPages } from "./login";
import {
  ProxyExchange,
  type ProxyContext,
  type TargetHealth,
  type Upstream,
  type UpstreamPools,
} from "./proxy";
import { isBrowserNavigation, resolveRequest, type Resolution, type ResolveDeps } from "./resolve";
import type { RouteEntry } from "./table";
import type { ConnectionTracker } from "./tracker";
import { handleUpgrade } from "./websocket";

export interface RouterServerDeps extends ResolveDeps {
  pools: UpstreamPools;
  health: TargetHealth;
  tracker: ConnectionTracker;
  pages: InternalPages;
  limits: RouterLimits;
  /** Shared with the TCP ports (tcp.ts). */
  connections: ConnectionLimiter;
  logger: Logger;
}

const TOO_MANY_CONNECTIONS = rawErrorResponse("APPGW_TOO_MANY_CONNECTIONS");
const UPGRADE_NOT_SUPPORTED = rawErrorResponse(
  "APPGW_UPGRADE_NOT_SUPPORTED",
  "only 'websocket' upgrades are relayed",
);

export function buildRouterServer(deps: RouterServerDeps): Server {
  const { limits } = deps;
  const server = createServer({
    // Bodies have their own rule (limits.ts): uploads of models must not be cut by a total time.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeoutMs,
    // Node checks headersTimeout only this often (30 s by default, which would let a client
    // trickling its headers stay well past it).
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
  });
  // A connection silent this long is closed, unless its exchange waits on the app
  // (ProxyExchange's `timeout` listener).
  server.timeout = limits.idleTimeoutMs;
  deps.connections.attach(server, TOO_MANY_CONNECTIONS);

  const ctx: ProxyContext = {
    authCookie: deps.cookieName,
    pools: deps.pools,
    health: deps.health,
    tracker: deps.tracker,
    limits,
    failover: (route) => failover(deps, route),
    logger: deps.logger,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    handleRequest(deps, ctx, req, res, expectsContinue).catch((err: unknown) => {
      deps.logger.error({ err }, "request failed");
      if (!res.headersSent) sendError(res, "APPGW_INTERNAL");
      else res.destroy();
    });
  };
  server.on("request", (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, false));
  // `Expect: 100-continue`: the 100 goes out only once the request is resolved and authorised,
  // so a refused client never sends its body.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) =>
    onRequest(req, res, true),
  );
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Anything but WebSocket (h2c, say) would hand the client a protocol the router neither
    // parses nor filters, so it is refused before resolution, auth or any upstream.
    if (req.headers.upgrade?.trim().toLowerCase() === "websocket") {
      // A WebSocket lives as long as its two ends want, silent or not: not idle-timed.
      (socket as Socket).setTimeout(0);
      handleUpgrade(deps, req, socket, head);
      return;
    }
    socket.on("error", () => socket.destroy());
    socket.end(UPGRADE_NOT_SUPPORTED, () => socket.destroy());
  });
  return server;
}

async function handleRequest(
  deps: RouterServerDeps,
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  expectsContinue: boolean,
): Promise<void> {
  if (req.method === "CONNECT") {
    sendError(res, "APPGW_METHOD_NOT_ALLOWED", "CONNECT is not supported");
    return;
  }
  const r = await resolveRequest(deps, req, isBrowserNavigation(req));
  switch (r.kind) {
    case "error":
      sendError(res, r.code, r.message, r.headers);
      return;
    case "login":
      res.writeHead(302, {
        location: r.location,
        "cache-control": "no-store",
        ...(closesConnection(req) ? { connection: "close" } : {}),
      });
      res.end();
      return;
    case "internal":
      if (hasBody(req)) watchBody(ctx.limits, req, res);
      if (expectsContinue) res.writeContinue();
      await deps.pages.handle(req, res, r.path, r.query);
      return;
    case "proxy":
      proxy(ctx, req, res, r, expectsContinue);
  }
}

function proxy(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Extract<Resolution, { kind: "proxy" }>,
  expectsContinue: boolean,
): void {
  if (req.socket.destroyed) return; // the client left while we authenticated it
  const withBody = hasBody(req);
  const maxBody = withBody ? bodyLimit(ctx.limits, r.route) : 0;
  if (maxBody > 0 && Number(req.headers["content-length"] ?? 0) > maxBody) {
    sendError(
      res,
      "APPGW_BODY_TOO_LARGE",
      `the request body exceeds this route's limit of ${formatSize(maxBody)}`,
    );
    return;
  }
  if (expectsContinue) res.writeContinue();
  const exchange = new ProxyExchange(
    req,
    res,
    {
      path: r.upstreamPath,
      method: req.method ?? "GET",
      headers: r.upstreamHeaders,
      body: withBody ? req : null,
    },
    ctx,
    maxBody,
    r.userId,
  );
  exchange.start(r);
}

/** The body rate rule on a body the router reads itself (the login form). */
function watchBody(limits: RouterLimits, req: IncomingMessage, res: ServerResponse): void {
  if (limits.bodyTimeoutMs === 0) return;
  const watch = new BodyWatch(req, 0, limits, (code, message) => {
    if (res.headersSent) res.destroy();
    else sendError(res, code, message);
  });
  res.once("close", () => watch.stop());
}

/** Another target of the route (as it is now) that is up, with a new affinity cookie. */
function failover(deps: RouterServerDeps, failed: RouteEntry): Upstream | null {
  const route = deps.table().byId.get(failed.id);
  if (route === undefined || route.signature !== failed.signature) return null;
  const pick = pickTarget(
    route,
    undefined,
    deps.affinityKey,
    () => deps.nextTurn(route),
    deps.secureCookies,
    deps.targetUp,
  );
  return deps.targetUp(pick.target) ? { route, ...pick } : null;
}
