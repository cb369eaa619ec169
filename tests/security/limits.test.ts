// What a hostile client can cost the router: bodies are bounded per route, slow or silent clients
// are cut (and their upstream requests freed), a refused request's body is never read, the 100
// of `Expect: 100-continue` waits for authorisation, connections are capped, and only WebSocket
// upgrades are relayed. Raw sockets, so nothing on the client side helps.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { WebSocketServer } from "ws";
import {
  attachUpstream,
  createRoute,
  errorCode,
  rawHead,
  rawRequest,
  routerBase,
  routerPort,
  send,
  startUpstream,
  WsProbe,
} from "../helpers/dataplane";
import { eventually, startTestGateway, type TestGateway } from "../helpers/gateway";

const MiB = 1024 * 1024;

/** What the app saw of one request. */
interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  /** "aborted": the connection closed before the request (or the answer) was complete. */
  outcome: "pending" | "complete" | "aborted";
}

/** The answer a raw exchange got, and how it ended. */
interface RawOutcome {
  /** Everything the router sent, as latin1. */
  answer: string;
  /** Request bytes the client managed to write. */
  sent: number;
  /** Milliseconds from the first byte written to the connection's close. */
  closedAfterMs: number;
}

/**
 * Writes `head`, then `next()`'s bytes (as fast as the connection takes them, or every `everyMs`)
 * until it returns null or the router closes the connection; resolves when the connection is
 * closed. Write errors (the router reset a connection it stopped reading) end the sending only.
 */
function rawExchange(
  port: number,
  head: string,
  next: () => Buffer | null,
  opts: { everyMs?: number; timeoutMs?: number; localAddress?: string } = {},
): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: opts.localAddress });
    const chunks: Buffer[] = [];
    let sent = 0;
    let started = 0;
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    const pump = (): void => {
      while (!closed) {
        const piece = next();
        if (piece === null) return;
        sent += piece.length;
        const more = socket.write(piece, () => undefined);
        if (opts.everyMs !== undefined) {
          setTimeout(pump, opts.everyMs);
          return;
        }
        if (!more) {
          socket.once("drain", pump);
          return;
        }
      }
    };
    socket.on("connect", () => {
      started = Date.now();
      socket.write(head, "latin1");
      pump();
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
      clearTimeout(timer);
      resolve({
        answer: Buffer.concat(chunks).toString("latin1"),
        sent,
        closedAfterMs: Date.now() - started,
      });
    });
  });
}

/** `n` bytes at a time, `total` in all. */
function bytes(total: number, n: number): () => Buffer | null {
  let left = total;
  const piece = Buffer.alloc(n, 0x61);
  return () => {
    if (left <= 0) return null;
    const size = Math.min(n, left);
    left -= size;
    return size === n ? piece : piece.subarray(0, size);
  };
}

/** Chunked framing around `total` bytes sent `n` at a time (never ended: the router cuts it). */
function chunked(total: number, n: number): () => Buffer | null {
  const raw = bytes(total, n);
  return () => {
    const data = raw();
    return (
      data &&
      Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")])
    );
  };
}

/** Status, headers and JSON error code of the first answer in raw bytes (after any 100). */
function firstAnswer(answer: string): { status: number; head: string; code?: string } {
  const end = answer.indexOf("\r\n\r\n");
  assert.ok(end > 0, `no answer: ${JSON.stringify(answer.slice(0, 200))}`);
  const head = answer.slice(0, end);
  const body = answer.slice(end + 4);
  let code: string | undefined;
  try {
    code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    // not a router error body
  }
  return { status: Number(head.split(" ")[1]), head, code };
}

describe("security: data-plane limits", () => {
  let t: TestGateway;
  let port: number;
  let token: string;
  const seen: Seen[] = [];
  const closers: (() => Promise<void> | void)[] = [];

  /** What the app saw of requests to `url` (the path after the route prefix). */
  const seenAt = (url: string) => seen.filter((s) => s.url === url);

  before(async () => {
    t = await startTestGateway({
      router: {
        APPGW_MAX_BODY_SIZE: "1m",
        APPGW_ROUTE_MAX_BODY_SIZE: "big=8m, upload=0",
        APPGW_HEADERS_TIMEOUT: "1",
        APPGW_BODY_TIMEOUT: "1",
        APPGW_BODY_MIN_RATE: "500",
        APPGW_IDLE_TIMEOUT: "2",
      },
      agent: false,
    });
    port = routerPort(t);
    token = await t.client.token();

    const app = await startUpstream((req, res) => {
      const s: Seen = { url: req.url ?? "", headers: req.headers, bytes: 0, outcome: "pending" };
      seen.push(s);
      res.on("close", () => {
        s.outcome = res.writableFinished ? "complete" : "aborted";
      });
      req.on("data", (c: Buffer) => (s.bytes += c.length));
      if (s.url === "/late-reader") {
        req.pause();
        setTimeout(() => req.resume(), 3000);
      }
      req.on("end", () => {
        if (s.url === "/slow") {
          setTimeout(() => res.end(JSON.stringify({ bytes: s.bytes })), 3000);
        } else if (s.url === "/sse-quiet") {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write("data: one\n\n");
          setTimeout(() => res.end("data: two\n\n"), 3000);
        } else if (s.url === "/huge") {
          const piece = Buffer.alloc(MiB);
          let left = 256;
          const write = (): void => {
            while (left-- > 0) if (!res.write(piece)) return void res.once("drain", write);
            res.end();
          };
          write();
        } else {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ bytes: s.bytes, headers: req.headers }));
        }
      });
    });
    const wss = new WebSocketServer({ server: app.server });
    wss.on("connection", (ws) => ws.on("message", (m, binary) => ws.send(m, { binary })));
    closers.push(
      () => wss.close(),
      () => app.close(),
    );
    await createRoute(t, { name: "pub", public: true });
    await createRoute(t, { name: "big", public: true });
    await createRoute(t, { name: "upload" });
    for (const route of ["pub", "big", "upload"]) await attachUpstream(t, route, app.port);
    const auth = { authorization: `Bearer ${token}` };
    for (const path of ["/pub/ready", "/big/ready", "/upload/ready"]) {
      await eventually(
        async () => (await send(t, path, { headers: auth })).status === 200,
        10_000,
        `${path} routed`,
      );
    }
  });
  after(async () => {
    for (const close of closers) await close();
    await t.stop();
  });

  const post = (path: string, headers: string[]) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`;

  describe("body size per route", () => {
    it("answers 413 to a Content-Length over the route's limit and closes, before the app sees anything", async () => {
      const r = await rawExchange(
        port,
        post("/pub/declared", ["Content-Length: 2097152"]),
        () => null,
      );
      const a = firstAnswer(r.answer);
      assert.equal(a.status, 413, r.answer);
      assert.equal(a.code, "APPGW_BODY_TOO_LARGE");
      assert.match(a.head, /connection: close/i);
      assert.match(r.answer, /limit of 1m/);
      assert.deepEqual(seenAt("/declared"), []);
    });

    it("takes a body up to the route's limit, and a route named in APPGW_ROUTE_MAX_BODY_SIZE takes more", async () => {
      const atLimit = await send(t, "/pub/at-limit", { method: "POST", body: Buffer.alloc(MiB) });
      assert.equal(atLimit.status, 200, atLimit.text);
      assert.equal(JSON.parse(atLimit.text).bytes, MiB);
      const raised = await send(t, "/big/raised", { method: "POST", body: Buffer.alloc(6 * MiB) });
      assert.equal(raised.status, 200, raised.text);
      assert.equal(JSON.parse(raised.text).bytes, 6 * MiB);
      const over = await send(t, "/big/over", { method: "POST", body: Buffer.alloc(9 * MiB) });
      assert.equal(over.status, 413);
      assert.equal(errorCode(over), "APPGW_BODY_TOO_LARGE");
      assert.deepEqual(seenAt("/over"), []);
    });

    it("cuts a chunked body that crosses the limit: 413, the app's request aborted, the connection closed", async () => {
      const r = await rawExchange(
        port,
        post("/pub/chunked", ["Transfer-Encoding: chunked"]),
        chunked(64 * MiB, 64 * 1024),
      );
      const a = firstAnswer(r.answer);
      assert.equal(a.status, 413, r.answer);
      assert.equal(a.code, "APPGW_BODY_TOO_LARGE");
      assert.ok(r.sent < 32 * MiB, `sent ${r.sent} bytes before the close`);
      const [s] = seenAt("/chunked");
      await eventually(async () => s?.outcome === "aborted", 3000, "the app's request aborted");
      assert.ok(s!.bytes <= MiB + 64 * 1024, `the app received ${s!.bytes} bytes`);
    });
  });

  describe("refused requests", () => {
    it("answers an unauthenticated 100 MB upload 401 and closes the connection long before the body is sent", async () => {
      const total = 100 * MiB;
      const r = await rawExchange(
        port,
        post("/upload/refused", [`Content-Length: ${total}`]),
        bytes(total, 256 * 1024),
        { timeoutMs: 15_000 },
      );
      const a = firstAnswer(r.answer);
      assert.equal(a.status, 401, r.answer);
      assert.match(a.head, /connection: close/i);
      assert.ok(r.sent < total / 4, `sent ${r.sent} of ${total} bytes before the close`);
      assert.deepEqual(seenAt("/refused"), []);
    });

    it("sends no 100 Continue to a request it refuses, and closes the connection", async () => {
      for (const [path, headers, status] of [
        ["/upload/expect", ["Content-Length: 1000", "Expect: 100-continue"], 401],
        ["/pub/expect-over", ["Content-Length: 2097152", "Expect: 100-continue"], 413],
      ] as const) {
        const r = await rawExchange(port, post(path, [...headers]), () => null);
        assert.doesNotMatch(r.answer, /^HTTP\/1.1 100/, r.answer);
        assert.equal(firstAnswer(r.answer).status, status, r.answer);
      }
      assert.deepEqual([...seenAt("/expect"), ...seenAt("/expect-over")], []);
    });

    it("sends 100 Continue to an authorised request, then proxies its body", async () => {
      const socket = net.connect(port, "127.0.0.1");
      let data = "";
      socket.on("data", (c: Buffer) => (data += c.toString("latin1")));
      socket.write(
        post("/upload/continued", [
          `Authorization: Bearer ${token}`,
          "Content-Length: 5",
          "Expect: 100-continue",
          "Connection: close",
        ]),
      );
      await eventually(async () => data.startsWith("HTTP/1.1 100 Continue\r\n\r\n"), 3000, "100");
      // Not `end`: Node's server closes a connection the client half-closes.
      socket.write("hello");
      await new Promise((r) => socket.once("close", r));
      const final = data.slice("HTTP/1.1 100 Continue\r\n\r\n".length);
      assert.equal(firstAnswer(final).status, 200, data);
      assert.equal(seenAt("/continued")[0]?.bytes, 5);
    });
  });

  describe("timeouts", () => {
    it("cuts a client that trickles its headers once the header timeout (1 s) passes", async () => {
      const r = await rawExchange(
        port,
        `GET /pub/trickle HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`,
        () => Buffer.from("X-Trickle: 1\r\n"),
        { everyMs: 100 },
      );
      assert.equal(firstAnswer(r.answer).status, 408, r.answer);
      assert.ok(
        r.closedAfterMs >= 900 && r.closedAfterMs < 3000,
        `closed after ${r.closedAfterMs} ms`,
      );
      assert.deepEqual(seenAt("/trickle"), []);
    });

    it("cuts a body sent a byte at a time below the minimum rate: 408, and the app's request is aborted", async () => {
      const r = await rawExchange(
        port,
        post("/pub/slow-body", ["Content-Length: 1000"]),
        bytes(1000, 1),
        {
          everyMs: 250,
        },
      );
      const a = firstAnswer(r.answer);
      assert.equal(a.status, 408, r.answer);
      assert.equal(a.code, "APPGW_REQUEST_TIMEOUT");
      assert.ok(r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`);
      const [s] = seenAt("/slow-body");
      await eventually(async () => s?.outcome === "aborted", 3000, "the app's request aborted");
    });

    it("cuts a body that trickles after a fast start: early bytes buy no later slowness", async () => {
      // A byte, then 64 KiB (which would earn 128 s at 500 bytes/s), then a byte every 700 ms
      // (under the 2 s idle timeout): cut within a few grace periods (1 s here) all the same.
      let sent = 0;
      const r = await rawExchange(
        port,
        post("/pub/burst-then-trickle", ["Content-Length: 100000"]),
        () => (++sent === 2 ? Buffer.alloc(64 * 1024, 0x61) : sent < 200 ? Buffer.from("a") : null),
        { everyMs: 700 },
      );
      assert.equal(firstAnswer(r.answer).code, "APPGW_REQUEST_TIMEOUT", r.answer);
      assert.ok(r.closedAfterMs < 6000, `closed after ${r.closedAfterMs} ms`);
    });

    it("cuts a slow body the router reads itself, the login form's", async () => {
      const r = await rawExchange(
        port,
        post("/_appgw/login", [
          "Content-Type: application/x-www-form-urlencoded",
          "Content-Length: 1000",
        ]),
        bytes(1000, 1),
        { everyMs: 250 },
      );
      assert.equal(firstAnswer(r.answer).code, "APPGW_REQUEST_TIMEOUT", r.answer);
      assert.ok(r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`);
    });

    it("lets a steady upload run well past the grace period", async () => {
      // 4 MiB in 64 KiB pieces every 50 ms: about 3 s, far above 500 bytes/s.
      const r = await rawExchange(
        port,
        post("/big/steady", ["Content-Length: 4194304", "Connection: close"]),
        bytes(4 * MiB, 64 * 1024),
        { everyMs: 50 },
      );
      assert.equal(firstAnswer(r.answer).status, 200, r.answer);
      assert.ok(r.closedAfterMs > 2000, `took ${r.closedAfterMs} ms`);
      assert.equal(seenAt("/steady")[0]?.bytes, 4 * MiB);
    });

    it("cuts a client that stops sending its body midway after the idle timeout, though its rate earned more", async () => {
      // 512 KiB earns over 1000 s at 500 bytes/s; the idle timeout (2 s) still ends it.
      const r = await rawExchange(
        port,
        post("/pub/stalled", ["Content-Length: 1048576"]),
        bytes(512 * 1024, 64 * 1024),
      );
      const a = firstAnswer(r.answer);
      assert.equal(a.status, 408, r.answer);
      assert.equal(a.code, "APPGW_REQUEST_TIMEOUT");
      assert.ok(
        r.closedAfterMs >= 1900 && r.closedAfterMs < 5000,
        `closed after ${r.closedAfterMs} ms`,
      );
      const [s] = seenAt("/stalled");
      await eventually(async () => s?.outcome === "aborted", 3000, "the app's request aborted");
    });

    it("cuts a client that stops reading a large answer, and aborts the app's response", async () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.write(`GET /pub/huge HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      socket.pause();
      try {
        const s = await eventually(async () => seenAt("/huge")[0], 3000, "the app's request");
        const started = Date.now();
        await eventually(async () => s.outcome === "aborted", 8000, "the app's response aborted");
        assert.ok(Date.now() - started < 6000);
      } finally {
        socket.destroy();
      }
    });

    it("does not cut a client waiting on a slow app, an app not reading yet, a quiet SSE stream or an idle WebSocket", async () => {
      const slow = await send(t, "/pub/slow");
      assert.equal(slow.status, 200, slow.text);

      // Far more than the sockets between client and app hold, so the client waits on the app.
      const late = await send(t, "/upload/late-reader", {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: Buffer.alloc(64 * MiB),
      });
      assert.equal(late.status, 200, late.text);
      assert.equal(JSON.parse(late.text).bytes, 64 * MiB);

      const sse = await send(t, "/pub/sse-quiet");
      assert.equal(sse.text, "data: one\n\ndata: two\n\n");

      const ws = await WsProbe.open(`${routerBase(t).replace("http", "ws")}/pub/ws`);
      try {
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal((await ws.roundTrip("still here")).data.toString(), "still here");
      } finally {
        ws.close();
      }
    });
  });

  describe("upgrades", () => {
    it("refuses any upgrade but websocket with 400, before auth or the app", async () => {
      for (const upgrade of ["h2c", "websocket, h2c", "TLS/1.2"]) {
        const reply = await rawRequest(
          port,
          `GET /upload/h2c HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
            `Connection: Upgrade, HTTP2-Settings\r\nUpgrade: ${upgrade}\r\n` +
            "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        );
        assert.equal(reply.status, 400, `${upgrade}: ${reply.raw}`);
        assert.equal(JSON.parse(reply.body).error.code, "APPGW_UPGRADE_NOT_SUPPORTED");
      }
      assert.deepEqual(seenAt("/h2c"), []);
    });

    it("proxies a request naming Upgrade without Connection: upgrade as a plain one, without the Upgrade header", async () => {
      const reply = await rawHead(
        port,
        `GET /pub/plain HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: h2c\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(reply.status, 200, reply.head);
      const [s] = seenAt("/plain");
      assert.equal(s?.headers.upgrade, undefined);
    });
  });
});

describe("security: connection limits", () => {
  let t: TestGateway;
  let port: number;
  const open: net.Socket[] = [];
  const health = () =>
    `GET /_appgw/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;

  before(async () => {
    t = await startTestGateway({
      router: { APPGW_MAX_CONNECTIONS: "30", APPGW_MAX_CONNECTIONS_PER_ADDRESS: "20" },
      agent: false,
    });
    port = routerPort(t);
  });
  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy();
    // Let the router see those connections close before the next test counts.
    await new Promise((r) => setTimeout(r, 300));
  });
  after(() => t.stop());

  /** Opens a connection from `localAddress` that the router accepts and keeps. */
  async function connectFrom(localAddress: string): Promise<net.Socket> {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    socket.on("error", () => undefined);
    open.push(socket);
    await new Promise((r) => socket.once("connect", r));
    return socket;
  }

  /** What a new connection from `localAddress` is told before the router closes it. */
  async function refusal(localAddress: string): Promise<{ status: number; code?: string }> {
    const r = await rawExchange(port, "", () => null, { localAddress, timeoutMs: 3000 });
    const { status, code } = firstAnswer(r.answer);
    return { status, code };
  }

  it("answers a connection over the per-address limit 503 and closes it, and takes new ones once some close", async () => {
    for (let i = 0; i < 20; i++) await connectFrom("127.0.0.1");
    assert.deepEqual(await refusal("127.0.0.1"), {
      status: 503,
      code: "APPGW_TOO_MANY_CONNECTIONS",
    });
    // Another address is not limited by this one's connections.
    const other = await rawExchange(port, health(), () => null, { localAddress: "127.0.0.2" });
    assert.equal(firstAnswer(other.answer).status, 200, other.answer);
    open.shift()!.destroy();
    await eventually(
      async () => (await rawRequest(port, health()).catch(() => null))?.status === 200,
      3000,
      "a connection from 127.0.0.1 served again",
    );
  });

  it("answers a connection over the router-wide limit 503, from any address", async () => {
    for (let i = 0; i < 20; i++) await connectFrom("127.0.0.1");
    for (let i = 0; i < 10; i++) await connectFrom("127.0.0.2");
    assert.deepEqual(await refusal("127.0.0.3"), {
      status: 503,
      code: "APPGW_TOO_MANY_CONNECTIONS",
    });
  });
});
