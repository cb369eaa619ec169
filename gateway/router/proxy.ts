// HTTP proxying over one undici Pool per target. Responses go through `dispatch` with a handler
// that writes each chunk to the client as it arrives (SSE and token streams are never buffered)
// and pauses the upstream when the client cannot keep up. A client that goes away aborts the
// upstream request; a route or target that goes away aborts it too (see tracker.ts).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { Pool, type Dispatcher } from "undici";
import { errorFields, sendError } from "./errors";
import { appendSetCookie, cleanResponseHeaders } from "./headers";
import type { RouteTable } from "./table";
import type { Closable } from "./tracker";

/**
 * Below the 5 s idle timeout of Node's http server (the most common target), so the pool never
 * sends a request on a socket the target is closing.
 */
const KEEP_ALIVE_MS = 4_000;
/** A model answering without streaming can think for minutes before its headers. */
const HEADERS_TIMEOUT_MS = 300_000;
const CONNECT_TIMEOUT_MS = 10_000;

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
    const live = new Set<string>();
    for (const route of table.routes) for (const t of route.targets) live.add(t.origin);
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

const TIMEOUTS = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

export interface ExchangeOptions {
  authCookie: string;
  /** An affinity cookie to set on the response. */
  setCookie: string | null;
  /** Called once when the exchange ends, however it ends. */
  onDone: () => void;
  logger: Logger;
}

/** One proxied request: the undici handler and the tracker's handle on it. */
export class ProxyExchange implements Dispatcher.DispatchHandler, Closable {
  private controller: Dispatcher.DispatchController | null = null;
  /** Why the exchange was cut short, if it was. */
  private ended: "client" | "route" | null = null;
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: ExchangeOptions,
  ) {
    res.on("close", this.onClientClose);
    res.on("drain", this.onDrain);
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

  close(): void {
    this.ended ??= "route";
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
    cleanResponseHeaders(headers, this.opts.authCookie);
    if (this.opts.setCookie !== null) appendSetCookie(headers, this.opts.setCookie);
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
    const code = (err as { code?: string }).code ?? "";
    this.opts.logger.warn({ error: errorFields(err) }, "upstream request failed");
    if (TIMEOUTS.has(code)) sendError(this.res, "APPGW_UPSTREAM_TIMEOUT");
    else sendError(this.res, "APPGW_UPSTREAM_UNAVAILABLE");
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.opts.onDone();
  }
}

/** Whether the client sends a body: undici must not invent one for a GET. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}
