// The router's HTTP server, built apart from `listen` (as fastify's buildApp/listen split) so
// tests and the embedded gateway can mount it as they like.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { sendError } from "./errors";
import type { InternalPages } from "./login";
import { hasBody, ProxyExchange, type UpstreamPools } from "./proxy";
import { isBrowserNavigation, resolveRequest, type Resolution, type ResolveDeps } from "./resolve";
import type { ConnectionTracker } from "./tracker";
import { handleUpgrade } from "./websocket";

export interface RouterServerDeps extends ResolveDeps {
  pools: UpstreamPools;
  tracker: ConnectionTracker;
  pages: InternalPages;
  logger: Logger;
}

export function buildRouterServer(deps: RouterServerDeps): Server {
  const server = createServer({
    // Uploads of models and long streams must not be cut by Node's 300 s default.
    requestTimeout: 0,
    headersTimeout: 60_000,
    // Longer than the 60 s idle timeout of common load balancers in front of the router.
    keepAliveTimeout: 65_000,
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    handleRequest(deps, req, res).catch((err: unknown) => {
      deps.logger.error({ err }, "request failed");
      if (!res.headersSent) sendError(res, "APPGW_INTERNAL");
      else res.destroy();
    });
  });
  server.on("upgrade", (req, socket, head) => handleUpgrade(deps, req, socket, head));
  return server;
}

async function handleRequest(
  deps: RouterServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
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
      res.writeHead(302, { location: r.location, "cache-control": "no-store" });
      res.end();
      return;
    case "internal":
      await deps.pages.handle(req, res, r.path, r.query);
      return;
    case "proxy":
      proxy(deps, req, res, r);
  }
}

function proxy(
  deps: RouterServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  r: Extract<Resolution, { kind: "proxy" }>,
): void {
  if (req.socket.destroyed) return; // the client left while we authenticated it
  let untrack: () => void = () => {};
  const exchange = new ProxyExchange(res, {
    authCookie: deps.cookieName,
    setCookie: r.setCookie,
    onDone: () => untrack(),
    logger: deps.logger,
  });
  untrack = deps.tracker.add(r.route, r.target, exchange);
  deps.pools.get(r.target.origin).dispatch(
    {
      path: r.upstreamPath,
      method: req.method ?? "GET",
      headers: r.upstreamHeaders,
      body: hasBody(req) ? req : null,
    },
    exchange,
  );
}
