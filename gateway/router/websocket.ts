// WebSocket (and any other HTTP/1.1 Upgrade) proxying. Upgrades arrive on the server's `upgrade`
// event, outside normal request handling, so they go through the same resolution, auth and
// header cleaning here. The client's socket is answered only after the target's answer: a 101 is
// relayed with the target's headers (subprotocol, extensions) and then both sockets are piped
// byte for byte; anything else is relayed as is.
import { request as httpRequest, STATUS_CODES, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { errorFields, rawErrorResponse, type DataPlaneCode, type HeaderList } from "./errors";
import { cleanResponseHeaders, isForbiddenSetCookie } from "./headers";
import { resolveRequest, type ResolveDeps } from "./resolve";
import type { Closable, ConnectionTracker } from "./tracker";

/** The target must answer the handshake within this time. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

export interface UpgradeDeps extends ResolveDeps {
  tracker: ConnectionTracker;
  logger: Logger;
}

function reject(socket: Duplex, code: DataPlaneCode, message?: string, headers?: HeaderList): void {
  if (!socket.destroyed) socket.end(rawErrorResponse(code, message, headers));
}

/** A response head from `[name, value, ...]`. */
function responseHead(
  status: number,
  statusMessage: string | undefined,
  headers: readonly string[],
): string {
  let head = `HTTP/1.1 ${status} ${statusMessage || STATUS_CODES[status] || ""}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + "\r\n";
}

/** The 101's headers as the target sent them (Connection and Upgrade included), minus our cookies. */
function switchingHeaders(raw: readonly string[], authCookie: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const isCookie = raw[i]!.toLowerCase() === "set-cookie";
    if (!isCookie || !isForbiddenSetCookie(raw[i + 1]!, authCookie)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** A non-101 answer, cleaned like any response and framed by closing the connection. */
function relayedHeaders(res: IncomingMessage, authCookie: string): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(cleanResponseHeaders(res.headers, authCookie))) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
  out.push("connection", "close");
  return out;
}

export function handleUpgrade(
  deps: UpgradeDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  socket.on("error", () => socket.destroy());
  upgrade(deps, req, socket, head).catch((err: unknown) => {
    deps.logger.error({ err }, "upgrade failed");
    reject(socket, "APPGW_INTERNAL");
  });
}

async function upgrade(
  deps: UpgradeDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const r = await resolveRequest(deps, req, false);
  if (r.kind === "error") return reject(socket, r.code, r.message, r.headers);
  if (r.kind !== "proxy") return reject(socket, "APPGW_NO_ROUTE"); // `/_appgw/` has no sockets
  if (socket.destroyed) return;

  const { route, target } = r;
  const headers = r.upstreamHeaders;
  if (req.headers.host === undefined) headers.push("host", target.hostPort);
  // Hop-by-hop headers were stripped; the upgrade itself is re-requested from the target.
  headers.push("connection", "Upgrade", "upgrade", req.headers.upgrade ?? "websocket");

  const upstream = httpRequest({
    host: target.address,
    port: target.port,
    method: req.method,
    path: r.upstreamPath,
    headers,
    setHost: false,
    agent: false,
  });
  /** The target has answered the handshake: later errors only end the pipe or relay. */
  let answered = false;
  let upstreamSocket: Duplex | null = null;
  // Whatever the reason, a piped socket can only be cut: there is no answer left to give.
  const exchange: Closable = {
    close: () => {
      upstream.destroy();
      upstreamSocket?.destroy();
      socket.destroy();
    },
  };
  const untrack = deps.tracker.add(route, target, exchange, r.userId);
  socket.once("close", () => {
    untrack();
    exchange.close("route");
  });
  upstream.setTimeout(HANDSHAKE_TIMEOUT_MS, () =>
    upstream.destroy(Object.assign(new Error("handshake timeout"), { code: "ETIMEDOUT" })),
  );

  upstream.on("error", (err: NodeJS.ErrnoException) => {
    if (answered) return;
    deps.logger.warn({ error: errorFields(err) }, "upstream upgrade failed");
    reject(
      socket,
      err.code === "ETIMEDOUT" ? "APPGW_UPSTREAM_TIMEOUT" : "APPGW_UPSTREAM_UNAVAILABLE",
    );
  });

  upstream.on("upgrade", (res: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
    answered = true;
    upstreamSocket = upSocket;
    if (socket.destroyed) {
      upSocket.destroy();
      return;
    }
    upSocket.setTimeout(0); // the handshake timeout no longer applies
    upSocket.setNoDelay(true);
    upSocket.on("error", () => upSocket.destroy());
    upSocket.once("close", () => socket.destroy());
    const headers101 = switchingHeaders(res.rawHeaders, deps.cookieName);
    if (r.setCookie !== null) headers101.push("set-cookie", r.setCookie);
    socket.write(responseHead(101, res.statusMessage, headers101));
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    upSocket.pipe(socket);
    socket.pipe(upSocket);
  });

  upstream.on("response", (res: IncomingMessage) => {
    answered = true;
    socket.write(
      responseHead(res.statusCode ?? 502, res.statusMessage, relayedHeaders(res, deps.cookieName)),
    );
    res.on("error", () => socket.destroy());
    res.pipe(socket);
  });

  upstream.end();
}
