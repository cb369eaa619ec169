// HTTP proxying over one undici Pool per target. Responses go through `dispatch` with a handler
// that writes each chunk to the client as it arrives (SSE and token streams are never buffered)
// and pauses the upstream when the client cannot keep up. A client that goes away, or that breaks
// a limit (limits.ts), aborts the upstream request; a route or target that goes away aborts it
// too (see tracker.ts). A target that cannot be reached is skipped for a while (TargetHealth),
// and a request that never reached it goes to another target of its route.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Logger } from "pino";
import { Pool, type Dispatcher } from "undici";
import { errorFields, sendError } from "./errors";
import { appendSetCookie, cleanResponseHeaders } from "./headers";
import { BodyWatch, readingFrom, type BodyViolation, type RouterLimits } from "./limits";
import type { RouteEntry, RouteTable, Target } from "./table";
import type { Closable, CloseReason, ConnectionTracker } from "./tracker";

/**
 * Below the 5 s idle timeout of Node's http server (the most common target), so the pool never
 * sends a request on a socket the target is closing.
 */
const KEEP_ALIVE_MS = 4_000;
/** A model answering without streaming can think for minutes before its headers. */
const HEADERS_TIMEOUT_MS = 300_000;
const CONNECT_TIMEOUT_MS = 10_000;

function origins(table: RouteTable): Set<string> {
  const live = new Set<string>();
  for (const route of table.routes) for (const t of route.targets) live.add(t.origin);
  return live;
}

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        keepAliveTimeout: KEEP_ALIVE_MS,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        connectTimeout: CONNECT_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        // Streams (SSE, tokens) may be silent for long; a stalled one ends when its client leaves.
        bodyTimeout: 0,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes the pools of targets the table no longer has (their exchanges are already aborted). */
  retain(table: RouteTable): void {
    const live = origins(table);
    for (const [origin, pool] of this.pools) {
      if (!live.has(origin)) {
        this.pools.delete(origin);
        void pool.close();
      }
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }
}

/**
 * Errors of a connection attempt that say a target is not taking connections (refused,
 * unreachable, timed out, reset while connecting), not that one request went wrong.
 */
const TARGET_DOWN = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

interface Down {
  timer: NodeJS.Timeout | null;
  probe: Socket | null;
}

/**
 * Passive health of targets, by origin, as nginx's `max_fails=1 fail_timeout=10s`: a target that
 * could not be connected to is skipped by load balancing for the fail
 * timeout. Then a TCP connect probes it, and it is back once one succeeds (until then it is
 * probed again every fail timeout). Probing, rather than letting the next request find out, keeps
 * the failures to the requests that were in flight when the target died.
 */
export class TargetHealth {
  private readonly down = new Map<string, Down>();

  constructor(
    private readonly failTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  readonly isUp = (target: Target): boolean =>
    this.down.size === 0 || !this.down.has(target.origin);

  markDown(target: Target, err: unknown): void {
    if (this.down.has(target.origin)) return;
    this.logger.warn(
      { target: target.hostPort, error: errorFields(err) },
      "target unreachable: skipped until a probe reaches it",
    );
    const entry: Down = { timer: null, probe: null };
    this.down.set(target.origin, entry);
    this.schedule(target, entry);
  }

  /** Forgets targets the table no longer has. */
  retain(table: RouteTable): void {
    if (this.down.size === 0) return;
    const live = origins(table);
    for (const origin of this.down.keys()) if (!live.has(origin)) this.forget(origin);
  }

  close(): void {
    for (const origin of [...this.down.keys()]) this.forget(origin);
  }

  private forget(origin: string): void {
    const entry = this.down.get(origin)!;
    this.down.delete(origin);
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.probe?.destroy();
  }

  private schedule(target: Target, entry: Down): void {
    entry.timer = setTimeout(() => this.probe(target, entry), this.failTimeoutMs);
    entry.timer.unref();
  }

  private probe(target: Target, entry: Down): void {
    entry.timer = null;
    const socket = connect({ host: target.address, port: target.port });
    entry.probe = socket;
    socket.setTimeout(CONNECT_TIMEOUT_MS);
    const settle = (up: boolean): void => {
      socket.destroy();
      if (entry.probe !== socket) return;
      entry.probe = null;
      if (this.down.get(target.origin) !== entry) return;
      if (!up) return this.schedule(target, entry);
      this.down.delete(target.origin);
      this.logger.info({ target: target.hostPort }, "target reachable again");
    };
    socket.once("connect", () => settle(true));
    socket.on("error", () => settle(false));
    socket.once("timeout", () => settle(false));
  }
}

const TIMEOUTS = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** Where an exchange goes. */
export interface Upstream {
  route: RouteEntry;
  target: Target;
  /** An affinity cookie to set on the response. */
  setCookie: string | null;
}

/** What every exchange of a router shares. */
export interface ProxyContext {
  authCookie: string;
  pools: UpstreamPools;
  health: TargetHealth;
  tracker: ConnectionTracker;
  limits: RouterLimits;
  /** Another target of the route for a request whose target is down; null when none is up. */
  failover(route: RouteEntry): Upstream | null;
  logger: Logger;
}

const noop = (): void => {};

/** One proxied request: the undici handler and the tracker's handle on it. */
export class ProxyExchange implements Dispatcher.DispatchHandler, Closable {
  private controller: Dispatcher.DispatchController | null = null;
  /** Why the exchange was cut short, if it was. */
  private ended: "client" | CloseReason | null = null;
  private done = false;
  private upstream: Upstream | null = null;
  private untrack: () => void = noop;
  private readonly watch: BodyWatch | null;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    /** The request as sent upstream; sent again to another target if the first is down. */
    private readonly request: Dispatcher.DispatchOptions,
    private readonly ctx: ProxyContext,
    /** The route's body limit (0: none); a declared length was checked before. */
    maxBody: number,
    /** The user it is proxied for (the tracker closes it when they lose access). */
    private readonly userId: string | null,
  ) {
    res.on("close", this.onClientClose);
    res.on("drain", this.onDrain);
    res.on("timeout", this.onIdle);
    const chunkedLimit = req.headers["transfer-encoding"] === undefined ? 0 : maxBody;
    this.watch =
      request.body != null && (chunkedLimit > 0 || ctx.limits.bodyTimeoutMs > 0)
        ? new BodyWatch(req, chunkedLimit, ctx.limits, this.cut)
        : null;
  }

  /** Sends the request to `up`'s target. */
  start(up: Upstream): void {
    this.upstream = up;
    this.untrack = this.ctx.tracker.add(up.route, up.target, this, this.userId);
    this.ctx.pools.get(up.target.origin).dispatch(this.request, this);
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.ended ??= "client";
    this.controller?.abort(new Error("client closed the connection"));
    this.finish();
  };

  private readonly onDrain = (): void => {
    this.controller?.resume();
  };

  /**
   * The connection saw no byte either way for the idle timeout. Only the client's stalls are cut:
   * its body stopped coming while the router reads it, or it does not take the answer. Waiting on
   * the app (a model thinking, a quiet stream) is not the client's doing.
   */
  private readonly onIdle = (): void => {
    const req = this.req;
    if ((!req.complete && readingFrom(req)) || req.socket.writableLength > 0) {
      const idle = this.ctx.limits.idleTimeoutMs / 1000;
      this.cut("APPGW_REQUEST_TIMEOUT", `the client neither sent nor read anything for ${idle} s`);
    }
  };

  /** The client broke a limit: answer it if nothing was sent yet, close it, free the upstream. */
  private readonly cut = (code: BodyViolation, message: string): void => {
    if (this.done) return;
    this.ended = "client";
    if (this.res.headersSent) this.res.destroy();
    else sendError(this.res, code, message);
    this.controller?.abort(new Error(message));
    this.finish();
  };

  close(reason: CloseReason): void {
    this.ended ??= reason;
    if (this.controller) this.controller.abort(new Error("route or target removed"));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Ended while waiting for a free connection.
    if (this.ended !== null) controller.abort(new Error(`exchange ended (${this.ended})`));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    cleanResponseHeaders(headers, this.ctx.authCookie);
    const setCookie = this.upstream!.setCookie;
    if (setCookie !== null) appendSetCookie(headers, setCookie);
    try {
      this.res.writeHead(statusCode, headers as OutgoingHttpHeaders);
    } catch (err) {
      // A header value Node refuses to send: treat as a broken upstream.
      controller.abort(err as Error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const code = (err as { code?: string }).code ?? "";
    // Only a connection that could not be made says the target is down: a reset on an open one
    // (a keep-alive race, an app dropping one bad request) fails that request alone, or one
    // client could knock a healthy target out of its route again and again.
    if (this.ended === null && this.controller === null && TARGET_DOWN.has(code)) {
      const { route, target } = this.upstream!;
      this.ctx.health.markDown(target, err);
      // Never connected (no onRequestStart): nothing was sent, so any method may go elsewhere.
      const next = this.ctx.failover(route);
      if (next !== null) {
        this.untrack();
        this.start(next);
        return;
      }
    }
    this.finish();
    if (this.ended === "client") return;
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    if (this.ended === "route") {
      sendError(this.res, "APPGW_NO_TARGET", "the route or its target was removed");
      return;
    }
    if (this.ended === "access") {
      sendError(this.res, "APPGW_FORBIDDEN", "access to the route was revoked");
      return;
    }
    this.ctx.logger.warn({ error: errorFields(err) }, "upstream request failed");
    if (TIMEOUTS.has(code)) sendError(this.res, "APPGW_UPSTREAM_TIMEOUT");
    else sendError(this.res, "APPGW_UPSTREAM_UNAVAILABLE");
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.watch?.stop();
    this.untrack();
  }
}
