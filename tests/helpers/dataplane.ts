// Helpers for data-plane tests: real HTTP, WebSocket and raw-socket traffic through the embedded
// router of a test gateway, echo apps run by the embedded agent, and hand-made upstreams attached
// to routes the way an agent would attach them.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { request } from "undici";
import WebSocket from "ws";
import { EXTERNAL_SERVICE_TAG, RUNTIME, type AppGatewayClient } from "@appgw/sdk";
import { eventually, startTestGateway, type TestGateway } from "./gateway";

/** A gateway whose agent runs many echo apps at once (each test file starts several). */
export function startDataplaneGateway(): Promise<TestGateway> {
  return startTestGateway({ agent: { APPGW_AGENT_MAX_TASKS: "64" } });
}

export function routerPort(t: TestGateway): number {
  return Number(new URL(t.routerUrl).port);
}

/** The router on 127.0.0.1 (never `localhost`, which may resolve to ::1 first). */
export function routerBase(t: TestGateway): string {
  return `http://127.0.0.1:${routerPort(t)}`;
}

/** `<sub>.localhost:<port>`: the Host of a subdomain route. */
export function subdomainHost(t: TestGateway, sub: string): string {
  return `${sub}.localhost:${routerPort(t)}`;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request through the router; the body is read in full. */
export async function send(
  t: TestGateway,
  path: string,
  opts: {
    method?: "GET" | "POST" | "PUT" | "HEAD";
    headers?: Record<string, string | string[]>;
    body?: string | Buffer | NodeJS.ReadableStream;
  } = {},
): Promise<Reply> {
  const res = await request(routerBase(t) + path, {
    method: opts.method ?? "GET",
    headers: opts.headers,
    body: opts.body as string | Buffer | undefined,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** What the echo app reports about the request it received. */
export interface Echo {
  service: string;
  task: string;
  nonce: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function echoOf(reply: Reply): Echo {
  assert.equal(reply.status, 200, `expected the echo app, got ${reply.status}: ${reply.text}`);
  const echo = JSON.parse(reply.text) as Echo;
  assert.equal(echo.service, "appgw-echo", reply.text);
  return echo;
}

/** The `error.code` of a router error body. */
export function errorCode(reply: Reply): string | undefined {
  try {
    return (JSON.parse(reply.text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/**
 * Creates an enabled static route at `/<name>` (or `path`, or on `subdomain`) and returns its id.
 * Single-endpoint and authenticated unless told otherwise (ClearML's API defaults to load
 * balanced); `groups` are the group ids allowed (`user_groups`).
 */
export function createRoute(
  t: TestGateway,
  r: {
    name: string;
    path?: string;
    subdomain?: string;
    public?: boolean;
    loadBalanced?: boolean;
    groups?: string[];
  },
): Promise<string> {
  return t.client.routes.save({
    name: r.name,
    ...(r.subdomain === undefined
      ? { type: "path", path: r.path ?? `/${r.name}` }
      : { type: "subdomain", subdomain: r.subdomain }),
    auth_enabled: !r.public,
    load_balancer: { enabled: r.loadBalanced ?? false },
    ...(r.groups ? { user_groups: r.groups } : {}),
  });
}

/** Starts an echo app on the embedded agent; `route` attaches it to that static route by name. */
export function startEchoApp(
  t: TestGateway,
  route: string | null,
  name = `echo-${route ?? "service"}`,
): Promise<string> {
  return t.client.startEcho({
    queue: "default",
    name,
    ...(route === null ? {} : { staticRoute: route }),
  });
}

/** Polls a path until the echo app of `task` (or any echo app) answers it. */
export function waitRouted(
  t: TestGateway,
  path: string,
  opts: { task?: string; headers?: Record<string, string> } = {},
): Promise<Echo> {
  return eventually(
    async () => {
      const reply = await send(t, path, { headers: opts.headers });
      if (reply.status !== 200) return undefined;
      const echo = JSON.parse(reply.text) as Echo;
      return opts.task === undefined || echo.task === opts.task ? echo : undefined;
    },
    10_000,
    `${path} routed${opts.task ? ` to ${opts.task}` : ""}`,
  );
}

/** A plain HTTP server on loopback standing in for an app. */
export async function startUpstream(
  handler: http.RequestListener,
): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let handQueues = 0;

/**
 * Plays an agent by hand: takes a task off a queue of its own, starts it and attaches `port` on
 * loopback to static route `route` (or to an ephemeral `/service/` route when null), as the
 * SDK does but without its checks of the route. The task is `owner`'s (default: the admin), who
 * also writes its runtime properties, as the app itself would. Returns the task id.
 */
export async function attachUpstream(
  t: TestGateway,
  route: string | null,
  port: number,
  owner: AppGatewayClient = t.client,
): Promise<string> {
  const name = `hand-${process.pid}-${++handQueues}`;
  const queue = await t.client.queues.ensure(name);
  const id = await owner.tasks.create({
    name,
    type: "application",
    script: { entry_point: "hand_upstream.py" },
  });
  await t.client.tasks.enqueue(id, queue);
  assert.equal(await t.client.queues.next(queue), id);
  await t.client.tasks.report("started", id);
  const runtime: Record<string, string> = {
    [RUNTIME.service]: "EXTERNAL",
    [RUNTIME.address]: "127.0.0.1",
    [RUNTIME.port]: String(port),
  };
  if (route !== null) {
    runtime[RUNTIME.mode] = "path";
    runtime[RUNTIME.modeParam] = route;
  }
  await owner.tasks.editRuntime(id, runtime);
  await t.client.tasks.edit({ task: id, system_tags: [EXTERNAL_SERVICE_TAG], force: true });
  return id;
}

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The whole answer as received. */
  raw: string;
}

/**
 * Sends bytes exactly as given on a fresh connection and reads the answer until the server
 * closes it (send `Connection: close`). Nothing on the client side normalises the request.
 */
export function rawRequest(port: number, bytes: string, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes, "latin1"));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms to ${JSON.stringify(bytes)}`));
    }, timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString("latin1");
      const end = raw.indexOf("\r\n\r\n");
      if (end === -1) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(raw)}`));
        return;
      }
      const [statusLine, ...lines] = raw.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        const key = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
      }
      let body = raw.slice(end + 4);
      if (/chunked/i.test(headers["transfer-encoding"] ?? "")) body = dechunk(body);
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body, raw });
    });
  });
}

/**
 * Sends raw bytes and resolves with the status and head of the answer as soon as the head is
 * complete (for answers that keep the connection open, such as a WebSocket 101).
 */
export function rawHead(
  port: number,
  bytes: string,
  timeoutMs = 5000,
): Promise<{ status: number; head: string; rest: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes, "latin1"));
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer head within ${timeoutMs} ms: ${JSON.stringify(data)}`));
    }, timeoutMs);
    const done = () => {
      const end = data.indexOf("\r\n\r\n");
      if (end === -1) return false;
      clearTimeout(timer);
      socket.destroy();
      const head = data.slice(0, end);
      resolve({ status: Number(head.split(" ")[1]), head, rest: data.slice(end + 4) });
      return true;
    };
    socket.on("data", (c: Buffer) => {
      data += c.toString("latin1");
      done();
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      if (!done()) {
        clearTimeout(timer);
        reject(new Error(`closed without an answer head: ${JSON.stringify(data)}`));
      }
    });
  });
}

function dechunk(body: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", i);
    if (eol === -1) return out;
    const size = parseInt(body.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/** An open WebSocket that keeps every message it receives, in order. */
export class WsProbe {
  readonly messages: { data: Buffer; binary: boolean }[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; at: number } | null = null;
  /** The headers of the 101 answer, as the client received them. */
  upgradeHeaders: http.IncomingHttpHeaders = {};

  private constructor(readonly ws: WebSocket) {
    ws.once("upgrade", (res) => {
      this.upgradeHeaders = res.headers;
    });
    ws.on("message", (data: Buffer, binary: boolean) => {
      this.messages.push({ data, binary });
      this.wake();
    });
    ws.on("close", (code) => {
      this.closed = { code, at: Date.now() };
      this.wake();
    });
    ws.on("error", () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  static open(
    url: string,
    opts: { protocols?: string[]; headers?: Record<string, string> } = {},
  ): Promise<WsProbe> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers });
      const probe = new WsProbe(ws);
      ws.once("open", () => resolve(probe));
      ws.once("unexpected-response", (_req, res) => {
        reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { res }));
        ws.terminate();
      });
      ws.once("error", reject);
    });
  }

  /** The next message after the first `index` ones, waiting for it at most `ms`. */
  async message(index: number, ms = 3000): Promise<{ data: Buffer; binary: boolean }> {
    const deadline = Date.now() + ms;
    while (this.messages.length <= index) {
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) before message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no WebSocket message #${index} within ${ms} ms`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    return this.messages[index]!;
  }

  /** Resolves when the socket is closed, or throws after `ms`. */
  async whenClosed(ms = 3000): Promise<{ code: number; at: number }> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`WebSocket still open after ${ms} ms`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
    return this.closed;
  }

  /** Sends and returns the echo. */
  async roundTrip(data: string | Buffer, ms = 3000): Promise<{ data: Buffer; binary: boolean }> {
    const index = this.messages.length;
    this.ws.send(data, { binary: typeof data !== "string" });
    return this.message(index, ms);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Every `Set-Cookie` value of a response, as a list. */
export function setCookies(headers: Reply["headers"]): string[] {
  const v = headers["set-cookie"];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
