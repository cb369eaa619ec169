// What a client may cost the router: body size per route, how slowly it may send a body, and how
// many connections it may hold. The header and idle timeouts are Node's own (server.ts); what is
// here needs state of ours.
import type { IncomingMessage } from "node:http";
import type { Server, Socket } from "node:net";
import type { Logger } from "pino";
import type { RouteEntry } from "./table";

export interface RouterLimits {
  /** `APPGW_MAX_BODY_SIZE`: request body bytes per request; 0: no limit. */
  maxBodySize: number;
  /** `APPGW_ROUTE_MAX_BODY_SIZE`: the same by static route name, overriding the default. */
  routeMaxBodySize: ReadonlyMap<string, number>;
  /** `APPGW_HEADERS_TIMEOUT`: the request line and headers must arrive within this. */
  headersTimeoutMs: number;
  /** `APPGW_BODY_TIMEOUT`: the body's grace period before its rate counts; 0: no rate rule. */
  bodyTimeoutMs: number;
  /** `APPGW_BODY_MIN_RATE`: bytes per second that extend the body's deadline by 1 s. */
  bodyMinRate: number;
  /** `APPGW_IDLE_TIMEOUT`: no byte either way while the router waits on the client; 0: none. */
  idleTimeoutMs: number;
  /** `APPGW_KEEPALIVE_TIMEOUT`: an idle connection between requests is closed after this. */
  keepAliveTimeoutMs: number;
  /** `APPGW_MAX_CONNECTIONS`: open client connections; 0: no limit. */
  maxConnections: number;
  /** `APPGW_MAX_CONNECTIONS_PER_ADDRESS`: open connections per client address; 0: no limit. */
  maxConnectionsPerAddress: number;
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512k`, `10m`, `1g` (binary units) or a plain number of bytes; null when it is none of them. */
export function parseSize(raw: string): number | null {
  const m = /^(\d+)([kmgt]?)$/i.exec(raw.trim());
  if (m === null) return null;
  const bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** The largest unit that divides the size, for messages: `10m` rather than `10485760`. */
export function formatSize(bytes: number): string {
  for (const unit of ["t", "g", "m", "k"]) {
    if (bytes % UNITS[unit]! === 0) return `${bytes / UNITS[unit]!}${unit}`;
  }
  return String(bytes);
}

/** The body limit of a route; overrides name static routes (an ephemeral route's is its task's). */
export function bodyLimit(limits: RouterLimits, route: RouteEntry): number {
  if (route.kind === "service" || limits.routeMaxBodySize.size === 0) return limits.maxBodySize;
  return limits.routeMaxBodySize.get(route.name) ?? limits.maxBodySize;
}

/** Whether the client sends a body: undici must not invent one for a GET. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * Whether the router reads the request's body from the socket now. Node stops reading once the
 * body's buffer is full, which happens when its consumer (undici, the app behind it) does not
 * take it; until then a client that sends nothing is the one stalling.
 */
export function readingFrom(req: IncomingMessage): boolean {
  return req.readableLength < req.readableHighWaterMark;
}

export type BodyViolation = "APPGW_BODY_TOO_LARGE" | "APPGW_REQUEST_TIMEOUT";

/**
 * Watches a request body as the router reads it: a chunked body (which declares no length)
 * against the route's limit, and every body's rate, modelled on Apache mod_reqtimeout's
 * `body=20,MinRate=500`: the body must be in within the grace period plus 1 s for every
 * `minRate` bytes received, so a client trickling bytes is cut while a multi-GB upload is not.
 * Unlike mod_reqtimeout, the credit never runs more than one grace period ahead.
 * One timer per request, re-armed from the socket's byte count, never per chunk. Time the router
 * spends not reading (the app is not taking the body) is not the client's: a check that finds
 * the router not reading starts the count over.
 */
export class BodyWatch {
  private timer: NodeJS.Timeout | null = null;
  /** When the current count started, and the socket's byte count then. */
  private since = 0;
  private bytesSince = 0;
  /** Body bytes received, counted only for a chunked body with a limit. */
  private received = 0;

  constructor(
    private readonly req: IncomingMessage,
    /** The route's limit for a chunked body; 0: not counted. */
    private readonly maxChunked: number,
    private readonly limits: RouterLimits,
    private readonly violated: (code: BodyViolation, message: string) => void,
  ) {
    if (maxChunked > 0) {
      // Paused first, so this listener does not start the flow before undici takes the body
      // (undici resumes it).
      req.pause();
      req.on("data", this.onData);
    }
    if (limits.bodyTimeoutMs > 0) this.restart();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.maxChunked > 0) this.req.off("data", this.onData);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received += chunk.length;
    if (this.received > this.maxChunked) {
      this.stop();
      this.violated(
        "APPGW_BODY_TOO_LARGE",
        `the request body exceeds this route's limit of ${formatSize(this.maxChunked)}`,
      );
    }
  };

  /** Starts a count: the grace period, then the rate. */
  private restart(): void {
    this.since = performance.now();
    this.bytesSince = this.req.socket.bytesRead;
    this.timer = setTimeout(this.check, this.limits.bodyTimeoutMs);
  }

  private readonly check = (): void => {
    const req = this.req;
    if (req.complete || req.socket.destroyed) {
      this.timer = null;
      return;
    }
    if (!readingFrom(req)) {
      this.restart();
      return;
    }
    const earnedMs =
      this.limits.bodyTimeoutMs +
      ((req.socket.bytesRead - this.bytesSince) * 1000) / this.limits.bodyMinRate;
    const now = performance.now();
    const left = this.since + earnedMs - now;
    if (left > 0) {
      // Credit runs at most one grace period ahead: a burst early on does not buy the right to
      // trickle for an hour after it (which the plain mod_reqtimeout rule would allow).
      const wait = Math.min(left, this.limits.bodyTimeoutMs);
      this.since = now + wait - this.limits.bodyTimeoutMs;
      this.bytesSince = req.socket.bytesRead;
      this.timer = setTimeout(this.check, Math.ceil(wait));
      return;
    }
    this.stop();
    this.violated(
      "APPGW_REQUEST_TIMEOUT",
      `the request body arrived slower than ${this.limits.bodyMinRate} bytes/s`,
    );
  };
}

/**
 * Caps open client connections, in all and per client address (the TCP peer: behind a proxy or
 * NAT every client shares the proxy's address), over the HTTP port and every TCP port together.
 * A connection over a limit gets its refusal (a 503 on the HTTP port), written before the client
 * has said anything, and is closed at once: nothing it sends is ever parsed or piped.
 */
export class ConnectionLimiter {
  private open = 0;
  private readonly byAddress = new Map<string, number>();
  private refused = 0;
  private lastWarning = 0;

  constructor(
    private readonly limits: Pick<RouterLimits, "maxConnections" | "maxConnectionsPerAddress">,
    private readonly logger: Logger,
  ) {}

  /**
   * Counts `server`'s connections with those of every other server attached (the HTTP port and
   * each TCP port share one total); one over a limit gets `refusal` and is destroyed.
   */
  attach(server: Server, refusal: string): void {
    const { maxConnections: max, maxConnectionsPerAddress: perAddress } = this.limits;
    if (max === 0 && perAddress === 0) return;
    server.on("connection", (socket: Socket) => {
      const address = socket.remoteAddress ?? "";
      const mine = this.byAddress.get(address) ?? 0;
      if ((max > 0 && this.open >= max) || (perAddress > 0 && mine >= perAddress)) {
        if (refusal) socket.write(refusal);
        socket.destroy();
        this.warn(address);
        return;
      }
      this.open++;
      this.byAddress.set(address, mine + 1);
      socket.once("close", () => {
        this.open--;
        const left = this.byAddress.get(address)! - 1;
        if (left === 0) this.byAddress.delete(address);
        else this.byAddress.set(address, left);
      });
    });
  }

  /** A flood must not flood the log too: one line per 10 s at most. */
  private warn(address: string): void {
    this.refused++;
    const now = Date.now();
    if (now - this.lastWarning < 10_000) return;
    this.logger.warn(
      { refused: this.refused, open: this.open, address },
      "connection limit reached: connections refused",
    );
    this.lastWarning = now;
    this.refused = 0;
  }
}
