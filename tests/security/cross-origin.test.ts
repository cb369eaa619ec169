// The gateway cookie is an ambient credential: a browser attaches it to requests from any page of
// the same site, and SameSite=Lax does not stop a sibling subdomain, which another user's app may
// serve. So a request it authenticates that can change state (any method but GET, HEAD and
// OPTIONS, and every WebSocket handshake) must come from the route's own origin.
import assert from "node:assert/strict";
import { request } from "undici";
import { WebSocketServer } from "ws";
import {
  attachUpstream,
  createRoute,
  errorCode,
  routerBase,
  routerPort,
  send,
  startDataplaneGateway,
  startUpstream,
  subdomainHost,
  WsProbe,
  type Reply,
} from "../helpers/dataplane";
import { eventually, userClient, type TestGateway } from "../helpers/gateway";

describe("security: cross-origin requests with the gateway cookie", () => {
  let t: TestGateway;
  let token: string;
  let host: string;
  let ownOrigin: string;
  let evilOrigin: string;
  /** `METHOD url` of every request the app received. */
  const received: string[] = [];
  const closers: (() => Promise<void> | void)[] = [];

  before(async () => {
    t = await startDataplaneGateway();
    const alice = await userClient(t, "alice");
    token = await alice.client.token();
    const port = routerPort(t);
    host = subdomainHost(t, "notes");
    ownOrigin = `http://${host}`;
    evilOrigin = `http://evil.localhost:${port}`;

    const app = await startUpstream((req, res) => {
      received.push(`${req.method} ${req.url}`);
      req.resume();
      req.on("end", () => res.end("done"));
    });
    const wss = new WebSocketServer({ server: app.server });
    wss.on("connection", (ws, req) => {
      received.push(`WS ${req.url}`);
      ws.send("hello");
    });
    closers.push(
      () => wss.close(),
      () => app.close(),
    );
    await createRoute(t, { name: "notes", subdomain: "notes" });
    await attachUpstream(t, "notes", app.port);
    await eventually(
      async () =>
        (await send(t, "/", { headers: { host, authorization: `Bearer ${token}` } })).status ===
        200,
      5000,
      "notes routed",
    );
  });
  after(async () => {
    for (const close of closers) await close();
    await t.stop();
  });

  /** A request to the `notes` route; `path` must be unique to the test so `received` tells. */
  async function call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Reply> {
    const res = await request(routerBase(t) + path, {
      method,
      headers: { host, ...headers },
      body,
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  const cookie = () => ({ cookie: `appgw_token=${token}` });

  function assertRefused(reply: Reply, path: string): void {
    assert.equal(reply.status, 403, reply.text);
    assert.equal(errorCode(reply), "APPGW_FORBIDDEN");
    assert.match(reply.text, /cross-origin request with the gateway cookie/);
    assert.ok(!received.some((r) => r.endsWith(` ${path}`)), `the app received ${path}`);
  }

  function assertPassed(reply: Reply, method: string, path: string): void {
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.text, "done");
    assert.ok(received.includes(`${method} ${path}`), `the app did not receive ${path}`);
  }

  it("refuses a POST with the cookie from a sibling subdomain's origin, and the app never sees it", async () => {
    const reply = await call("POST", "/delete-all", { ...cookie(), origin: evilOrigin }, "x=1");
    assertRefused(reply, "/delete-all");
  });

  it("refuses every state-changing method from another origin, however it is spelled", async () => {
    const origins = [
      evilOrigin,
      `https://${host}`, // another scheme than the router's
      `${ownOrigin}.evil.example`,
      "null",
      `${ownOrigin}, ${evilOrigin}`,
    ];
    let n = 0;
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const origin of origins) {
        const path = `/changed-${++n}`;
        assertRefused(await call(method, path, { ...cookie(), origin }), path);
      }
    }
  });

  it("passes the same POST from the route's own origin", async () => {
    const reply = await call("POST", "/own-post", { ...cookie(), origin: ownOrigin }, "x=1");
    assertPassed(reply, "POST", "/own-post");
  });

  it("decides by Sec-Fetch-Site when a browser sends no Origin", async () => {
    for (const site of ["same-site", "cross-site"]) {
      const path = `/fetch-${site}`;
      assertRefused(await call("POST", path, { ...cookie(), "sec-fetch-site": site }), path);
    }
    for (const site of ["same-origin", "none"]) {
      const path = `/fetch-${site}`;
      assertPassed(await call("POST", path, { ...cookie(), "sec-fetch-site": site }), "POST", path);
    }
  });

  it("passes a POST with the cookie and neither Origin nor Sec-Fetch-Site (not a browser)", async () => {
    assertPassed(await call("POST", "/scripted", cookie()), "POST", "/scripted");
  });

  it("passes a cross-origin POST with a Bearer token, which no browser attaches by itself", async () => {
    const reply = await call("POST", "/bearer-post", {
      authorization: `Bearer ${token}`,
      origin: evilOrigin,
    });
    assertPassed(reply, "POST", "/bearer-post");
  });

  it("passes a cross-origin GET with the cookie (reads change nothing; SameSite governs them)", async () => {
    const reply = await call("GET", "/read", { ...cookie(), origin: evilOrigin });
    assertPassed(reply, "GET", "/read");
  });

  it("applies the same rule to WebSocket handshakes, which are GETs", async () => {
    const url = `${routerBase(t).replace(/^http/, "ws")}/socket-evil`;
    const err = (await WsProbe.open(url, {
      headers: { host, ...cookie(), origin: evilOrigin },
    }).then(
      () => assert.fail("cross-origin handshake accepted"),
      (e: unknown) => e,
    )) as { res?: { statusCode?: number } };
    assert.equal(err.res?.statusCode, 403);
    assert.ok(!received.includes("WS /socket-evil"));

    const ws = await WsProbe.open(`${routerBase(t).replace(/^http/, "ws")}/socket-own`, {
      headers: { host, ...cookie(), origin: ownOrigin },
    });
    try {
      assert.equal((await ws.message(0)).data.toString(), "hello");
    } finally {
      ws.close();
    }
  });
});
